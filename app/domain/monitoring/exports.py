"""Snapshot exports: CSV (UTF-8 with BOM, `;`, as Russian Excel opens it) and XLSX (openpyxl)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font

from app.db.models.monitoring import MonitoringSnapshot, MonitoringSnapshotRow
from app.domain.monitoring.figures import BUCKET_NAMES
from app.domain.monitoring.snapshots import rates

COLUMNS = ("house_id", "category", "accounts", "debtors", "charged", "paid", "debt", *BUCKET_NAMES)
RATE_COLUMNS = ("debtor_share", "collection_rate")

#: Russian headings of the columns (the staff reading the exports speak Russian).
HEADINGS_RU = {
    "house_id": "Дом (id)",
    "category": "Категория потребителей",
    "accounts": "Лицевых счетов",
    "debtors": "Должников",
    "charged": "Начислено, ₽",
    "paid": "Оплачено, ₽",
    "debt": "Задолженность на конец месяца, ₽",
    "age_1": "до 1 мес., ₽",
    "age_2_3": "2–3 мес., ₽",
    "age_4_6": "4–6 мес., ₽",
    "age_7_12": "7–12 мес., ₽",
    "age_13_36": "13–36 мес., ₽",
    "age_over_36": "более 36 мес., ₽",
    "debtor_share": "Доля должников",
    "collection_rate": "Уровень сбора",
}
#: The effect of measures (app.domain.monitoring.effect): machine columns and their Russian headings.
EFFECT_COLUMNS = (
    "measure",
    "debtors",
    "amount",
    "paid_any_30",
    "paid_full_30",
    "paid_30",
    "share_paid_30",
    "complete_30",
    "paid_any_90",
    "paid_full_90",
    "paid_90",
    "share_paid_90",
    "complete_90",
)
EFFECT_HEADINGS_RU = {
    "measure": "Мера",
    "debtors": "Должников охвачено",
    "amount": "Сумма по мерам, ₽",
    "paid_any_30": "Оплатили в течение 30 дней",
    "paid_full_30": "из них полностью (30 дней)",
    "paid_30": "Оплачено за 30 дней, ₽",
    "share_paid_30": "Доля оплативших (30 дней)",
    "complete_30": "Период 30 дней завершён",
    "paid_any_90": "Оплатили в течение 90 дней",
    "paid_full_90": "из них полностью (90 дней)",
    "paid_90": "Оплачено за 90 дней, ₽",
    "share_paid_90": "Доля оплативших (90 дней)",
    "complete_90": "Период 90 дней завершён",
}
MEASURE_RU = {
    "notice": "Уведомления о задолженности (направлены в месяце)",
    "agreement": "Соглашения о погашении задолженности (заключены в месяце)",
    "court_order": "Судебные приказы (вынесены в месяце)",
}
CATEGORY_RU = {
    "owner": "Собственники",
    "social_tenant": "Наниматели по договору социального найма",
    "legal_entity": "Юридические лица",
    "management_company": "Управляющие организации",
    "unknown": "Не указана",
}


def row_values(row: MonitoringSnapshotRow) -> dict[str, Any]:
    """Return a stored row's figures with its derived rates."""
    values: dict[str, Any] = {c: getattr(row, c) for c in COLUMNS}
    values.update(rates(row.accounts, row.debtors, row.charged, row.paid))
    return values


def snapshot_csv(snapshot: MonitoringSnapshot, rows: Sequence[MonitoringSnapshotRow]) -> str:
    """Return a snapshot's rows as CSV with machine column names (a total line last)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(("month", *COLUMNS, *RATE_COLUMNS))
    for row in rows:
        values = row_values(row)
        writer.writerow((snapshot.month.isoformat(), *(_text(values[c]) for c in (*COLUMNS, *RATE_COLUMNS))))
    totals = snapshot.totals
    writer.writerow(
        (
            snapshot.month.isoformat(),
            "total",
            "",
            *(_text(totals.get(c)) for c in (*COLUMNS[2:], *RATE_COLUMNS)),
        )
    )
    return "\ufeff" + buffer.getvalue()


def effect_csv(snapshot: MonitoringSnapshot) -> str:
    """Return a snapshot's effect of measures as CSV with machine column names (a header only without it)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(("month", *EFFECT_COLUMNS))
    for row in snapshot.effect or []:
        writer.writerow((snapshot.month.isoformat(), *(_text(_flag(row.get(c))) for c in EFFECT_COLUMNS)))
    return "\ufeff" + buffer.getvalue()


def _flag(value: Any) -> Any:
    # true/false, as the JSON answer writes them.
    return str(value).lower() if isinstance(value, bool) else value


def effect_sheet_rows(effect: Sequence[dict[str, Any]] | None) -> list[list[Any]]:
    """Return the effect of measures as worksheet rows: Russian headings, then one row per measure."""
    out: list[list[Any]] = [[EFFECT_HEADINGS_RU[c] for c in EFFECT_COLUMNS]]
    for row in effect or []:
        values = []
        for c in EFFECT_COLUMNS:
            value = row.get(c)
            if c == "measure":
                value = MEASURE_RU.get(str(value), value)
            elif isinstance(value, bool):
                value = "да" if value else "нет"
            else:
                value = _number(value)
            values.append(value)
        out.append(values)
    return out


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _number(value: Any) -> Any:
    # Excel wants numbers, not text: amounts as floats are exact to the kopeck at these magnitudes.
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, str):
        try:
            return float(Decimal(value))
        except ArithmeticError:
            return value
    return value


def snapshot_xlsx(snapshot: MonitoringSnapshot, rows: Sequence[MonitoringSnapshotRow]) -> bytes:
    """Return a snapshot as an XLSX workbook: rows by house and category, the totals, the top debtors."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None  # a new workbook has its sheet
    ws.title = "Мониторинг"
    ws.append([f"Мониторинг задолженности за {snapshot.month:%m.%Y} (версия {snapshot.version})"])
    ws["A1"].font = Font(bold=True)
    header = [HEADINGS_RU[c] for c in (*COLUMNS, *RATE_COLUMNS)]
    ws.append(header)
    for cell in ws[2]:
        cell.font = Font(bold=True)
    for row in rows:
        values = row_values(row)
        values["house_id"] = str(row.house_id)
        values["category"] = CATEGORY_RU.get(row.category, row.category)
        ws.append([_number(values[c]) for c in (*COLUMNS, *RATE_COLUMNS)])
    totals = snapshot.totals
    ws.append(["Итого", "", *(_number(totals.get(c)) for c in (*COLUMNS[2:], *RATE_COLUMNS))])
    for cell in ws[ws.max_row]:
        cell.font = Font(bold=True)
    effect = wb.create_sheet("Результативность мер")
    for line in effect_sheet_rows(snapshot.effect):
        effect.append(line)
    for cell in effect[1]:
        cell.font = Font(bold=True)
    if snapshot.effect is None:
        effect.append(["Снимок рассчитан до учёта результативности мер: пересчитайте его"])
    top = wb.create_sheet("Крупнейшие должники")
    top.append(["Лицевой счёт", "Задолженность, ₽", "Месяцев просрочки"])
    for debtor in snapshot.top_debtors:
        top.append([debtor["account_number"], _number(debtor["debt"]), debtor["months_overdue"]])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
