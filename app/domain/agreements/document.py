"""The agreement as a PDF document (fpdf2 with a Cyrillic TrueType font from the system)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import XPos, YPos
from fpdf.fonts import FontFace

from app.db.models.accounts import Account
from app.db.models.agreements import Agreement, AgreementInstalment
from app.domain.kernel import errors
from app.domain.kernel.masking import mask

#: DejaVu Sans covers Cyrillic; Debian's fonts-dejavu-core puts it here (scripts/system-deps.sh installs it).
FONT_PATHS = (
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
    Path("/usr/share/fonts/dejavu/DejaVuSans.ttf"),
)
_PENALTIES = {
    "included": "включены в график",
    "frozen": "заморожены на время исполнения соглашения",
    "forgiven": "прощаются при исполнении соглашения (ст. 415 ГК РФ)",
}


def _font() -> Path:
    for path in FONT_PATHS:
        if path.is_file():
            return path
    raise errors.UpstreamUnavailable(
        "No Cyrillic font for PDF documents: install the fonts-dejavu-core package.", rule="pdf_font"
    )


def agreement_pdf(
    agreement: Agreement, instalments: Sequence[AgreementInstalment], account: Account, *, pii: bool
) -> bytes:
    """Render the agreement with its schedule; the payer's name only for callers with the `pii` scope."""
    pdf = FPDF(format="A4")
    pdf.add_font("DejaVu", "", str(_font()))
    pdf.set_font("DejaVu", size=14)
    pdf.add_page()
    title = f"Соглашение о погашении задолженности № {agreement.number or str(agreement.id)[:8]}"
    pdf.multi_cell(0, 8, title, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("DejaVu", size=10)
    name = " ".join(x for x in (account.last_name, account.first_name, account.middle_name) if x)
    payer = (mask(name, pii=pii) or "(скрыто)") if name else (account.org_name or "—")
    lines = [
        f"Дата подписания: {agreement.signed_on:%d.%m.%Y}",
        f"Лицевой счёт: {account.account_number}",
        f"Плательщик: {payer}",
        f"Задолженность за периоды по {agreement.covered_through:%m.%Y} включительно: "
        f"основной долг {agreement.principal} ₽, пени {agreement.penalties} ₽ "
        f"({_PENALTIES.get(agreement.penalty_mode, agreement.penalty_mode)}).",
        f"Сумма к погашению по графику: {agreement.total} ₽.",
        "Подписание соглашения признаёт долг за указанные периоды (ст. 203 ГК РФ).",
    ]
    for line in lines:
        pdf.multi_cell(0, 6, line, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(4)
    # Regular headings: only the regular face of the font is registered.
    with pdf.table(
        col_widths=(15, 45, 45),
        text_align=("CENTER", "CENTER", "RIGHT"),
        headings_style=FontFace(emphasis=""),
    ) as table:
        table.row(["№", "Дата платежа", "Сумма, ₽"])
        for inst in instalments:
            table.row([str(inst.number), f"{inst.due_on:%d.%m.%Y}", str(inst.amount)])
    pdf.ln(8)
    pdf.multi_cell(
        0, 6, "Кредитор: ____________________        Должник: ____________________",
        new_x=XPos.LMARGIN, new_y=YPos.NEXT,
    )  # fmt: skip
    return bytes(pdf.output())
