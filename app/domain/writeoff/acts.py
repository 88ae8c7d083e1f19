"""Write-off acts: draft → approved → posted, cancellable while a draft; impossibilities of collection.

An act is drafted over candidates (`writeoff.selection`): all of them, those of some accounts, or months named
one by one; every step is journaled with who and why.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.base import utcnow
from app.db.models.accounts import Account
from app.db.models.core import Operation
from app.db.models.writeoff import (
    ACT_APPROVED,
    ACT_CANCELLED,
    ACT_DRAFT,
    ACT_POSTED,
    AMNESTY,
    IMPOSSIBILITY_GROUNDS,
    CollectionImpossibility,
    WriteOffAct,
    WriteOffLine,
)
from app.domain.kernel import audit, errors
from app.domain.kernel import operations as ops
from app.domain.kernel.access import Principal, require_organisation
from app.domain.kernel.calendar import moscow_today
from app.domain.writeoff.selection import (
    SELECTION_JOB,
    Candidate,
    Pricer,
    find_candidates,
    written_off_months,
)

_INSERT_CHUNK = 5000


def _money(kop: int) -> Decimal:
    return (Decimal(kop) / 100).quantize(Decimal("0.01"))


@dataclass(frozen=True)
class MonthRef:
    """One (account, billing month) asked to be written off."""

    account_id: uuid.UUID
    period: date


async def create_act(
    *,
    session: AsyncSession,
    principal: Principal,
    organisation_id: uuid.UUID,
    on_date: date,
    pricer: Pricer,
    reason: str | None = None,
    account_ids: Sequence[uuid.UUID] | None = None,
    months: Sequence[MonthRef] | None = None,
) -> WriteOffAct:
    """Draft an act over the candidates (all of them, of some accounts, or the months listed)."""
    await require_organisation(session=session, principal=principal, organisation_id=organisation_id)
    _not_in_future(on_date)
    if months is not None:
        seen: dict[tuple[uuid.UUID, date], int] = {}
        twice = []
        for i, m in enumerate(months):
            key = (m.account_id, m.period.replace(day=1))
            if key in seen:
                twice.append(
                    errors.FieldProblem(
                        f"body.months.{i}", "duplicate_month", f"same as body.months.{seen[key]}"
                    )
                )
            seen.setdefault(key, i)
        if twice:
            raise errors.RuleViolation("A month is listed twice.", rule="duplicate_month", errors=twice)
        account_ids = sorted({m.account_id for m in months}, key=str)
    found = await find_candidates(
        session=session,
        organisation_id=organisation_id,
        on_date=on_date,
        pricer=pricer,
        account_ids=account_ids,
    )
    if months is not None:
        by_key = {(c.account_id, c.period): c for c in found}
        taken = await written_off_months(
            session=session, organisation_id=organisation_id, include_pending=True
        )
        problems = []
        for i, m in enumerate(months):
            key = (m.account_id, m.period.replace(day=1))
            if key in taken:
                problems.append(
                    errors.FieldProblem(
                        f"body.months.{i}", "already_written_off", "the month is in another act"
                    )
                )
            elif key not in by_key:
                problems.append(
                    errors.FieldProblem(
                        f"body.months.{i}", "not_a_candidate", "no ground to write the month off"
                    )
                )
        if problems:
            raise errors.RuleViolation(
                "Some months cannot be written off.", rule=problems[0].rule, errors=problems
            )
        found = [by_key[(m.account_id, m.period.replace(day=1))] for m in months]
    if not found:
        raise errors.RuleViolation(
            "No month is past limitation or has a recorded impossibility of collection.",
            rule="no_candidates",
            errors=[errors.FieldProblem("body", "no_candidates", "no write-off candidates")],
        )
    return await draft_act(
        session=session,
        principal=principal,
        organisation_id=organisation_id,
        on_date=on_date,
        reason=reason,
        candidates=found,
    )


async def request_selection(
    *,
    session: AsyncSession,
    principal: Principal,
    organisation_id: uuid.UUID,
    on_date: date,
    draft: bool = False,
    reason: str | None = None,
) -> Operation:
    """Queue candidate selection over the whole organisation as an operation (optionally drafting an act)."""
    await require_organisation(session=session, principal=principal, organisation_id=organisation_id)
    _not_in_future(on_date)
    op = await ops.create(
        session=session,
        principal=principal,
        kind=SELECTION_JOB,
        organisation_id=organisation_id,
        params={
            "on_date": on_date.isoformat(),
            "draft": draft,
            "reason": reason,
            "requested_by": principal.name,
        },
    )
    await audit.record(
        session=session,
        principal=principal,
        action="write_off.select",
        resource_type="organisation",
        resource_id=organisation_id,
        organisation_id=organisation_id,
        details={"operation_id": str(op.id), "on_date": on_date.isoformat(), "draft": draft},
    )
    return op


def _not_in_future(on_date: date) -> None:
    if on_date > moscow_today():
        raise errors.RuleViolation(
            "An act cannot be dated in the future: limitation is judged on its date.",
            rule="date_in_future",
            errors=[errors.FieldProblem("body.on_date", "date_in_future", "the date is after today")],
        )


async def draft_act(
    *,
    session: AsyncSession,
    principal: Principal,
    organisation_id: uuid.UUID,
    on_date: date,
    reason: str | None,
    candidates: Sequence[Candidate],
) -> WriteOffAct:
    """Write a draft act over candidates already selected (lines inserted in bulk) and journal it."""
    act = WriteOffAct(
        id=uuid.uuid4(),
        organisation_id=organisation_id,
        status=ACT_DRAFT,
        on_date=on_date,
        reason=reason,
        principal=_money(sum(c.principal for c in candidates)),
        penalties=_money(sum(c.penalties for c in candidates)),
        duty=_money(sum(c.duty for c in candidates)),
        created_by=principal.actor,
    )
    session.add(act)
    await session.flush()
    for start in range(0, len(candidates), _INSERT_CHUNK):
        await session.execute(
            insert(WriteOffLine),
            [
                {
                    "id": uuid.uuid4(),
                    "act_id": act.id,
                    "account_id": c.account_id,
                    "period": c.period,
                    "due_date": c.due_date,
                    "ground": c.ground,
                    "principal": _money(c.principal),
                    "penalties": _money(c.penalties),
                    "duty": _money(c.duty),
                }
                for c in candidates[start : start + _INSERT_CHUNK]
            ],
        )
    await _journal(session, principal, act, "write_off.draft", reason, lines=len(candidates))
    return act


async def _journal(
    session: AsyncSession,
    principal: Principal,
    act: WriteOffAct,
    action: str,
    reason: str | None,
    **more: int,
) -> None:
    await audit.record(
        session=session,
        principal=principal,
        action=action,
        resource_type="write_off_act",
        resource_id=act.id,
        organisation_id=act.organisation_id,
        details={"reason": reason, "principal": str(act.principal), "penalties": str(act.penalties),
                 "duty": str(act.duty), **more},
    )  # fmt: skip


async def get_act(*, session: AsyncSession, principal: Principal, act_id: uuid.UUID) -> WriteOffAct:
    """Load an act the caller may see (404 otherwise)."""
    act = await session.get(WriteOffAct, act_id)
    if act is None or not principal.may_access(act.organisation_id):
        raise errors.NotFoundError(f"Write-off act {act_id} not found.", rule="act_exists")
    return act


_STEPS = {
    "approve": (ACT_DRAFT, ACT_APPROVED),
    "post": (ACT_APPROVED, ACT_POSTED),
    "cancel": (ACT_DRAFT, ACT_CANCELLED),
}


async def advance_act(
    *, session: AsyncSession, principal: Principal, act_id: uuid.UUID, step: str, reason: str | None = None
) -> WriteOffAct:
    """Approve a draft, post an approved act, or cancel a draft (an approved act is no longer reversible)."""
    act = await get_act(session=session, principal=principal, act_id=act_id)
    before, after = _STEPS[step]
    if act.status != before:
        raise errors.ConflictError(
            f"A {act.status} act cannot be {step}d; only a {before} one can.", rule=f"act_{step}"
        )
    act.status = after
    now = utcnow()
    if step == "approve":
        act.approved_by, act.approved_at = principal.actor, now
    elif step == "post":
        act.posted_by, act.posted_at = principal.actor, now
    else:
        act.cancelled_by = principal.actor
    await session.flush()
    await _journal(session, principal, act, f"write_off.{step}", reason)
    return act


#: Runs in the posting's transaction once an act is posted: updates what else records the written-off debt
#: (the court area's GIS registry of court-confirmed debts) and returns the ids of the operations it queued.
#: Handed in by the caller, as the pricer is: the court area reads write-off, so write-off cannot import it.
PostedHook = Callable[[AsyncSession, Principal, WriteOffAct], Awaitable[list[uuid.UUID]]]


async def post_act(
    *,
    session: AsyncSession,
    principal: Principal,
    act_id: uuid.UUID,
    reason: str | None = None,
    on_posted: PostedHook | None = None,
) -> tuple[WriteOffAct, list[uuid.UUID]]:
    """Post an approved act and run the posting hook; return the act and the operations the hook queued."""
    act = await advance_act(session=session, principal=principal, act_id=act_id, step="post", reason=reason)
    queued = await on_posted(session, principal, act) if on_posted is not None else []
    if queued:
        await _journal(session, principal, act, "write_off.registry", reason, operations=len(queued))
    return act, queued


async def act_lines(*, session: AsyncSession, act_id: uuid.UUID) -> list[WriteOffLine]:
    """Return an act's lines by account and month."""
    stmt = (
        select(WriteOffLine)
        .where(WriteOffLine.act_id == act_id)
        .order_by(WriteOffLine.account_id, WriteOffLine.period)
    )
    return list((await session.scalars(stmt)).all())


