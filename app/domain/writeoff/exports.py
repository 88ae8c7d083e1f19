"""Write-off acts for accounting: CSV (`;`, as Russian spreadsheet locales expect) and XLSX (openpyxl).

Both carry the same content: one line per account and billing month (principal, penalties, state duty, total),
a subtotal per account, the act's totals, and who drafted, approved and posted it, when.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.cell import Cell, WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models.accounts import Account
from app.db.models.writeoff import WriteOffAct, WriteOffLine
from app.domain.writeoff.acts import act_lines

COLUMNS = ("account_number", "period", "due_date", "ground", "principal", "penalties", "duty", "total")
#: Russian headings (the accountants reading the workbook speak Russian).
HEADINGS_RU = (
    "Лицевой счёт",
    "Расчётный месяц",
    "Срок оплаты",
    "Основание",
    "Основной долг, ₽",
    "Пени, ₽",
    "Госпошлина, ₽",
    "Итого, ₽",
)
GROUND_RU = {
    "limitation": "Истечение срока исковой давности (ГК РФ ст. 196)",
    "enforcement_closed": "Окончание исполнительного производства (229-ФЗ ст. 46)",
    "bankruptcy_completed": "Завершение банкротства гражданина",
    "amnesty": "Прощение пеней (ГК РФ ст. 415)",
}
STATUS_RU = {"draft": "черновик", "approved": "утверждён", "posted": "проведён", "cancelled": "отменён"}
_MONEY_FORMAT = "#,##0.00"


@dataclass(frozen=True, slots=True)
class _Row:
    kind: str  # "line" | "account" (an account's subtotal)
    account_number: str
    line: WriteOffLine | None
    principal: Decimal
    penalties: Decimal
    duty: Decimal

    @property
    def total(self) -> Decimal:
        return self.principal + self.penalties + self.duty


async def _rows(session: AsyncSession, act: WriteOffAct) -> list[_Row]:
    """Return the act's lines by account and month, each account followed by its subtotal."""
    stmt = (
        select(Account.id, Account.account_number)
        .where(Account.organisation_id == act.organisation_id)
        .where(Account.id.in_(select(WriteOffLine.account_id).where(WriteOffLine.act_id == act.id)))
    )
    numbers: dict[uuid.UUID, str] = {r.id: r.account_number for r in (await session.execute(stmt)).all()}
    out: list[_Row] = []
    current: list[WriteOffLine] = []

    def close() -> None:
        if current:
            first = current[0]
            out.append(
                _Row(
                    "account",
                    numbers.get(first.account_id, str(first.account_id)),
                    None,
                    sum((x.principal for x in current), Decimal(0)),
                    sum((x.penalties for x in current), Decimal(0)),
                    sum((x.duty for x in current), Decimal(0)),
                )
            )
            current.clear()

    for line in await act_lines(session=session, act_id=act.id):
        if current and current[0].account_id != line.account_id:
            close()
        current.append(line)
        number = numbers.get(line.account_id, str(line.account_id))
        out.append(_Row("line", number, line, line.principal, line.penalties, line.duty))
    close()
    return out


def _when(at: datetime | None) -> str:
    return at.isoformat(timespec="seconds") if at else ""


def _signatures(act: WriteOffAct) -> Iterator[tuple[str, str, str]]:
    """Yield (step, who, when) for the act's steps taken so far."""
    yield "created", act.created_by, _when(act.created_at)
    if act.approved_by:
        yield "approved", act.approved_by, _when(act.approved_at)
    if act.posted_by:
        yield "posted", act.posted_by, _when(act.posted_at)
    if act.cancelled_by:
        yield "cancelled", act.cancelled_by, ""


async def act_csv(*, session: AsyncSession, act: WriteOffAct) -> str:
    """Return the act as CSV: lines, account subtotals, the total, then who did each step."""
    buf = io.StringIO()
    out = csv.writer(buf, delimiter=";", lineterminator="\r\n")
    out.writerow(COLUMNS)
    for row in await _rows(session, act):
        line = row.line
        head = (
            [row.account_number, line.period.isoformat(), line.due_date.isoformat(), line.ground]
            if line is not None
            else [row.account_number, "", "", "account_total"]
        )
        out.writerow([*head, row.principal, row.penalties, row.duty, row.total])
    total = act.principal + act.penalties + act.duty
    out.writerow(["total", "", "", "", act.principal, act.penalties, act.duty, total])
    for step, who, when in _signatures(act):
        out.writerow([step, who, when, act.status, "", "", "", ""])
    return buf.getvalue()


def _cells(ws: WriteOnlyWorksheet, values: list[object], *, bold: bool = False) -> list[object]:
    """Return a row's cells: amounts as numbers with two decimals (exact to the kopeck as floats)."""
    cells: list[object] = []
    for value in values:
        if not bold and not isinstance(value, Decimal):
            cells.append(value)
            continue
        cell: Cell = WriteOnlyCell(ws, value=float(value) if isinstance(value, Decimal) else value)  # type: ignore[arg-type]
        if isinstance(value, Decimal):
            cell.number_format = _MONEY_FORMAT
        if bold:
            cell.font = Font(bold=True)
        cells.append(cell)
    return cells


async def act_xlsx(*, session: AsyncSession, act: WriteOffAct) -> bytes:
    """Return the act as an XLSX workbook (write-only mode: an act of many lines stays small in memory)."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Акт списания")
    ws.append(_cells(ws, [f"Акт списания безнадёжной задолженности от {act.on_date:%d.%m.%Y}"], bold=True))
    ws.append(["Номер акта", str(act.id)])
    ws.append(["Статус", STATUS_RU.get(act.status, act.status)])
    ws.append(["Основание списания", act.reason or ""])
    ws.append([])
    ws.append(_cells(ws, list(HEADINGS_RU), bold=True))
    for row in await _rows(session, act):
        money: list[object] = [row.principal, row.penalties, row.duty, row.total]
        if row.line is not None:
            line = row.line
            ground = GROUND_RU.get(line.ground, line.ground)
            ws.append(_cells(ws, [row.account_number, line.period, line.due_date, ground, *money]))
        else:
            ws.append(_cells(ws, [row.account_number, "", "", "Итого по лицевому счёту", *money], bold=True))
    total = act.principal + act.penalties + act.duty
    ws.append(
        _cells(ws, ["Итого по акту", "", "", "", act.principal, act.penalties, act.duty, total], bold=True)
    )
    ws.append([])
    steps = {"created": "Составил", "approved": "Утвердил", "posted": "Провёл", "cancelled": "Отменил"}
    for step, who, when in _signatures(act):
        ws.append([steps[step], who, when])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
