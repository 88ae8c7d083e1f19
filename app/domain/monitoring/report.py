"""The monthly report to the municipality (domain-rules §11): debt by consumer category and age, measures.

Built from the month's stored snapshot (so the report matches what monitoring showed) and from the records of
the measures: court applications, orders and enforcement (court area), pre-court notices and restriction
steps (this area). One XLSX per organisation and month, Russian labels for the administration's staff.
"""

from __future__ import annotations

import io
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models.core import Organisation
from app.db.models.court import CourtCase
from app.db.models.monitoring import MonitoringSnapshotRow, RestrictionCase, RestrictionEvent
from app.domain.kernel import errors
from app.domain.kernel.access import Principal, require_organisation
from app.domain.monitoring import notices
from app.domain.monitoring.exports import CATEGORY_RU, HEADINGS_RU, effect_sheet_rows
from app.domain.monitoring.figures import BUCKET_NAMES, month_end
from app.domain.monitoring.snapshots import find_snapshot, first_of_month, rates

#: The report's category order: the plans' kinds of consumer, then the rest.
CATEGORY_ORDER = ("owner", "social_tenant", "legal_entity", "management_company", "unknown")
_AMOUNTS = ("charged", "paid", "debt", *BUCKET_NAMES)


@dataclass(frozen=True)
class Measure:
    """One kind of measure taken in the month: how many, on what sum, and what came of it."""

    key: str
    title: str
    count: int | None
    amount: Decimal | None
    result: str


@dataclass(frozen=True)
class MunicipalReport:
    """The report's data: debt by consumer category and the measures of the month."""

    organisation: str
    inn: str | None
    month: date
    snapshot_version: int
    categories: list[dict[str, Any]]
    totals: dict[str, Any]
    measures: list[Measure]
    #: The effect of the month's measures as stored with the snapshot (none on snapshots computed before it).
    effect: list[dict[str, Any]] | None = None


async def _court_measures(session: AsyncSession, organisation_id: uuid.UUID, month: date) -> list[Measure]:
    first, last = month, month_end(month)

    async def count_sum(column: Any) -> tuple[int, Decimal]:
        row = (
            await session.execute(
                select(func.count(), func.coalesce(func.sum(CourtCase.total), 0)).where(
                    CourtCase.organisation_id == organisation_id, column >= first, column <= last
                )
            )
        ).one()
        return int(row[0]), Decimal(row[1]).quantize(Decimal("0.01"))

    filed = await count_sum(CourtCase.submitted_on)
    issued = await count_sum(CourtCase.issued_on)
    cancelled = await count_sum(CourtCase.cancelled_on)
    enforcement = await count_sum(CourtCase.enforcement_on)
    return [
        Measure("court_applications", "Заявления о выдаче судебного приказа", *filed, "подано в суд"),
        Measure(
            "court_orders",
            "Судебные приказы",
            *issued,
            f"вынесено; отменено по возражениям в месяце: {cancelled[0]}",
        ),
        Measure("enforcement", "Исполнительное производство", *enforcement, "направлено на исполнение"),
    ]


async def _restriction_measure(session: AsyncSession, organisation_id: uuid.UUID, month: date) -> Measure:
    rows = (
        await session.execute(
            select(RestrictionEvent.event, func.count(), func.coalesce(func.sum(RestrictionCase.debt), 0))
            .join(RestrictionCase, RestrictionCase.id == RestrictionEvent.case_id)
            .where(
                RestrictionCase.organisation_id == organisation_id,
                RestrictionEvent.on_date >= month,
                RestrictionEvent.on_date <= month_end(month),
            )
            .group_by(RestrictionEvent.event)
        )
    ).all()
    by_event = {event: (int(n), Decimal(total).quantize(Decimal("0.01"))) for event, n, total in rows}
    restricted = by_event.get("restricted", (0, Decimal("0.00")))
    others = {
        k: by_event.get(k, (0, 0))[0] for k in ("warning_delivered", "suspended", "resumed", "agreement")
    }
    return Measure(
        "restriction",
        "Ограничение коммунальных услуг (ПП № 354)",
        restricted[0],
        restricted[1],
        f"предупреждений вручено: {others['warning_delivered']}; приостановлено: {others['suspended']}; "
        f"возобновлено: {others['resumed']}; прекращено по соглашению: {others['agreement']}",
    )


