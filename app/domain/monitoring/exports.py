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
    top = wb.create_sheet("Крупнейшие должники")
    top.append(["Лицевой счёт", "Задолженность, ₽", "Месяцев просрочки"])
    for debtor in snapshot.top_debtors:
        top.append([debtor["account_number"], _number(debtor["debt"]), debtor["months_overdue"]])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