async def list_acts(
    *,
    session: AsyncSession,
    principal: Principal,
    organisation_id: uuid.UUID,
    limit: int = 100,
    offset: int = 0,
) -> list[WriteOffAct]:
    """List an organisation's acts, newest first."""
    await require_organisation(session=session, principal=principal, organisation_id=organisation_id)
    stmt = (
        select(WriteOffAct)
        .where(WriteOffAct.organisation_id == organisation_id)
        .order_by(WriteOffAct.created_at.desc(), WriteOffAct.id)
        .limit(limit)
        .offset(offset)
    )
    return list((await session.scalars(stmt)).all())


async def record_impossibility(
    *,
    session: AsyncSession,
    principal: Principal,
    organisation_id: uuid.UUID,
    account_id: uuid.UUID,
    ground: str,
    act_date: date,
    document: str | None = None,
) -> CollectionImpossibility:
    """Record that an account's debt cannot be collected (bailiff's act, completed bankruptcy)."""
    await require_organisation(session=session, principal=principal, organisation_id=organisation_id)
    if ground not in IMPOSSIBILITY_GROUNDS:
        raise errors.RuleViolation(
            f"Unknown ground {ground!r}.",
            rule="enum",
            errors=[errors.FieldProblem("body.ground", "enum", ", ".join(IMPOSSIBILITY_GROUNDS))],
        )
    account = await session.get(Account, account_id)
    if account is None or account.organisation_id != organisation_id:
        raise errors.NotFoundError(
            f"Account {account_id} not found.",
            rule="account_exists",
            errors=[errors.FieldProblem("body.account_id", "account_exists", "unknown account")],
        )
    row = CollectionImpossibility(
        organisation_id=organisation_id,
        account_id=account_id,
        ground=ground,
        act_date=act_date,
        document=document,
    )
    session.add(row)
    await session.flush()
    await audit.record(
        session=session,
        principal=principal,
        action="write_off.impossibility",
        resource_type="account",
        resource_id=account_id,
        organisation_id=organisation_id,
        details={"ground": ground, "act_date": act_date.isoformat()},
    )
    return row


