"""Repayment agreements: creation with its schedule, matching ledger payments, breach and completion, lists.

Payments come from the ledger, which books every payment to a billing month and carries no payment dates: what
has been paid on the covered months since signing (their paid total now minus at signing) repays the
agreement, and fills the instalments in order. Matching runs on a schedule
(`agreements.refresh_interval_seconds`) and on demand after an import (`POST /api/v1/agreements/refresh`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Literal

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models.accounts import Account, AccountLedger
from app.db.models.agreements import (
    ACTIVE,
    BREACHED,
    COMPLETED,
    Agreement,
    AgreementInstalment,
)
from app.domain.accounts.ledger import LedgerRecord, decode_months, kopecks
from app.domain.agreements.document import agreement_pdf
from app.domain.agreements.schedule import equal_amounts, instalment_dates, is_breached, match_payments
from app.domain.kernel import audit, errors
from app.domain.kernel.access import SYSTEM, Principal, require_organisation

PenaltyMode = Literal["included", "frozen", "forgiven"]
AgreementView = Literal["active", "breached_this_month", "completed", "all"]


@dataclass(frozen=True)
class ScheduleInput:
    """The schedule asked for: months, the first payment date, the day of month, equal or custom amounts."""

    months: int
    first_date: date
    day_of_month: int | None = None
    amounts: Sequence[Decimal] | None = None


@dataclass(frozen=True)
class AgreementInput:
    """A new agreement for one account."""

    organisation_id: uuid.UUID
    account_id: uuid.UUID
    schedule: ScheduleInput
    penalty_mode: PenaltyMode = "included"
    penalties: Decimal = Decimal("0")
    covered_through: date | None = None
    signed_on: date | None = None
    number: str | None = None
    note: str | None = None


def _money(kop: int) -> Decimal:
    return (Decimal(kop) / 100).quantize(Decimal("0.01"))


def _kop(value: Decimal) -> int:
    return int((value * 100).to_integral_value())


def _problem(path: str, rule: str, message: str) -> errors.RuleViolation:
    return errors.RuleViolation(message, rule=rule, errors=[errors.FieldProblem(path, rule, message)])


def _covered(months: Sequence[LedgerRecord], through: date) -> tuple[int, int]:
    """Return (outstanding principal, paid) of the months up to `through`, in kopecks."""
    owed = paid = 0
    for m in months:
        if m.period <= through:
            p = kopecks(m.paid)
            owed += max(kopecks(m.charged) - p, 0)
            paid += p
    return owed, paid


async def _ledger(session: AsyncSession, account_id: uuid.UUID) -> list[LedgerRecord]:
    text = await session.scalar(select(AccountLedger.months).where(AccountLedger.account_id == account_id))
    return decode_months(text) if text else []


async def create_agreement(
    *, session: AsyncSession, principal: Principal, data: AgreementInput, today: date
) -> Agreement:
    """Create an agreement covering the account's debt up to a billing month, with its instalments."""
    await require_organisation(session=session, principal=principal, organisation_id=data.organisation_id)
    account = await session.get(Account, data.account_id)
    if account is None or account.organisation_id != data.organisation_id:
        raise errors.NotFoundError(
            f"Account {data.account_id} not found.",
            rule="account_exists",
            errors=[errors.FieldProblem("body.account_id", "account_exists", "unknown account")],
        )
    signed_on = data.signed_on or today
    sched = data.schedule
    if sched.first_date < today:
        raise _problem(
            "body.schedule.first_date",
            "date_in_past",
            f"The first payment date {sched.first_date} is in the past.",
        )
    if signed_on > sched.first_date:
        raise _problem(
            "body.signed_on",
            "signed_after_first_payment",
            "The agreement is signed after its first payment date.",
        )
    overlapping = await session.scalar(
        select(Agreement.id).where(Agreement.account_id == data.account_id, Agreement.status == ACTIVE)
    )
    if overlapping is not None:
        raise _problem(
            "body.account_id",
            "overlapping_agreement",
            f"The account already has an active agreement ({overlapping}); complete or cancel it first.",
        )
    months = await _ledger(session, data.account_id)
    through = data.covered_through
    if through is None:
        overdue = [m.period for m in months if m.due_date < signed_on]
        through = max(overdue) if overdue else None
    if through is None:
        raise _problem("body.covered_through", "no_debt", "The account has no overdue month to cover.")
    through = through.replace(day=1)
    owed, paid = _covered(months, through)
    if owed <= 0:
        raise _problem("body.covered_through", "no_debt", f"The account owes nothing up to {through:%Y-%m}.")
    penalties = _kop(data.penalties)
    if penalties < 0:
        raise _problem("body.penalties", "negative", "Penalties cannot be negative.")
    total = owed + (penalties if data.penalty_mode == "included" else 0)
    if sched.amounts is None:
        if sched.months > total:
            raise _problem(
                "body.schedule.months", "too_many_months", "More instalments than kopecks of debt."
            )
        amounts = equal_amounts(total, sched.months)
    else:
        if len(sched.amounts) != sched.months:
            raise _problem(
                "body.schedule.amounts",
                "schedule_length",
                f"{len(sched.amounts)} amount(s) given for {sched.months} month(s).",
            )
        amounts = [_kop(a) for a in sched.amounts]
        if any(a <= 0 for a in amounts):
            raise _problem("body.schedule.amounts", "positive", "Every instalment must be above zero.")
        if sum(amounts) != total:
            raise _problem(
                "body.schedule.amounts",
                "schedule_sum",
                f"The instalments sum to {_money(sum(amounts))} ₽, the debt covered is {_money(total)} ₽.",
            )
    dates = instalment_dates(sched.first_date, sched.months, sched.day_of_month or sched.first_date.day)
    agreement = Agreement(
        id=uuid.uuid4(),
        organisation_id=data.organisation_id,
        account_id=data.account_id,
        number=data.number,
        status=ACTIVE,
        signed_on=signed_on,
        covered_through=through,
        principal=_money(owed),
        penalties=_money(penalties),
        penalty_mode=data.penalty_mode,
        total=_money(total),
        baseline_paid=_money(paid),
        paid=Decimal("0.00"),
        note=data.note,
    )
    session.add(agreement)
    await session.flush()
    session.add_all(
        AgreementInstalment(agreement_id=agreement.id, number=i + 1, due_on=d, amount=_money(a), paid=0)
        for i, (d, a) in enumerate(zip(dates, amounts, strict=True))
    )
    await session.flush()
    await audit.record(
        session=session,
        principal=principal,
        action="agreement.create",
        resource_type="agreement",
        resource_id=agreement.id,
        organisation_id=data.organisation_id,
        details={"total": str(agreement.total), "months": sched.months, "penalty_mode": data.penalty_mode},
    )
    return agreement


