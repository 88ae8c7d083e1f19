"""Reading debt requests: filtered keyset-paginated lists, one request with its answer and history, gauges."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models.debt_requests import (
    DebtAnswer,
    DebtDocument,
    DebtRequestHistory,
    DebtSubrequest,
)
from app.domain.accounts.premises import normalize_address_text
from app.domain.debt_requests.common import (
    OPEN,
    REQUEST_STATE_COLUMNS,
    RequestState,
    get_subrequest_or_raise,
)
from app.domain.kernel import errors as d
from app.domain.kernel.access import Principal
from app.domain.kernel.calendar import add_working_days, moscow_today
from app.domain.kernel.rules import CalendarRules
from app.metrics import DEADLINES_AT_RISK, DEADLINES_OVERDUE, DEBT_REQUESTS


@dataclass(frozen=True)
class DebtRequestFilter:
    """List filters (all optional, combined with AND)."""

    organisation_id: uuid.UUID | None = None
    statuses: tuple[str, ...] = ()
    deadline_from: date | None = None
    deadline_to: date | None = None
    house: uuid.UUID | None = None
    request_number: str | None = None
    q: str | None = None
    at_risk: bool | None = None
    overdue: bool | None = None
    match_quality: str | None = None
    #: none (no answer drafted), no_debt or has_debt (the drafted or sent answer says so).
    answer: str | None = None
    #: manual, no_debt (mass answer) or prefill.
    answer_source: str | None = None


async def answers_for(ids: Sequence[uuid.UUID], *, session: AsyncSession) -> dict[uuid.UUID, DebtAnswer]:
    """Return the answers of a page of requests by request id."""
    if not ids:
        return {}
    rows = await session.scalars(select(DebtAnswer).where(DebtAnswer.subrequest_id.in_(list(ids))))
    return {a.subrequest_id: a for a in rows}


def encode_cursor(sub: DebtSubrequest) -> str:
    """Return an opaque keyset cursor after this row (ordered by deadline, then id)."""
    return base64.urlsafe_b64encode(f"{sub.response_date.isoformat()}|{sub.id}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[date, uuid.UUID]:
    """Parse a cursor from `encode_cursor`, or raise a validation error naming the parameter."""
    try:
        day, _, ident = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
        return date.fromisoformat(day), uuid.UUID(ident)
    except (ValueError, UnicodeDecodeError) as exc:
        raise d.RuleViolation(
            "The page cursor is not valid; start from the first page.",
            rule="cursor",
            errors=[d.FieldProblem("query.cursor", "cursor", "malformed cursor")],
        ) from exc


def filtered(
    principal: Principal, f: DebtRequestFilter, *, rules: CalendarRules, on: date | None = None
) -> Select[Any]:
    """Build the SELECT of requests matching a filter, limited to the caller's organisations."""
    stmt = select(DebtSubrequest)
    orgs = principal.visible_orgs(f.organisation_id)
    if orgs is not None:
        stmt = stmt.where(DebtSubrequest.organisation_id.in_(orgs))
    if f.statuses:
        stmt = stmt.where(DebtSubrequest.status.in_(f.statuses))
    if f.deadline_from:
        stmt = stmt.where(DebtSubrequest.response_date >= f.deadline_from)
    if f.deadline_to:
        stmt = stmt.where(DebtSubrequest.response_date <= f.deadline_to)
    if f.house:
        stmt = stmt.where(
            or_(
                DebtSubrequest.fias_house_guid == f.house,
                DebtSubrequest.house_guid == f.house,
                DebtSubrequest.hm_object_guid == f.house,
            )
        )
    if f.request_number:
        stmt = stmt.where(DebtSubrequest.request_number == f.request_number)
    if f.match_quality:
        stmt = stmt.where(DebtSubrequest.match_quality == f.match_quality)
    if f.answer is not None or f.answer_source is not None:
        answered = select(DebtAnswer.id).where(DebtAnswer.subrequest_id == DebtSubrequest.id)
        if f.answer == "none":
            stmt = stmt.where(~answered.exists())
        else:
            if f.answer in ("no_debt", "has_debt"):
                answered = answered.where(DebtAnswer.has_debt.is_(f.answer == "has_debt"))
            if f.answer_source is not None:
                answered = answered.where(DebtAnswer.source == f.answer_source)
            stmt = stmt.where(answered.exists())
    if f.q:
        needle = normalize_address_text(f.q)
        like = f"%{needle}%"
        stmt = stmt.where(
            or_(
                DebtSubrequest.address_norm.like(like),
                DebtSubrequest.request_number.like(f"%{f.q.strip()}%"),
                DebtSubrequest.sender_org_name.like(f"%{f.q.strip()}%"),
            )
        )
    day = on or moscow_today()
    overdue, at_risk = deadline_conditions(day, rules)
    if f.overdue is not None:
        cond = and_(DebtSubrequest.status.in_(OPEN), overdue)
        stmt = stmt.where(cond if f.overdue else ~cond)
    if f.at_risk is not None:
        cond = and_(DebtSubrequest.status.in_(OPEN), at_risk)
        stmt = stmt.where(cond if f.at_risk else ~cond)
    return stmt


