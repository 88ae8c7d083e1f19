"""Penalty amnesty campaigns: selection, simulation, launch, forgiving penalties of those who paid, report.

Forgiving penalties is the creditor's right (ГК РФ ст. 415); the campaign's terms are a product rule
(domain-rules §13). The ledger keeps no penalties, so the penalties at stake are priced once, at launch, on
the principal then owed (the same pricer as court readiness); a debtor whose months owed at launch are all
paid by `pay_by` has exactly those penalties written off. The simulation runs the same selection and
pricing, so on the launch date it shows what the campaign will write off if every debtor pays.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models.accounts import Account, AccountLedger, AccountPremises, Premises
from app.db.models.amnesty import (
    CAMPAIGN_DRAFT,
    CAMPAIGN_FINISHED,
    CAMPAIGN_RUNNING,
    FORGIVEN,
    LAPSED,
    WAITING,
    AmnestyCampaign,
    AmnestyParticipant,
)
from app.domain.accounts.ledger import decode_months, kopecks
from app.domain.kernel import audit, errors
from app.domain.kernel.access import Principal, require_organisation
from app.domain.writeoff import ForgivenPenalty, Pricer, post_forgiven_penalties

_CHUNK = 2000


@dataclass(frozen=True)
class CampaignInput:
    """A new campaign: period, selection and condition."""

    organisation_id: uuid.UUID
    name: str
    starts_on: date
    ends_on: date
    pay_by: date
    house_ids: Sequence[uuid.UUID] | None = None
    payer_kind: str | None = None
    min_principal: Decimal = Decimal("0")


@dataclass(frozen=True, slots=True)
class Qualifier:
    """A debtor the campaign selects: principal owed, penalties at stake, and the months (kopecks)."""

    account_id: uuid.UUID
    principal: int
    penalties: int
    months: tuple[tuple[date, date, int], ...]


def _money(kop: int) -> Decimal:
    return (Decimal(kop) / 100).quantize(Decimal("0.01"))


def _problem(path: str, rule: str, message: str) -> errors.RuleViolation:
    return errors.RuleViolation(message, rule=rule, errors=[errors.FieldProblem(path, rule, message)])


async def create_campaign(
    *, session: AsyncSession, principal: Principal, data: CampaignInput, today: date
) -> AmnestyCampaign:
    """Create a draft campaign."""
    await require_organisation(session=session, principal=principal, organisation_id=data.organisation_id)
    if data.ends_on < data.starts_on:
        raise _problem("body.ends_on", "period", "The campaign ends before it starts.")
    if not data.starts_on <= data.pay_by <= data.ends_on:
        raise _problem("body.pay_by", "period", "The payment date must fall within the campaign.")
    if data.ends_on < today:
        raise _problem("body.ends_on", "date_in_past", "The campaign would be over already.")
    campaign = AmnestyCampaign(
        id=uuid.uuid4(),
        organisation_id=data.organisation_id,
        name=data.name,
        status=CAMPAIGN_DRAFT,
        starts_on=data.starts_on,
        ends_on=data.ends_on,
        pay_by=data.pay_by,
        house_ids=[str(h) for h in data.house_ids] if data.house_ids else None,
        payer_kind=data.payer_kind,
        min_principal=data.min_principal,
    )
    session.add(campaign)
    await session.flush()
    await audit.record(
        session=session,
        principal=principal,
        action="amnesty.create",
        resource_type="amnesty_campaign",
        resource_id=campaign.id,
        organisation_id=data.organisation_id,
    )
    return campaign


async def get_campaign(
    *, session: AsyncSession, principal: Principal, campaign_id: uuid.UUID
) -> AmnestyCampaign:
    """Load a campaign the caller may see (404 otherwise)."""
    campaign = await session.get(AmnestyCampaign, campaign_id)
    if campaign is None or not principal.may_access(campaign.organisation_id):
        raise errors.NotFoundError(f"Amnesty campaign {campaign_id} not found.", rule="campaign_exists")
    return campaign


async def select_debtors(
    *, session: AsyncSession, campaign: AmnestyCampaign, on_date: date, pricer: Pricer
) -> list[Qualifier]:
    """Return who the campaign selects on `on_date`, with the principal owed and the penalties at stake."""
    stmt = select(Account.id).where(
        Account.organisation_id == campaign.organisation_id, Account.closed.is_(False)
    )
    if campaign.payer_kind:
        stmt = stmt.where(Account.payer_kind == campaign.payer_kind)
    if campaign.house_ids:
        houses = [uuid.UUID(h) for h in campaign.house_ids]
        stmt = stmt.where(
            Account.id.in_(
                select(AccountPremises.account_id)
                .join(Premises, Premises.id == AccountPremises.premises_id)
                .where(Premises.house_id.in_(houses))
            )
        )
    ids = list((await session.scalars(stmt.order_by(Account.id))).all())
    floor = int(campaign.min_principal * 100)
    out: list[Qualifier] = []
    for start in range(0, len(ids), _CHUNK):
        rows = await session.execute(
            select(AccountLedger.account_id, AccountLedger.months).where(
                AccountLedger.account_id.in_(ids[start : start + _CHUNK])
            )
        )
        for account, text in sorted(rows.all(), key=lambda r: str(r[0])):
            months = []
            for m in decode_months(text):
                rest = kopecks(m.charged) - kopecks(m.paid)
                if rest > 0 and m.due_date < on_date:
                    months.append((m.period, m.due_date, pricer(rest, m.due_date, m.period), rest))
            principal = sum(x[3] for x in months)
            penalties = sum(x[2] for x in months)
            if principal > 0 and principal >= floor and penalties > 0:
                out.append(
                    Qualifier(account, principal, penalties, tuple((p, d, f) for p, d, f, _ in months))
                )
    return out


@dataclass(frozen=True)
class Simulation:
    """What the campaign would do: debtors, penalties forgiven and principal collected if all of them pay."""

    on_date: date
    debtors: int
    penalties: Decimal
    principal: Decimal


async def simulate(
    *, session: AsyncSession, principal: Principal, campaign_id: uuid.UUID, on_date: date, pricer: Pricer
) -> Simulation:
    """Simulate a campaign on a date: who qualifies, the penalties forgiven, the principal expected."""
    campaign = await get_campaign(session=session, principal=principal, campaign_id=campaign_id)
    found = await select_debtors(session=session, campaign=campaign, on_date=on_date, pricer=pricer)
    return Simulation(
        on_date,
        len(found),
        _money(sum(q.penalties for q in found)),
        _money(sum(q.principal for q in found)),
    )


async def launch(
    *, session: AsyncSession, principal: Principal, campaign_id: uuid.UUID, on_date: date, pricer: Pricer
) -> AmnestyCampaign:
    """Launch a draft campaign: fix its participants with their principal and penalties as simulated today."""
    campaign = await get_campaign(session=session, principal=principal, campaign_id=campaign_id)
    if campaign.status != CAMPAIGN_DRAFT:
        raise errors.ConflictError(f"The campaign is {campaign.status}, not a draft.", rule="campaign_launch")
    if not campaign.starts_on <= on_date <= campaign.pay_by:
        raise _problem("on_date", "period", "A campaign is launched between its start and its payment date.")
    found = await select_debtors(session=session, campaign=campaign, on_date=on_date, pricer=pricer)
    session.add_all(
        AmnestyParticipant(
            campaign_id=campaign.id,
            account_id=q.account_id,
            status=WAITING,
            principal=_money(q.principal),
            penalties=_money(q.penalties),
            months=[[p.isoformat(), d.isoformat(), f] for p, d, f in q.months],
        )
        for q in found
    )
    campaign.status, campaign.launched_on = CAMPAIGN_RUNNING, on_date
    await session.flush()
    await audit.record(
        session=session,
        principal=principal,
        action="amnesty.launch",
        resource_type="amnesty_campaign",
        resource_id=campaign.id,
        organisation_id=campaign.organisation_id,
        details={"debtors": len(found), "penalties": str(_money(sum(q.penalties for q in found)))},
    )
    return campaign


async def run_campaign(
    *, session: AsyncSession, principal: Principal, campaign_id: uuid.UUID, today: date
) -> dict[str, int]:
    """Forgive the penalties of participants who paid, by one posted act; lapse the rest after `pay_by`."""
    campaign = await get_campaign(session=session, principal=principal, campaign_id=campaign_id)
    if campaign.status != CAMPAIGN_RUNNING:
        raise errors.ConflictError(f"The campaign is {campaign.status}, not running.", rule="campaign_run")
    waiting = list(
        (
            await session.scalars(
                select(AmnestyParticipant)
                .where(AmnestyParticipant.campaign_id == campaign.id, AmnestyParticipant.status == WAITING)
                .order_by(AmnestyParticipant.account_id)
            )
        ).all()
    )
    ledgers = dict(
        (
            await session.execute(
                select(AccountLedger.account_id, AccountLedger.months).where(
                    AccountLedger.account_id.in_([p.account_id for p in waiting])
                )
            )
        ).all()
    )
    forgiven: list[AmnestyParticipant] = []
    lines: list[ForgivenPenalty] = []
    lapsed = 0
    for part in waiting:
        owed = {
            m.period: kopecks(m.charged) - kopecks(m.paid)
            for m in decode_months(ledgers.get(part.account_id, "[]"))
        }
        months = [(date.fromisoformat(p), date.fromisoformat(d), int(f)) for p, d, f in part.months]
        if today <= campaign.pay_by and all(owed.get(p, 0) <= 0 for p, _, _ in months):
            forgiven.append(part)
            lines.extend(ForgivenPenalty(part.account_id, p, d, f) for p, d, f in months if f > 0)
        elif today > campaign.pay_by:
            part.status = LAPSED
            lapsed += 1
    if forgiven:
        act = await post_forgiven_penalties(
            session=session,
            principal=principal,
            organisation_id=campaign.organisation_id,
            on_date=today,
            lines=lines,
            reason=f"Penalty amnesty: {campaign.name}",
        )
        for part in forgiven:
            part.status, part.forgiven_on, part.act_id = FORGIVEN, today, act.id
    if today > campaign.ends_on or today > campaign.pay_by:
        campaign.status, campaign.finished_on = CAMPAIGN_FINISHED, today
    await session.flush()
    return {"forgiven": len(forgiven), "lapsed": lapsed}


@dataclass(frozen=True)
class Report:
    """A campaign's outcome so far: participants by status, penalties forgiven, principal collected."""

    participants: dict[str, int]
    penalties_forgiven: Decimal
    principal_collected: Decimal


async def report(*, session: AsyncSession, campaign: AmnestyCampaign) -> Report:
    """Report a campaign: participants by status and the sums of those forgiven."""
    rows = (
        await session.execute(
            select(
                AmnestyParticipant.status, AmnestyParticipant.penalties, AmnestyParticipant.principal
            ).where(AmnestyParticipant.campaign_id == campaign.id)
        )
    ).all()
    counts = {WAITING: 0, FORGIVEN: 0, LAPSED: 0}
    penalties = principal_sum = Decimal("0.00")
    for status, pen, prin in rows:
        counts[status] += 1
        if status == FORGIVEN:
            penalties += pen
            principal_sum += prin
    return Report(counts, penalties, principal_sum)
