"""The e-filing documents of a court-order application as PDF (fpdf2, DejaVu Sans from fonts-dejavu-core).

Per case three files, the way magistrates' e-filing takes them (each is uploaded and signed on its own): the
application (заявление о вынесении судебного приказа, ГПК ст. 124), the debt and penalty calculation (расчёт
задолженности и пеней, ЖК РФ ст. 155 ч. 14: month by month, and each month's penalty segments with their days,
rate, fraction and moratorium), and the list of attachments (ГПК ст. 132).

Pure: the input is the application data set of `packages.application_data` (already masked for the caller),
the output bytes. Documents are rendered in batches: one fpdf2 document holds a batch's pages, embedding
the font subset once, and pypdf cuts it into one standalone PDF per file. A TrueType subset costs fpdf2 about
30 ms a document, more than drawing the pages; per batch it is paid once (docs/benchmarks.md "## Court
packages"). The functions are top-level and take plain data, so a process pool can run them.
"""

from __future__ import annotations

import io
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from fpdf import FPDF
from pypdf import PdfReader, PdfWriter

#: The files of one case, in the order they are listed in the application.
FILE_NAMES = ("application.pdf", "calculation.pdf", "attachments.pdf")
TITLES = {
    "application.pdf": "Заявление о вынесении судебного приказа",
    "calculation.pdf": "Расчёт задолженности и пеней",
    "attachments.pdf": "Перечень прилагаемых документов",
}
_MONTHS = (
    "января",
    "февраля",
    "марта",
    "апреля",
    "мая",
    "июня",
    "июля",
    "августа",
    "сентября",
    "октября",
    "ноября",
    "декабря",
)
_FRACTIONS = {0: "—", 300: "1/300", 130: "1/130"}


@dataclass(frozen=True)
class Fonts:
    """The TrueType faces: the text face (the gateway's Cyrillic font) and a monospaced one for tables.

    One face per file keeps each PDF small (every face embeds a subset of its outlines, ≈ 14 KB), and the
    size of the files is what their signatures cost: Streebog hashes ≈ 35 MB/s.
    """

    regular: Path
    mono: Path


#: Unicode blocks kept in the prepared fonts: Latin, Latin-1, Latin Extended-A, Cyrillic with its
#: supplement (Tatar, Bashkir and other languages of Russia's regions), general punctuation, currency signs
#: (₽), letterlike symbols (№).
KEPT_RANGES = ((0x20, 0x17F), (0x400, 0x52F), (0x2000, 0x206F), (0x20A0, 0x20CF), (0x2100, 0x214F))


def prepare_fonts(fonts: Fonts, cache_dir: Path) -> Fonts:
    """Return copies of the fonts without TrueType hinting, cut to `KEPT_RANGES`, made once per font file.

    fpdf2 embeds a subset of each face with its hinting (instructions, cvt, fpgm, prep); hinting only helps
    rasterisers at low resolution, and dropping it makes every PDF a third smaller (signing hashes every
    byte) and loading a face faster.
    """
    from fontTools import subset  # type: ignore[import-untyped]  # fpdf2's own dependency

    cache_dir.mkdir(parents=True, exist_ok=True)
    out: list[Path] = []
    for path in (fonts.regular, fonts.mono):
        stat = path.stat()
        target = cache_dir / f"{path.stem}-{stat.st_size}-{int(stat.st_mtime)}.ttf"
        if not target.is_file():
            options = subset.Options()
            options.hinting = False
            options.layout_features = []
            options.notdef_outline = True
            options.name_IDs = ["*"]
            options.drop_tables += ["FFTM", "GPOS", "GSUB", "GDEF", "kern"]
            font = subset.load_font(str(path), options)
            subsetter = subset.Subsetter(options)
            subsetter.populate(unicodes=[c for lo, hi in KEPT_RANGES for c in range(lo, hi + 1)])
            subsetter.subset(font)
            part = target.with_suffix(f".{os.getpid()}.part")
            subset.save_font(font, str(part), options)
            os.replace(part, target)  # workers may prepare the same font at once
        out.append(target)
    return Fonts(regular=out[0], mono=out[1])


