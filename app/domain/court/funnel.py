"""The court funnel of a month: debtors → ready → packaged → filed → issued → in force → enforcement → paid.

Each stage counts what *entered* it during the month, with its sum (₽), per organisation
(docs/court-orders.md):

- `debtors`: the month's stored monitoring snapshot (debtors at month end, their overdue debt); without a
  snapshot, the debtors (total above zero) of the month's latest finished readiness run;
- `ready`: the ready verdicts of the month's latest finished readiness run (claim total: principal, penalties,
  duty);
- `packaged`: court cases whose application was calculated in the month (`on_date`), claim total;
- `filed`, `order_issued`, `in_force`, `enforcement`: cases whose event of that name is dated in the month;
- `paid`: payments recorded against orders in the month (cases that received one, the amounts received).

A case filed in November and issued in December counts as filed in November and issued in December: the funnel
is the month's work, not a cohort. No personal data: counts and sums only.
"""

from __future__ import annotations

import calendar
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from app.db.models.court import CourtCase, CourtCaseEvent, CourtReadinessResult, CourtReadinessRun
from app.db.models.monitoring import MonitoringSnapshot
from app.domain.kernel import organisations
from app.domain.kernel.access import Principal, require_organisation

STAGES = ("debtors", "ready", "packaged", "filed", "order_issued", "in_force", "enforcement", "paid")
#: Case stages: the date column whose value in the month puts the case in the stage.
_CASE_DATES: dict[str, InstrumentedAttribute[date | None]] = {
    "filed": CourtCase.submitted_on,
    "order_issued": CourtCase.issued_on,
    "in_force": CourtCase.in_force_on,
    "enforcement": CourtCase.enforcement_on,
}
_ZERO = Decimal("0.00")


@dataclass
class Stage:
    """One step of the funnel: how many debtors or cases reached it in the month, and for how much (₽)."""

    name: str
    count: int = 0
    amount: Decimal = _ZERO


@dataclass
class OrganisationFunnel:
    """The month's funnel of one organisation; `debtors_source` says where the first stage comes from."""

    organisation_id: uuid.UUID
    name: str
    month: date
    stages: list[Stage] = field(default_factory=lambda: [Stage(s) for s in STAGES])
    debtors_source: str | None = None

    def stage(self, name: str) -> Stage:
        """Return the stage of that name."""
        return self.stages[STAGES.index(name)]


def month_bounds(month: date) -> tuple[date, date]:
    """Return the first and the last day of the month of `month`."""
    first = month.replace(day=1)
    return first, first.replace(day=calendar.monthrange(first.year, first.month)[1])


def _money(value: Any) -> Decimal:
    return Decimal(str(value or 0)).quantize(Decimal("0.01"))