def deadline_conditions(day: date, rules: CalendarRules) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    """SQL conditions (overdue, at risk) on a subrequest's deadline; combine them with an OPEN status."""
    # At risk: at most one working day left, i.e. the deadline is today or the next working day (§2).
    limit = add_working_days(day, 1, rules)
    overdue = DebtSubrequest.response_date < day
    at_risk = and_(DebtSubrequest.response_date >= day, DebtSubrequest.response_date <= limit)
    return overdue, at_risk


async def list_requests(
    *,
    session: AsyncSession,
    principal: Principal,
    filters: DebtRequestFilter,
    rules: CalendarRules,
    cursor: str | None = None,
    limit: int = 100,
) -> tuple[list[DebtSubrequest], str | None]:
    """Return one page of requests ordered by deadline, and the cursor of the next page (None: last)."""
    stmt = filtered(principal, filters, rules=rules)
    if cursor:
        day, ident = decode_cursor(cursor)
        stmt = stmt.where(
            or_(
                DebtSubrequest.response_date > day,
                and_(DebtSubrequest.response_date == day, DebtSubrequest.id > ident),
            )
        )
    stmt = stmt.order_by(DebtSubrequest.response_date, DebtSubrequest.id).limit(limit + 1)
    rows: list[DebtSubrequest] = list((await session.scalars(stmt)).all())
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, encode_cursor(rows[-1]) if more and rows else None


async def matching_requests(
    *,
    session: AsyncSession,
    principal: Principal,
    filters: DebtRequestFilter,
    rules: CalendarRules,
    limit: int,
) -> list[RequestState]:
    """Return the workflow state of up to `limit` requests matching a filter (for mass actions).

    One SELECT of the four columns a mass action checks, no ORM object per request.
    """
    stmt = (
        filtered(principal, filters, rules=rules)
        .with_only_columns(*REQUEST_STATE_COLUMNS)
        .order_by(DebtSubrequest.id)
        .limit(limit)
    )
    return [RequestState(*row) for row in await session.execute(stmt)]


@dataclass(frozen=True)
class DebtRequestDetail:
    """A request with its answer, documents and history."""

    request: DebtSubrequest
    answer: DebtAnswer | None
    documents: Sequence[DebtDocument]
    history: Sequence[DebtRequestHistory]


async def get_detail(
    *, session: AsyncSession, principal: Principal, subrequest_id: uuid.UUID
) -> DebtRequestDetail:
    """Load one request with everything shown on its page."""
    sub = await get_subrequest_or_raise(principal, subrequest_id, session=session)
    answer = await session.scalar(select(DebtAnswer).where(DebtAnswer.subrequest_id == sub.id))
    documents = (
        await session.scalars(
            select(DebtDocument).where(DebtDocument.subrequest_id == sub.id).order_by(DebtDocument.created_at)
        )
    ).all()
    history = (
        await session.scalars(
            select(DebtRequestHistory)
            .where(DebtRequestHistory.subrequest_id == sub.id)
            .order_by(DebtRequestHistory.id)
        )
    ).all()
    return DebtRequestDetail(request=sub, answer=answer, documents=documents, history=history)


async def refresh_gauges(session: AsyncSession) -> None:
    """Set the debt-request gauges (counts by status, deadlines at risk and overdue) from the database."""
    day = moscow_today()
    DEBT_REQUESTS.clear()
    DEADLINES_AT_RISK.clear()
    DEADLINES_OVERDUE.clear()
    rows = (
        await session.execute(
            select(DebtSubrequest.organisation_id, DebtSubrequest.status, func.count()).group_by(
                DebtSubrequest.organisation_id, DebtSubrequest.status
            )
        )
    ).all()
    for org_id, status, count in rows:
        DEBT_REQUESTS.labels(str(org_id), status).set(count)
        # Every organisation with requests gets both deadline series, zero included (alerts need a value).
        DEADLINES_OVERDUE.labels(str(org_id)).set(0)
        DEADLINES_AT_RISK.labels(str(org_id)).set(0)
    is_overdue, is_at_risk = deadline_conditions(day, CalendarRules())
    overdue = case((is_overdue, 1), else_=0)
    at_risk = case((is_at_risk, 1), else_=0)
    open_rows = (
        await session.execute(
            select(DebtSubrequest.organisation_id, func.sum(overdue), func.sum(at_risk))
            .where(DebtSubrequest.status.in_(OPEN))
            .group_by(DebtSubrequest.organisation_id)
        )
    ).all()
    for org_id, n_overdue, n_at_risk in open_rows:
        DEADLINES_OVERDUE.labels(str(org_id)).set(int(n_overdue or 0))
        DEADLINES_AT_RISK.labels(str(org_id)).set(int(n_at_risk or 0))