def rub(value: Decimal | str | None) -> str:
    """Format an amount the Russian way: 12 345,67 ₽."""
    whole, _, frac = f"{Decimal(value or 0):.2f}".partition(".")
    sign = "-" if whole.startswith("-") else ""
    groups = f"{abs(int(whole)):,}".replace(",", "\u00a0")
    return f"{sign}{groups},{frac} ₽"


def long_date(day: date | str) -> str:
    """Format a date as «5 марта 2026 г.»."""
    d = date.fromisoformat(day) if isinstance(day, str) else day
    return f"{d.day} {_MONTHS[d.month - 1]} {d.year} г."


def _short(day: str) -> str:
    return date.fromisoformat(day).strftime("%d.%m.%Y")


def _month(day: str) -> str:
    return date.fromisoformat(day).strftime("%m.%Y")


def debtor_name(debtor: Mapping[str, Any]) -> str:
    """Return the debtor's full name as the data set holds it (masked or not)."""
    parts = (debtor.get("last_name"), debtor.get("first_name"), debtor.get("middle_name"))
    return " ".join(p for p in parts if p) or "—"


def _identifier(debtor: Mapping[str, Any]) -> str:
    # ГПК ст. 124 ч. 2 п. 3: one of SNILS, INN, an identity document.
    if debtor.get("snils"):
        return f"СНИЛС {debtor['snils']}"
    if debtor.get("inn"):
        return f"ИНН {debtor['inn']}"
    if debtor.get("id_doc_number"):
        series = f"{debtor.get('id_doc_series')} " if debtor.get("id_doc_series") else ""
        return f"документ, удостоверяющий личность: {series}№ {debtor['id_doc_number']}"
    return "идентификатор не указан"


def _residence(debtor: Mapping[str, Any]) -> str:
    address = debtor.get("address") or "—"
    flat = debtor.get("premises_number")
    return f"{address}, кв. {flat}" if flat else address


#: How a notice reached the debtor, as the application says it (the delivery journal's channels).
NOTICE_CHANNELS = {
    "post": "почтовым отправлением",
    "registered_mail": "заказным письмом с уведомлением о вручении",
    "hand": "вручено под подпись",
    "email": "по электронной почте",
    "sms": "SMS-сообщением",
    "payment_document": "в платёжном документе",
    "gis": "через ГИС ЖКХ (личный кабинет потребителя)",
}


def notice_citation(notice: Mapping[str, Any]) -> str:
    """Cite the delivered pre-court notice: number, date, channel, delivery date, GIS reference."""
    channel = NOTICE_CHANNELS.get(str(notice.get("channel")), str(notice.get("channel") or "—"))
    guid = notice.get("gis_notification_guid")
    return (
        f"До обращения в суд должнику направлено уведомление о задолженности № {notice.get('seq')} от "
        f"{long_date(notice['issued_on'])} ({channel}), доставленное {long_date(notice['delivered_on'])}"
        + (f"; идентификатор уведомления в ГИС ЖКХ (NotificationGUID) {guid}" if guid else "")
        + "."
    )


def attachment_lines(data: Mapping[str, Any]) -> list[str]:
    """Return the numbered attachments: the package's own files, then the documents the creditor adds."""
    own = [f"{TITLES[name]} ({name})" for name in FILE_NAMES[1:]]
    others = [a for a in data.get("attachments", []) if not a.startswith("Расчёт")]
    notice = (data.get("claim") or {}).get("notice")
    if notice:
        others.append(
            f"Копия уведомления о задолженности № {notice.get('seq')} от {long_date(notice['issued_on'])} "
            "с доказательством доставки"
        )
    return [*own, *others]


