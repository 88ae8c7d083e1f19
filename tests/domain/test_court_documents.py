"""The e-filing PDFs: three standalone documents per case, Cyrillic text read back, masking, long claims."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from app.domain.court.adapters import EFilingPdfAdapter, HtmlAdapter, JsonLinesAdapter, adapter_for
from app.domain.court.documents import FILE_NAMES, Fonts, prepare_fonts, render_cases, rub
from app.domain.court.packages import mask_debtor

FONTS = Fonts(
    regular=Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
    mono=Path("/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"),
)
pytestmark = pytest.mark.skipif(
    not (FONTS.regular.is_file() and FONTS.mono.is_file()), reason="fonts-dejavu-core not installed"
)


def _segment(start: str, end: str, days: int, fraction: int, moratorium: bool, amount: str) -> dict[str, Any]:
    return {"from": start, "to": end, "days": days, "balance": "2000.00", "rate": "9.50",
            "fraction": fraction, "moratorium": moratorium, "amount": amount}  # fmt: skip


def application(months: int = 3, *, last_name: str = "Сидоров") -> dict[str, Any]:
    """Return an application data set shaped as packages.application_data returns it."""
    rows = []
    for i in range(months):
        year, month = 2023 + i // 12, i % 12 + 1
        rows.append(
            {
                "account_id": "a",
                "period": date(year, month, 1).isoformat(),
                "due_date": date(year + month // 12, month % 12 + 1, 10).isoformat(),
                "charged": "2500.00",
                "paid": "500.00",
                "outstanding": "2000.00",
                "penalty": "123.45",
                "penalty_segments": [
                    _segment("2023-02-11", "2023-03-12", 30, 0, False, "0.00"),
                    _segment("2023-03-13", "2023-05-11", 60, 300, False, "38.00"),
                    _segment("2023-05-12", "2023-06-30", 50, 130, True, "0.00"),
                ],
            }
        )
    return {
        "case_id": "c1",
        "creditor": {
            "name": "ООО «УК Уют»",
            "inn": "1655000001",
            "ogrn": "1021600000001",
            "address": "Казань",
        },
        "debtor": {
            "last_name": last_name,
            "first_name": "Семён",
            "middle_name": "Ильич",
            "birth_date": "1980-02-03",
            "birth_place": "г. Казань",
            "snils": "11223344595",
            "address": "г. Казань, ул. Баумана, д. 7",
            "premises_number": "12",
            "account_number": "LS1",
        },
        "court": {"name": "Мировой судья судебного участка № 3", "district": "3", "address": "Казань"},
        "claim": {
            "on_date": "2025-11-20",
            "key_rate": "9.50",
            "months": rows,
            "excluded": [],
            "principal": "6000.00",
            "penalties": "370.35",
            "total": "6370.35",
            "duty": "2000.00",
        },
        "attachments": ["Расчёт задолженности по месяцам", "Выписка из лицевого счёта"],
    }


def _text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_render_cases_three_standalone_pdfs() -> None:
    [first, second] = render_cases([application(), application(last_name="Кузнецов")], FONTS)
    assert len(first) == len(FILE_NAMES) == 3
    app_text, calc_text, list_text = (_text(f) for f in first)
    assert "ЗАЯВЛЕНИЕ" in app_text and "Сидоров Семён Ильич" in app_text and "СНИЛС 11223344595" in app_text
    assert "Мировой судья судебного участка № 3" in app_text and rub("6370.35") in app_text
    assert "Кузнецов" not in app_text and "Кузнецов" in _text(second[0])  # each file is its own case
    assert "calculation.pdf" in app_text  # the application lists the package's files
    assert "РАСЧЁТ" in calc_text and "01.2023" in calc_text and "1/300" in calc_text
    assert "мораторий" in calc_text and "Итого" in calc_text
    assert "ПЕРЕЧЕНЬ ПРИЛАГАЕМЫХ ДОКУМЕНТОВ" in list_text and "application.pdf" in list_text
    for data in first:
        reader = PdfReader(io.BytesIO(data))
        assert data.startswith(b"%PDF-") and reader.metadata is not None and reader.metadata.title


def test_render_cases_long_claim_spans_pages() -> None:
    [files] = render_cases([application(months=36)], FONTS)
    calc = PdfReader(io.BytesIO(files[1]))
    assert len(calc.pages) > 1
    text = _text(files[1])
    assert "12.2025" in text and "Итого" in text  # the last month and the totals, after the page break
    assert len(PdfReader(io.BytesIO(files[0])).pages) == 1


def test_render_cases_masked_debtor() -> None:
    data = application()
    data["debtor"] = mask_debtor(data["debtor"], show_pii=False)
    [files] = render_cases([data], FONTS)
    text = _text(files[0])
    assert "Сидоров" not in text and "11223344595" not in text and "***" in text


def test_adapters_write_their_formats() -> None:
    today = date(2025, 11, 20)
    [(line,)] = JsonLinesAdapter().write([application()], today=today)
    assert line.name == "applications.jsonl" and line.data.endswith(b"\n") and "Сидоров".encode() in line.data
    [(page,)] = HtmlAdapter().write([application()], today=today)
    assert page.name == "application.html" and b"<html" in page.data.lower()
    [pdfs] = EFilingPdfAdapter(FONTS).write([application()], today=today)
    assert [f.name for f in pdfs] == list(FILE_NAMES)
    assert adapter_for("jsonl", fonts=lambda: FONTS).media_type == "application/x-ndjson"
    with pytest.raises(KeyError):
        adapter_for("gis-operator", fonts=lambda: FONTS)


def test_prepared_fonts_smaller_and_keep_regional_letters(tmp_path: Path) -> None:
    prepared = prepare_fonts(FONTS, tmp_path)
    assert prepared.regular.stat().st_size < FONTS.regular.stat().st_size / 10
    assert prepare_fonts(FONTS, tmp_path) == prepared  # made once, then reused
    [plain] = render_cases([application()], FONTS)
    [files] = render_cases([application(last_name="Гәрәев")], prepared)
    assert "Гәрәев Семён Ильич" in _text(files[0]) and "№" in _text(files[0])
    assert len(files[0]) < len(plain[0])


async def test_renderer_pool_matches_in_process(tmp_path: Path) -> None:
    from app.domain.court.exports import _Renderer

    adapter = EFilingPdfAdapter(prepare_fonts(FONTS, tmp_path))
    today = date(2025, 11, 20)
    inline = _Renderer(adapter, today, processes=0)
    pooled = _Renderer(adapter, today, processes=1)  # a spawned worker process
    try:
        [here] = await inline.submit([application()])
        [there] = await pooled.submit([application()])
    finally:
        inline.close()
        pooled.close()
    assert [f.name for f in there] == [f.name for f in here]
    assert [_text(f.data) for f in there] == [_text(f.data) for f in here]