async def instalments_of(*, session: AsyncSession, agreement_id: uuid.UUID) -> list[AgreementInstalment]:
    """Return an agreement's instalments in order."""
    stmt = (
        select(AgreementInstalment)
        .where(AgreementInstalment.agreement_id == agreement_id)
        .order_by(AgreementInstalment.number)
    )
    return list((await session.scalars(stmt)).all())


async def get_agreement(*, session: AsyncSession, principal: Principal, agreement_id: uuid.UUID) -> Agreement:
    """Load an agreement the caller may see (404 otherwise)."""
    agreement = await session.get(Agreement, agreement_id)
    if agreement is None or not principal.may_access(agreement.organisation_id):
        raise errors.NotFoundError(f"Agreement {agreement_id} not found.", rule="agreement_exists")
    return agreement


async def match_agreement(
    *, session: AsyncSession, agreement: Agreement, today: date, breach_days: int
) -> str:
    """Match the ledger's payments to an active agreement's instalments; breach or complete it."""
    if agreement.status != ACTIVE:
        return agreement.status
    instalments = await instalments_of(session=session, agreement_id=agreement.id)
    _, paid_now = _covered(await _ledger(session, agreement.account_id), agreement.covered_through)
    repaid = max(paid_now - _kop(agreement.baseline_paid), 0)
    covered = match_payments([_kop(i.amount) for i in instalments], repaid)
    for inst, take in zip(instalments, covered, strict=True):
        inst.paid = _money(take)
        full = take >= _kop(inst.amount)
        inst.paid_on = (inst.paid_on or today) if full else None
    agreement.paid = _money(min(repaid, _kop(agreement.total)))
    schedule = [(i.due_on, _kop(i.amount), take) for i, take in zip(instalments, covered, strict=True)]
    if all(paid >= amount for _, amount, paid in schedule):
        agreement.status, agreement.completed_on = COMPLETED, today
        action = "agreement.complete"
    elif is_breached(schedule, today=today, breach_days=breach_days):
        agreement.status, agreement.breached_on = BREACHED, today
        action = "agreement.breach"
    else:
        return ACTIVE
    await audit.record(
        session=session,
        principal=SYSTEM,
        action=action,
        resource_type="agreement",
        resource_id=agreement.id,
        organisation_id=agreement.organisation_id,
        details={"paid": str(agreement.paid), "total": str(agreement.total)},
    )
    return agreement.status