class _Pdf(FPDF):
    """One batch of documents; `start()` opens a document on a new page and remembers where it begins."""

    def __init__(self, fonts: Fonts) -> None:
        super().__init__(format="A4")
        self.set_auto_page_break(auto=True, margin=15)
        self.set_margins(20, 15, 15)
        self.add_font("main", "", str(fonts.regular))
        self.add_font("mono", "", str(fonts.mono))
        self.set_creator("gisgw")
        self.starts: list[int] = []
        self._widths: dict[tuple[str, float, str], float] = {}

    def start(self) -> None:
        self.add_page()
        self.starts.append(self.page_no())

    def line_text(self, text: str, *, size: float = 10, bold: bool = False, align: str = "L") -> None:
        """Write a paragraph wrapped at word boundaries within the margins."""
        # Headings are set larger, not bold: a bold face would embed a second font in every file.
        self.set_font("main", "", size + (1 if bold else 0))
        self.paragraph(text, self.l_margin, self.epw, size * 0.5, align)

    def paragraph(self, text: str, left: float, width: float, height: float, align: str = "L") -> None:
        """Wrap `text` greedily by word widths and write it line by line (newlines kept).

        fpdf2's multi_cell measures a line by summing every character again for each one added (quadratic
        in the paragraph's length: 25 ms for one page of text); words measured once make it linear.
        """
        space = self.width_of(" ")
        for raw in text.split("\n"):
            line: list[str] = []
            used = 0.0
            for word in raw.split(" "):
                w = self.width_of(word)
                if line and used + space + w > width:
                    self._emit(" ".join(line), used, left, width, height, align)
                    line, used = [word], w
                else:
                    used += (space if line else 0.0) + w
                    line.append(word)
            self._emit(" ".join(line), used, left, width, height, align)

    def width_of(self, word: str) -> float:
        """Return a word's width in the current font, remembered: a batch repeats the template's words."""
        key = (self.font_family, self.font_size_pt, word)
        width = self._widths.get(key)
        if width is None:
            width = self._widths[key] = self.get_string_width(word)
        return width

    def _emit(self, line: str, used: float, left: float, width: float, height: float, align: str) -> None:
        if self.will_page_break(height):
            self.add_page()
        y = self.get_y()
        x = left + (width - used) / 2 if align == "C" else left + width - used if align == "R" else left
        if line:
            self.text(x, y + height * 0.75, line)
        self.set_y(y + height)


