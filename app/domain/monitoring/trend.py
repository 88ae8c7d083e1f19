"""The debt trend of stored monthly snapshots: what the dashboard charts (debt by age, debt by month)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models.monitoring import MonitoringSnapshot
from app.domain.monitoring.figures import BUCKET_NAMES

#: The trend reaches back this many months (issue #15: "trend over up to 36 months").
TREND_MONTHS = 36


@dataclass(frozen=True)
class DebtPoint:
    """One stored month: overdue debt at month end, its ageing buckets (₽), debtors and collection rate."""

    month: date
    debt: Decimal
    ages: dict[str, Decimal]
    debtors: int
    collection_rate: Decimal | None


def _dec(value: object) -> Decimal:
    return Decimal(str(value)) if value not in (None, "") else Decimal("0.00")


def point_of(month: date, totals: dict[str, object]) -> DebtPoint:
    """Read a snapshot's stored totals (decimal strings) into a point."""
    rate = totals.get("collection_rate")
    return DebtPoint(
        month=month,
        debt=_dec(totals.get("debt")),
        ages={name: _dec(totals.get(name)) for name in BUCKET_NAMES},
        debtors=int(str(totals.get("debtors") or 0)),
        collection_rate=_dec(rate) if rate not in (None, "") else None,
    )


async def debt_trends(
    *, session: AsyncSession, organisation_ids: Sequence[uuid.UUID], months: int = TREND_MONTHS
) -> dict[uuid.UUID, list[DebtPoint]]:
    """Return each organisation's latest `months` stored snapshots as points, oldest first.

    The caller has already limited `organisation_ids` to what its key may see. Stored snapshots only: the
    chart shows the history as computed, never a live re-computation from today's ledger.
    """
    out: dict[uuid.UUID, list[DebtPoint]] = {org_id: [] for org_id in organisation_ids}
    if not out:
        return out
    stmt = (
        select(MonitoringSnapshot.organisation_id, MonitoringSnapshot.month, MonitoringSnapshot.totals)
        .where(MonitoringSnapshot.organisation_id.in_(list(out)))
        .order_by(MonitoringSnapshot.organisation_id, MonitoringSnapshot.month)
    )
    for org_id, month, totals in (await session.execute(stmt)).all():
        out[org_id].append(point_of(month, totals or {}))
    return {org_id: points[-months:] for org_id, points in out.items()}