async def build_report(
    *, session: AsyncSession, principal: Principal, organisation_id: uuid.UUID, month: date
) -> MunicipalReport:
    """Gather the month's report; needs the month's stored snapshot (409 without it)."""
    org: Organisation = await require_organisation(
        session=session, principal=principal, organisation_id=organisation_id
    )
    month = first_of_month(month)
    snapshot = await find_snapshot(session=session, organisation_id=organisation_id, month=month)
    if snapshot is None:
        raise errors.ConflictError(
            f"No monitoring snapshot of {month:%Y-%m}: compute it first (POST /api/v1/monitoring/snapshots).",
            errors=[errors.FieldProblem("query.month", "snapshot_missing", "no snapshot of this month")],
            rule="snapshot_missing",
        )
    rows: Sequence[MonitoringSnapshotRow] = (
        await session.scalars(
            select(MonitoringSnapshotRow).where(MonitoringSnapshotRow.snapshot_id == snapshot.id)
        )
    ).all()
    by_category: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"accounts": 0, "debtors": 0, **dict.fromkeys(_AMOUNTS, Decimal("0.00"))}
    )
    for row in rows:
        target = by_category[row.category]
        target["accounts"] += row.accounts
        target["debtors"] += row.debtors
        for name in _AMOUNTS:
            target[name] += getattr(row, name)
    categories = []
    for category in sorted(by_category, key=lambda c: (CATEGORY_ORDER + (c,)).index(c)):
        values = by_category[category]
        values.update(rates(values["accounts"], values["debtors"], values["charged"], values["paid"]))
        categories.append({"category": category, **values})
    journal = await notices.count_in_month(session, organisation_id, month, month_end(month))
    sent, delivered = (
        journal.get("sent", (0, Decimal("0.00"))),
        journal.get("delivered", (0, Decimal("0.00"))),
    )
    returned, refused = journal.get("returned", (0, 0)), journal.get("refused", (0, 0))
    measures = [
        Measure(
            "notices",
            "Уведомления о задолженности (досудебные)",
            sent[0],
            sent[1],
            f"вручено в месяце: {delivered[0]} на {delivered[1]} ₽; возвращено: {returned[0]}; "
            f"отказ в получении: {refused[0]}",
        ),
        await _restriction_measure(session, organisation_id, month),
        *await _court_measures(session, organisation_id, month),
    ]
    return MunicipalReport(
        organisation=org.name,
        inn=org.inn,
        month=month,
        snapshot_version=snapshot.version,
        categories=categories,
        totals=dict(snapshot.totals),
        measures=measures,
        effect=snapshot.effect,
    )


_DEBT_COLUMNS = (
    "accounts",
    "debtors",
    "charged",
    "paid",
    "debt",
    *BUCKET_NAMES,
    "debtor_share",
    "collection_rate",
)
_MONTHS_RU = (
    "январь",
    "февраль",
    "март",
    "апрель",
    "май",
    "июнь",
    "июль",
    "август",
    "сентябрь",
    "октябрь",
    "ноябрь",
    "декабрь",
)


def _num(value: Any) -> Any:
    # Excel wants numbers: kopeck amounts are exact as floats at these magnitudes.
    if value is None:
        return None
    if isinstance(value, int):
        return value
    return float(Decimal(str(value)))


def report_xlsx(report: MunicipalReport) -> bytes:
    """Return the report as XLSX: sheet «Задолженность» (debt by category), sheet «Меры» (measures)."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None  # a new workbook has its sheet
    ws.title = "Задолженность"
    ws.append([f"Отчёт о задолженности за ЖКУ: {_MONTHS_RU[report.month.month - 1]} {report.month.year} г."])
    ws.append([f"Организация: {report.organisation}" + (f", ИНН {report.inn}" if report.inn else "")])
    as_of = month_end(report.month)
    ws.append([f"По состоянию на {as_of:%d.%m.%Y} (снимок мониторинга, версия {report.snapshot_version})"])
    ws["A1"].font = Font(bold=True, size=13)
    ws.append([])
    ws.append(["Категория потребителей", *(HEADINGS_RU[c] for c in _DEBT_COLUMNS)])
    for cell in ws[ws.max_row]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for values in report.categories:
        label = CATEGORY_RU.get(values["category"], values["category"])
        ws.append([label, *(_num(values.get(c)) for c in _DEBT_COLUMNS)])
    ws.append(["Итого", *(_num(report.totals.get(c)) for c in _DEBT_COLUMNS)])
    for cell in ws[ws.max_row]:
        cell.font = Font(bold=True)
    ws.column_dimensions["A"].width = 44
    measures = wb.create_sheet("Меры")
    measures.append(["Мера", "Количество", "Сумма, ₽", "Результат"])
    for cell in measures[1]:
        cell.font = Font(bold=True)
    for m in report.measures:
        measures.append([m.title, m.count, _num(m.amount), m.result])
    measures.column_dimensions["A"].width = 44
    measures.column_dimensions["D"].width = 60
    # The measures' results: who of the debtors reached in the month paid within 30 and 90 days.
    results = wb.create_sheet("Результаты мер")
    results.append(["Результаты мер, принятых в месяце: оплата в течение 30 и 90 дней"])
    results["A1"].font = Font(bold=True)
    for line in effect_sheet_rows(report.effect):
        results.append(line)
    for cell in results[2]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    if report.effect is None:
        results.append(["Снимок рассчитан до учёта результатов мер: пересчитайте его (recompute)"])
    results.column_dimensions["A"].width = 52
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