def _application(pdf: _Pdf, data: Mapping[str, Any]) -> None:
    court = data.get("court") or {}
    creditor = data.get("creditor") or {}
    debtor = data.get("debtor") or {}
    claim = data.get("claim") or {}
    months = claim.get("months") or []
    pdf.start()
    born = _short(debtor["birth_date"]) if _is_date(debtor.get("birth_date")) else "***"
    header = [
        f"{court.get('name', '—')} (судебный участок № {court.get('district', '—')})",
        f"Адрес суда: {court.get('address', '—')}",
        "",
        f"Взыскатель: {creditor.get('name', '—')}",
        f"ИНН {creditor.get('inn') or '—'}, ОГРН {creditor.get('ogrn') or '—'}",
        f"Адрес: {creditor.get('address') or '—'}",
        "",
        f"Должник: {debtor_name(debtor)}",
        f"Дата и место рождения: {born}, {debtor.get('birth_place') or '—'}",
        f"Место жительства: {_residence(debtor)}",
        f"Идентификатор: {_identifier(debtor)}",
        f"Лицевой счёт № {debtor.get('account_number') or '—'}",
        "",
        f"Сумма требования: {rub(claim.get('total'))}; государственная пошлина: {rub(claim.get('duty'))}",
    ]
    pdf.set_font("main", "", 9)
    pdf.paragraph("\n".join(header), 95, pdf.w - pdf.r_margin - 95, 4.5)
    pdf.ln(6)
    pdf.line_text("ЗАЯВЛЕНИЕ", size=13, bold=True, align="C")
    pdf.line_text("о вынесении судебного приказа о взыскании задолженности", size=11, bold=True, align="C")
    pdf.line_text("по оплате жилого помещения и коммунальных услуг", size=11, bold=True, align="C")
    pdf.ln(4)
    period = f"с {_month(months[0]['period'])} по {_month(months[-1]['period'])}" if months else "—"
    body = (
        f"Должник, проживающий по адресу: {_residence(debtor)}, обязан своевременно и полностью вносить "
        "плату за жилое помещение и коммунальные услуги (ЖК РФ ст. 153, 155). За период "
        f"{period} обязанность не исполнена: основной долг составляет {rub(claim.get('principal'))}. "
        f"На просроченные суммы начислены пени по ЖК РФ ст. 155 ч. 14 по состоянию на "
        f"{long_date(claim.get('on_date') or data.get('on_date') or date.today().isoformat())} в размере "
        f"{rub(claim.get('penalties'))} (расчёт прилагается; ставка {claim.get('key_rate', '—')} % "
        "годовых, мораторий на начисление пеней учтён). Требование основано на письменно совершённой сделке "
        "и бесспорно (ГПК РФ ст. 122); его сумма не превышает предела ГПК РФ ст. 121."
    )
    pdf.line_text(body)
    if claim.get("notice"):
        pdf.ln(1)
        pdf.line_text(notice_citation(claim["notice"]))
    pdf.ln(2)
    pdf.line_text("На основании изложенного, руководствуясь ГПК РФ ст. 121–124,")
    pdf.line_text("ПРОШУ:", bold=True, align="C")
    pdf.line_text(
        f"Вынести судебный приказ о взыскании с должника {debtor_name(debtor)} в пользу "
        f"{creditor.get('name', '—')} задолженности за период {period} в размере "
        f"{rub(claim.get('principal'))}, пеней в размере {rub(claim.get('penalties'))}, всего "
        f"{rub(claim.get('total'))}, а также расходов по уплате государственной пошлины в размере "
        f"{rub(claim.get('duty'))}."
    )
    pdf.ln(3)
    pdf.line_text("Приложение:", bold=True)
    for i, line in enumerate(attachment_lines(data), 1):
        pdf.line_text(f"{i}. {line}", size=9)
    pdf.ln(4)
    pdf.line_text(
        f"Дата: {long_date(claim.get('on_date') or date.today().isoformat())}. Документ подписан усиленной "
        "квалифицированной электронной подписью взыскателя (файл .sig рядом с документом).",
        size=9,
    )