@dataclass(frozen=True)
class ActTotals:
    """Acts of one status: how many and their sums."""

    acts: int = 0
    principal: Decimal = Decimal("0.00")
    penalties: Decimal = Decimal("0.00")
    duty: Decimal = Decimal("0.00")


async def act_totals(
    *, session: AsyncSession, organisation_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, dict[str, ActTotals]]:
    """Return per organisation the draft, approved and posted acts with their sums (amnesty acts included)."""
    if not organisation_ids:
        return {}
    stmt = (
        select(
            WriteOffAct.organisation_id,
            WriteOffAct.status,
            func.count(),
            func.sum(WriteOffAct.principal),
            func.sum(WriteOffAct.penalties),
            func.sum(WriteOffAct.duty),
        )
        .where(
            WriteOffAct.organisation_id.in_(list(organisation_ids)),
            WriteOffAct.status.in_([ACT_DRAFT, ACT_APPROVED, ACT_POSTED]),
        )
        .group_by(WriteOffAct.organisation_id, WriteOffAct.status)
    )
    out: dict[uuid.UUID, dict[str, ActTotals]] = {}
    cent = Decimal("0.01")
    for org, status, n, principal, penalties, duty in (await session.execute(stmt)).all():
        out.setdefault(org, {})[status] = ActTotals(
            int(n),
            Decimal(principal or 0).quantize(cent),
            Decimal(penalties or 0).quantize(cent),
            Decimal(duty or 0).quantize(cent),
        )
    return out


async def count_acts(*, session: AsyncSession, organisation_id: uuid.UUID) -> int:
    """Return how many acts the organisation has (any status)."""
    stmt = select(func.count()).select_from(WriteOffAct).where(WriteOffAct.organisation_id == organisation_id)
    return int(await session.scalar(stmt) or 0)


@dataclass(frozen=True, slots=True)
class ForgivenPenalty:
    """Penalties of one paid month forgiven by an amnesty (kopecks)."""

    account_id: uuid.UUID
    period: date
    due_date: date
    penalties: int


async def post_forgiven_penalties(
    *,
    session: AsyncSession,
    principal: Principal,
    organisation_id: uuid.UUID,
    on_date: date,
    lines: Sequence[ForgivenPenalty],
    reason: str,
) -> WriteOffAct:
    """Write off forgiven penalties by an act approved and posted at once (the campaign was the approval)."""
    now = utcnow()
    act = WriteOffAct(
        id=uuid.uuid4(),
        organisation_id=organisation_id,
        status=ACT_POSTED,
        on_date=on_date,
        reason=reason,
        principal=_money(0),
        penalties=_money(sum(x.penalties for x in lines)),
        duty=_money(0),
        created_by=principal.actor,
        approved_by=principal.actor,
        approved_at=now,
        posted_by=principal.actor,
        posted_at=now,
    )
    session.add(act)
    await session.flush()
    session.add_all(
        WriteOffLine(
            act_id=act.id,
            account_id=x.account_id,
            period=x.period,
            due_date=x.due_date,
            ground=AMNESTY,
            principal=_money(0),
            penalties=_money(x.penalties),
            duty=_money(0),
        )
        for x in lines
    )
    await session.flush()
    await _journal(session, principal, act, "write_off.amnesty", reason, lines=len(lines))
    return act