async def refresh_agreements(
    *, session: AsyncSession, today: date, breach_days: int, organisation_id: uuid.UUID | None = None
) -> dict[str, int]:
    """Match payments of every active agreement (of one organisation or all); return counts by status."""
    stmt = select(Agreement).where(Agreement.status == ACTIVE).order_by(Agreement.id)
    if organisation_id is not None:
        stmt = stmt.where(Agreement.organisation_id == organisation_id)
    counts = {ACTIVE: 0, BREACHED: 0, COMPLETED: 0}
    for agreement in (await session.scalars(stmt)).all():
        status = await match_agreement(
            session=session, agreement=agreement, today=today, breach_days=breach_days
        )
        counts[status] += 1
    await session.flush()
    return counts


async def kept_agreement_accounts(*, session: AsyncSession, organisation_id: uuid.UUID) -> set[uuid.UUID]:
    """Return the organisation's accounts under an active, kept agreement (court and restriction skip them).

    Kept means not found breached by the last matching (`refresh_agreements`, on schedule and on demand).
    """
    stmt = select(Agreement.account_id).where(
        Agreement.organisation_id == organisation_id, Agreement.status == ACTIVE
    )
    return set((await session.scalars(stmt)).all())


async def list_agreements(
    *,
    session: AsyncSession,
    principal: Principal,
    organisation_id: uuid.UUID,
    view: AgreementView,
    today: date,
    limit: int = 100,
    offset: int = 0,
) -> list[Agreement]:
    """List an organisation's agreements: active, breached this month, completed, or all; newest first."""
    await require_organisation(session=session, principal=principal, organisation_id=organisation_id)
    stmt = select(Agreement).where(Agreement.organisation_id == organisation_id)
    if view == "active":
        stmt = stmt.where(Agreement.status == ACTIVE)
    elif view == "breached_this_month":
        stmt = stmt.where(Agreement.status == BREACHED, Agreement.breached_on >= today.replace(day=1))
    elif view == "completed":
        stmt = stmt.where(Agreement.status == COMPLETED)
    stmt = stmt.order_by(Agreement.signed_on.desc(), Agreement.id).limit(limit).offset(offset)
    return list((await session.scalars(stmt)).all())


async def agreement_document(
    *, session: AsyncSession, principal: Principal, agreement_id: uuid.UUID
) -> bytes:
    """Return the agreement as PDF (the payer's name only with the `pii` scope)."""
    agreement = await get_agreement(session=session, principal=principal, agreement_id=agreement_id)
    account = await session.get(Account, agreement.account_id)
    if account is None:
        raise errors.NotFoundError(f"Account {agreement.account_id} not found.", rule="account_exists")
    rows = await instalments_of(session=session, agreement_id=agreement.id)
    return agreement_pdf(agreement, rows, account, pii=principal.can_see_pii)


@dataclass(frozen=True)
class AgreementCounts:
    """An organisation's agreements for the dashboard: active, breached this month, completed."""

    active: int = 0
    breached_this_month: int = 0
    completed: int = 0


async def count_agreements(
    *, session: AsyncSession, organisation_ids: Sequence[uuid.UUID], today: date
) -> dict[uuid.UUID, AgreementCounts]:
    """Count the organisations' agreements as the lists show them (one grouped query)."""
    if not organisation_ids:
        return {}
    month = today.replace(day=1)
    this_month = case((Agreement.breached_on >= month, 1), else_=0)
    stmt = (
        select(Agreement.organisation_id, Agreement.status, func.count(), func.sum(this_month))
        .where(Agreement.organisation_id.in_(list(organisation_ids)))
        .group_by(Agreement.organisation_id, Agreement.status)
    )
    raw: dict[uuid.UUID, dict[str, int]] = {}
    for org, status, n, breached_now in (await session.execute(stmt)).all():
        counts = raw.setdefault(org, {})
        counts[status] = int(n)
        if status == BREACHED:
            counts["breached_this_month"] = int(breached_now or 0)
    return {
        org: AgreementCounts(
            active=c.get(ACTIVE, 0),
            breached_this_month=c.get("breached_this_month", 0),
            completed=c.get(COMPLETED, 0),
        )
        for org, c in raw.items()
    }