def _is_date(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


#: Columns of the calculation table: heading, width in characters, alignment.
_CALC_COLUMNS = (
    ("Месяц", 7, "<"),
    ("Срок опл.", 10, "<"),
    ("Начислено", 11, ">"),
    ("Оплачено", 11, ">"),
    ("Долг", 11, ">"),
    ("Период пеней", 21, "^"),
    ("Дней", 5, ">"),
    ("Доля", 9, "^"),
    ("Пени", 10, ">"),
)
_CALC_ROW = " ".join(f"{{:{align}{width}}}" for _, width, align in _CALC_COLUMNS)


def _num(value: Decimal | str | None) -> str:
    whole, _, frac = f"{Decimal(value or 0):.2f}".partition(".")
    return f"{int(whole):,}".replace(",", "\u00a0") + "," + frac


def _row(pdf: _Pdf, cells: Sequence[str], *, rule: bool = False) -> None:
    # One monospaced line per row: a text() per cell costs fpdf2 ten times as much, and a claim of three
    # years has a hundred rows and more.
    if pdf.will_page_break(4):
        pdf.add_page()
    y = pdf.get_y()
    pdf.text(pdf.l_margin, y + 3, _CALC_ROW.format(*cells))
    if rule:
        pdf.line(pdf.l_margin, y + 4, pdf.w - pdf.r_margin, y + 4)
    pdf.set_y(y + 4)


def _calculation(pdf: _Pdf, data: Mapping[str, Any]) -> None:
    claim = data.get("claim") or {}
    debtor = data.get("debtor") or {}
    pdf.start()
    pdf.line_text("РАСЧЁТ", size=13, bold=True, align="C")
    pdf.line_text("задолженности по оплате жилого помещения и коммунальных услуг и пеней", size=10, align="C")
    pdf.ln(2)
    pdf.line_text(
        f"Должник: {debtor_name(debtor)}; лицевой счёт № {debtor.get('account_number') or '—'}. "
        f"Расчёт на {long_date(claim.get('on_date') or date.today().isoformat())}. Пени: ЖК РФ ст. 155 "
        f"ч. 14 — 1/300 ставки с 31-го по 90-й день просрочки, 1/130 с 91-го дня; ставка "
        f"{claim.get('key_rate', '—')} % годовых; в периоды моратория пени не начисляются. Суммы в рублях.",
        size=9,
    )
    pdf.ln(2)
    pdf.set_font("mono", "", 7)
    _row(pdf, [h for h, _, _ in _CALC_COLUMNS], rule=True)
    for m in claim.get("months") or []:
        _row(
            pdf,
            [
                _month(m["period"]),
                _short(m["due_date"]),
                _num(m["charged"]),
                _num(m["paid"]),
                _num(m["outstanding"]),
                "",
                "",
                "",
                _num(m["penalty"]),
            ],
        )
        for s in m.get("penalty_segments") or []:
            fraction = (
                "мораторий" if s.get("moratorium") else _FRACTIONS.get(s["fraction"], str(s["fraction"]))
            )
            _row(
                pdf,
                [
                    "",
                    "",
                    "",
                    "",
                    _num(s["balance"]),
                    f"{_short(s['from'])}–{_short(s['to'])}",
                    str(s["days"]),
                    fraction,
                    _num(s["amount"]),
                ],
            )
        pdf.line(pdf.l_margin, pdf.get_y(), pdf.w - pdf.r_margin, pdf.get_y())
    pdf.ln(3)
    for label, key in (("Основной долг", "principal"), ("Пени", "penalties"), ("Итого", "total")):
        pdf.line_text(f"{label}: {rub(claim.get(key))}", size=10, bold=key == "total")
    excluded = claim.get("excluded") or []
    if excluded:
        pdf.ln(2)
        pdf.line_text(
            f"Не включены в требование (срок исковой давности, ранее поданные заявления): {len(excluded)} "
            "мес.",
            size=8,
        )


def _attachments(pdf: _Pdf, data: Mapping[str, Any]) -> None:
    debtor = data.get("debtor") or {}
    creditor = data.get("creditor") or {}
    pdf.start()
    pdf.line_text("ПЕРЕЧЕНЬ ПРИЛАГАЕМЫХ ДОКУМЕНТОВ", size=12, bold=True, align="C")
    pdf.line_text(
        f"к заявлению {creditor.get('name', '—')} о вынесении судебного приказа в отношении "
        f"{debtor_name(debtor)} (лицевой счёт № {debtor.get('account_number') or '—'})",
        size=9,
        align="C",
    )
    pdf.ln(4)
    lines = [f"{TITLES['application.pdf']} (application.pdf)", *attachment_lines(data)]
    for i, line in enumerate(lines, 1):
        pdf.line_text(f"{i}. {line}", size=10)
    pdf.ln(3)
    pdf.line_text("Каждый файл подписан отдельной открепленной подписью CMS (файл .sig).", size=8)


_RENDERERS = (_application, _calculation, _attachments)


def render_cases(cases: Sequence[Mapping[str, Any]], fonts: Fonts) -> list[tuple[bytes, ...]]:
    """Render each case's files (`FILE_NAMES`, in order) as standalone PDFs; one fpdf2 pass for the batch."""
    if not cases:
        return []
    pdf = _Pdf(fonts)
    for data in cases:
        for render in _RENDERERS:
            render(pdf, data)
    combined = PdfReader(io.BytesIO(bytes(pdf.output())))
    bounds = [*pdf.starts, pdf.page_no() + 1]
    files: list[bytes] = []
    for index in range(len(pdf.starts)):
        writer = PdfWriter()
        for page in range(bounds[index] - 1, bounds[index + 1] - 1):
            writer.add_page(combined.pages[page])
        writer.add_metadata({"/Title": TITLES[FILE_NAMES[index % len(FILE_NAMES)]], "/Creator": "gisgw"})
        out = io.BytesIO()
        writer.write(out)
        files.append(out.getvalue())
    n = len(FILE_NAMES)
    return [tuple(files[i : i + n]) for i in range(0, len(files), n)]