async def court_funnel(
    *,
    session: AsyncSession,
    principal: Principal,
    month: date,
    organisation_id: uuid.UUID | None = None,
) -> list[OrganisationFunnel]:
    """Build the month's court funnel of one organisation (404 unless the caller's) or every visible one."""
    if organisation_id is not None:
        orgs: Sequence[Any] = [
            await require_organisation(session=session, principal=principal, organisation_id=organisation_id)
        ]
    else:
        orgs = await organisations.list_visible(session=session, principal=principal)
    first, last = month_bounds(month)
    result = {o.id: OrganisationFunnel(organisation_id=o.id, name=o.name, month=first) for o in orgs}
    if not result:
        return []
    ids = list(result)

    for org_id, totals in (
        await session.execute(
            select(MonitoringSnapshot.organisation_id, MonitoringSnapshot.totals).where(
                MonitoringSnapshot.organisation_id.in_(ids), MonitoringSnapshot.month == first
            )
        )
    ).all():
        stage = result[org_id].stage("debtors")
        stage.count = int((totals or {}).get("debtors") or 0)
        stage.amount = _money((totals or {}).get("debt"))
        result[org_id].debtors_source = "monitoring_snapshot"

    # The month's latest finished readiness run of each organisation.
    runs: dict[uuid.UUID, uuid.UUID] = {}
    for run_id, org_id in (
        await session.execute(
            select(CourtReadinessRun.id, CourtReadinessRun.organisation_id)
            .where(
                CourtReadinessRun.organisation_id.in_(ids),
                CourtReadinessRun.status == "done",
                CourtReadinessRun.on_date.between(first, last),
            )
            .order_by(CourtReadinessRun.on_date, CourtReadinessRun.created_at)
        )
    ).all():
        runs[org_id] = run_id
    if runs:
        by_run = {run_id: org_id for org_id, run_id in runs.items()}
        stmt_ready = (
            select(
                CourtReadinessResult.run_id,
                CourtReadinessResult.ready,
                func.count(),
                func.coalesce(func.sum(CourtReadinessResult.total), 0),
            )
            .where(CourtReadinessResult.run_id.in_(list(by_run)), CourtReadinessResult.total > 0)
            .group_by(CourtReadinessResult.run_id, CourtReadinessResult.ready)
        )
        for run_id, ready, count, amount in (await session.execute(stmt_ready)).all():
            funnel = result[by_run[run_id]]
            if ready:
                funnel.stage("ready").count = int(count)
                funnel.stage("ready").amount = _money(amount)
            if funnel.debtors_source in (None, "readiness_run"):
                funnel.debtors_source = "readiness_run"
                debtors = funnel.stage("debtors")
                debtors.count += int(count)
                debtors.amount = _money(debtors.amount + _money(amount))

    for name, column in (("packaged", CourtCase.on_date), *_CASE_DATES.items()):
        stmt = (
            select(CourtCase.organisation_id, func.count(), func.coalesce(func.sum(CourtCase.total), 0))
            .where(CourtCase.organisation_id.in_(ids), column.between(first, last))
            .group_by(CourtCase.organisation_id)
        )
        for org_id, count, amount in (await session.execute(stmt)).all():
            stage = result[org_id].stage(name)
            stage.count, stage.amount = int(count), _money(amount)

    # Payments keep their amount in the event's details (JSON): summed here, exactly, in Decimal.
    paid_cases: dict[uuid.UUID, set[uuid.UUID]] = {}
    paid_sums: dict[uuid.UUID, Decimal] = {}
    stmt_paid = (
        select(CourtCase.organisation_id, CourtCaseEvent.case_id, CourtCaseEvent.details)
        .join(CourtCase, CourtCase.id == CourtCaseEvent.case_id)
        .where(
            CourtCase.organisation_id.in_(ids),
            CourtCaseEvent.type == "payment",
            CourtCaseEvent.on_date.between(first, last),
        )
    )
    for org_id, case_id, details in (await session.execute(stmt_paid)).all():
        paid_cases.setdefault(org_id, set()).add(case_id)
        paid_sums[org_id] = paid_sums.get(org_id, _ZERO) + _money((details or {}).get("amount"))
    for org_id, cases in paid_cases.items():
        stage = result[org_id].stage("paid")
        stage.count, stage.amount = len(cases), _money(paid_sums[org_id])
    return list(result.values())


async def court_funnels(
    *,
    session: AsyncSession,
    principal: Principal,
    last_month: date,
    months: int,
    organisation_id: uuid.UUID | None = None,
) -> list[OrganisationFunnel]:
    """Build the funnels of `months` months up to `last_month`: by organisation (as listed), then month."""
    firsts = [last_month.replace(day=1)]
    while len(firsts) < months:
        firsts.insert(0, (firsts[0] - timedelta(days=1)).replace(day=1))
    per_month = [
        await court_funnel(session=session, principal=principal, month=m, organisation_id=organisation_id)
        for m in firsts
    ]
    return [funnels[i] for i in range(len(per_month[0])) for funnels in per_month]
