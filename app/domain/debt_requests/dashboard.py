"""The operations overview: per organisation, where the debt-request work stands and what is failing."""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models.debt_requests import DebtRequestHistory, DebtSubrequest
from app.db.models.exchange import Exchange
from app.domain.debt_requests.common import OPEN, SENT
from app.domain.debt_requests.queries import deadline_conditions
from app.domain.kernel import organisations
from app.domain.kernel.access import Principal
from app.domain.kernel.calendar import MOSCOW  # deadlines and "answers per day" are Moscow days, like GIS's
from app.domain.kernel.rules import CalendarRules

#: Exchange statuses that are still in progress.
PENDING_EXCHANGE_STATUSES = ("pending", "sending", "acked", "uncertain")
STATUSES = ("received", "prepared", "sent", "revoked", "archived")


@dataclass(frozen=True)
class GisErrorItem:
    """One recent failure reported by GIS (or the transport)."""

    at: datetime | None
    operation: str
    code: str | None
    message: str | None


@dataclass
class OrganisationOverview:
    """What an operator needs to see for one organisation."""

    organisation_id: uuid.UUID
    name: str
    by_status: dict[str, int] = field(default_factory=dict)
    total: int = 0
    at_risk: int = 0
    overdue: int = 0
    last_fetch_at: datetime | None = None
    last_send_at: datetime | None = None
    pending_exchanges: int = 0
    recent_errors: list[GisErrorItem] = field(default_factory=list)
    answers_per_day: list[tuple[date, int]] = field(default_factory=list)


async def overview(
    *, session: AsyncSession, principal: Principal, today: date, rules: CalendarRules, days: int = 14
) -> list[OrganisationOverview]:
    """Build the overview for every organisation the key may see."""
    orgs = await organisations.list_visible(session=session, principal=principal)
    if not orgs:
        return []
    ids = [o.id for o in orgs]
    result = {
        o.id: OrganisationOverview(
            organisation_id=o.id,
            name=o.name,
            by_status=dict.fromkeys(STATUSES, 0),
            last_fetch_at=o.last_fetch_at,
            last_send_at=o.last_send_at,
        )
        for o in orgs
    }
    for org_id, status, count in (
        await session.execute(
            select(DebtSubrequest.organisation_id, DebtSubrequest.status, func.count())
            .where(DebtSubrequest.organisation_id.in_(ids))
            .group_by(DebtSubrequest.organisation_id, DebtSubrequest.status)
        )
    ).all():
        result[org_id].by_status[status] = int(count)
        result[org_id].total += int(count)

    is_overdue, is_at_risk = deadline_conditions(today, rules)
    overdue = case((is_overdue, 1), else_=0)
    at_risk = case((is_at_risk, 1), else_=0)
    for org_id, n_overdue, n_at_risk in (
        await session.execute(
            select(DebtSubrequest.organisation_id, func.sum(overdue), func.sum(at_risk))
            .where(DebtSubrequest.organisation_id.in_(ids), DebtSubrequest.status.in_(OPEN))
            .group_by(DebtSubrequest.organisation_id)
        )
    ).all():
        result[org_id].overdue = int(n_overdue or 0)
        result[org_id].at_risk = int(n_at_risk or 0)

    for org_id, count in (
        await session.execute(
            select(Exchange.organisation_id, func.count())
            .where(Exchange.organisation_id.in_(ids), Exchange.status.in_(PENDING_EXCHANGE_STATUSES))
            .group_by(Exchange.organisation_id)
        )
    ).all():
        result[org_id].pending_exchanges = int(count)

    # The five latest failures per organisation in one query (a window function works on both databases).
    rank = (
        func.row_number()
        .over(partition_by=Exchange.organisation_id, order_by=Exchange.finished_at.desc())
        .label("rank")
    )
    failed = (
        select(
            Exchange.organisation_id,
            Exchange.finished_at,
            Exchange.operation,
            Exchange.error_code,
            Exchange.error_message,
            rank,
        )
        .where(Exchange.organisation_id.in_(ids), Exchange.status == "failed")
        .subquery()
    )
    latest = (
        select(failed.c.organisation_id, failed.c.finished_at, failed.c.operation, failed.c.error_code)
        .add_columns(failed.c.error_message)
        .where(failed.c.rank <= 5)
        .order_by(failed.c.finished_at.desc())
    )
    for org_id, at, op, code, message in (await session.execute(latest)).all():
        result[org_id].recent_errors.append(GisErrorItem(at, op, code, message))

    # Answers per day: transitions into "sent" in the last `days` days, counted in Python (portable: no
    # date-truncation function is spelled alike on SQLite and PostgreSQL).
    since = datetime.combine(today - timedelta(days=days - 1), time.min, tzinfo=MOSCOW)
    per_org: dict[uuid.UUID, Counter[date]] = {org_id: Counter() for org_id in ids}
    for org_id, at in (
        await session.execute(
            select(DebtSubrequest.organisation_id, DebtRequestHistory.at)
            .join(DebtSubrequest, DebtSubrequest.id == DebtRequestHistory.subrequest_id)
            .where(
                DebtSubrequest.organisation_id.in_(ids),
                DebtRequestHistory.to_status == SENT,
                DebtRequestHistory.at >= since,
            )
        )
    ).all():
        per_org[org_id][at.astimezone(MOSCOW).date()] += 1
    for org_id, counter in per_org.items():
        result[org_id].answers_per_day = [
            (today - timedelta(days=offset), counter.get(today - timedelta(days=offset), 0))
            for offset in reversed(range(days))
        ]
    return [result[i] for i in ids]
