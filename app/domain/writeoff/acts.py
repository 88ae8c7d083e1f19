"""Write-off candidates from the ledger, and acts: draft → approved → posted, cancellable while a draft.

A candidate is one billing month of one account with principal outstanding and a ground: its limitation has
expired (with the suspensions and restarts of `writeoff.rules`), or the account has a recorded impossibility
of collection dated after the month's due date. Each is split into principal, penalties (priced through the
run date by the caller's pricer, ЖК РФ ст. 155 ч. 14; they expire with the principal, ГК РФ ст. 207) and
state duty (the duty of a cancelled court case that claimed the month, shared equally among its months).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.base import utcnow
from app.db.models.accounts import Account, AccountLedger
from app.db.models.agreements import Agreement
from app.db.models.court import CourtCase
from app.db.models.writeoff import (
    ACT_APPROVED,
    ACT_CANCELLED,
    ACT_DRAFT,
    ACT_POSTED,
    AMNESTY,
    IMPOSSIBILITY_GROUNDS,
    LIMITATION,
    CollectionImpossibility,
    WriteOffAct,
    WriteOffLine,
)
from app.domain.accounts.ledger import decode_months, kopecks
from app.domain.kernel import audit, errors
from app.domain.kernel.access import Principal, require_organisation
from app.domain.writeoff.rules import CANCELLED_STATUS, CaseSpan, case_month_keys, is_expired, share

#: Prices the penalty in kopecks on (outstanding kopecks, due date, billing month) through the run date.
Pricer = Callable[[int, date, date], int]
_CHUNK = 2000


@dataclass(frozen=True, slots=True)
class Candidate:
    """One billing month that may be written off, with its ground and split (kopecks)."""

    account_id: uuid.UUID
    period: date
    due_date: date
    ground: str
    principal: int
    penalties: int
    duty: int


def _money(kop: int) -> Decimal:
    return (Decimal(kop) / 100).quantize(Decimal("0.01"))


async def _case_spans(
    session: AsyncSession, organisation_id: uuid.UUID
) -> tuple[dict[tuple[uuid.UUID, date], list[CaseSpan]], dict[tuple[uuid.UUID, date], int]]:
    """Return the filed cases claiming each (account, month), and the duty share of cancelled cases."""
    stmt = select(
        CourtCase.account_ids,
        CourtCase.months,
        CourtCase.claim,
        CourtCase.status,
        CourtCase.submitted_on,
        CourtCase.cancelled_on,
        CourtCase.duty,
    ).where(CourtCase.organisation_id == organisation_id, CourtCase.status != "draft")
    spans: dict[tuple[uuid.UUID, date], list[CaseSpan]] = {}
    duty: dict[tuple[uuid.UUID, date], int] = {}
    for account_ids, months, claim, status, submitted, cancelled, case_duty in (
        await session.execute(stmt)
    ).all():
        keys = case_month_keys(account_ids, months, claim)
        span = CaseSpan(status, submitted, cancelled)
        for key in keys:
            spans.setdefault(key, []).append(span)
        if status == CANCELLED_STATUS and keys and case_duty:
            for key, part in zip(keys, share(int(case_duty * 100), len(keys)), strict=True):
                duty[key] = duty.get(key, 0) + part
    return spans, duty


async def written_off_months(
    *, session: AsyncSession, organisation_id: uuid.UUID, include_pending: bool = False
) -> set[tuple[uuid.UUID, date]]:
    """Return (account, month) written off by posted acts (`include_pending`: by drafts and approved too).

    Notices, court packages and answers leave these months out.
    """
    statuses = [ACT_POSTED, ACT_DRAFT, ACT_APPROVED] if include_pending else [ACT_POSTED]
    stmt = (
        select(WriteOffLine.account_id, WriteOffLine.period)
        .join(WriteOffAct, WriteOffAct.id == WriteOffLine.act_id)
        .where(WriteOffAct.organisation_id == organisation_id, WriteOffAct.status.in_(statuses))
        # Forgiven penalties leave the month's principal alone: it was paid, not written off.
        .where(WriteOffLine.ground != AMNESTY)
    )
    return {(a, p) for a, p in (await session.execute(stmt)).all()}


async def find_candidates(
    *,
    session: AsyncSession,
    organisation_id: uuid.UUID,
    on_date: date,
    pricer: Pricer,
    account_ids: Sequence[uuid.UUID] | None = None,
) -> list[Candidate]:
    """Return the organisation's write-off candidates on `on_date`, by account and month."""
    spans, duty = await _case_spans(session, organisation_id)
    taken = await written_off_months(session=session, organisation_id=organisation_id, include_pending=True)
    acks: dict[uuid.UUID, list[tuple[date, date]]] = {}
    for account, signed, through in (
        await session.execute(
            select(Agreement.account_id, Agreement.signed_on, Agreement.covered_through).where(
                Agreement.organisation_id == organisation_id
            )
        )
    ).all():
        acks.setdefault(account, []).append((signed, through))
    impossible: dict[uuid.UUID, tuple[str, date]] = {}
    for account, kind, act_date in (
        await session.execute(
            select(
                CollectionImpossibility.account_id,
                CollectionImpossibility.ground,
                CollectionImpossibility.act_date,
            )
            .where(CollectionImpossibility.organisation_id == organisation_id)
            .order_by(CollectionImpossibility.act_date)
        )
    ).all():
        impossible[account] = (kind, act_date)

    ids_stmt = select(Account.id).where(Account.organisation_id == organisation_id).order_by(Account.id)
    if account_ids is not None:
        ids_stmt = ids_stmt.where(Account.id.in_(list(account_ids)))
    ids = list((await session.scalars(ids_stmt)).all())
    out: list[Candidate] = []
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        rows = await session.execute(
            select(AccountLedger.account_id, AccountLedger.months).where(AccountLedger.account_id.in_(chunk))
        )
        for account, text in sorted(rows.all(), key=lambda r: str(r[0])):
            for m in decode_months(text):
                rest = kopecks(m.charged) - kopecks(m.paid)
                key = (account, m.period)
                if rest <= 0 or key in taken:
                    continue
                ground: str | None = None
                found = impossible.get(account)
                if found is not None and m.due_date < found[1]:
                    ground = found[0]
                else:
                    acked = [s for s, through in acks.get(account, ()) if m.period <= through]
                    if is_expired(
                        m.due_date,
                        on_date,
                        cases=spans.get(key, ()),
                        acknowledged_on=max(acked, default=None),
                    ):
                        ground = LIMITATION
                if ground is not None:
                    out.append(
                        Candidate(
                            account,
                            m.period,
                            m.due_date,
                            ground,
                            rest,
                            pricer(rest, m.due_date, m.period),
                            duty.get(key, 0),
                        )
                    )
    return out


# ------------------------------------------------------------------------------------------------- acts


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
    if months is not None:
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
    act = WriteOffAct(
        id=uuid.uuid4(),
        organisation_id=organisation_id,
        status=ACT_DRAFT,
        on_date=on_date,
        reason=reason,
        principal=_money(sum(c.principal for c in found)),
        penalties=_money(sum(c.penalties for c in found)),
        duty=_money(sum(c.duty for c in found)),
        created_by=principal.actor,
    )
    session.add(act)
    await session.flush()
    session.add_all(
        WriteOffLine(
            act_id=act.id,
            account_id=c.account_id,
            period=c.period,
            due_date=c.due_date,
            ground=c.ground,
            principal=_money(c.principal),
            penalties=_money(c.penalties),
            duty=_money(c.duty),
        )
        for c in found
    )
    await session.flush()
    await _journal(session, principal, act, "write_off.draft", reason, lines=len(found))
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
