"""Penalty amnesty: the simulation equals what the campaign then writes off; selection and lapses."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models.accounts import Account, AccountLedger
from app.db.models.core import AuditEvent
from app.db.models.writeoff import WriteOffAct
from app.domain import amnesty, writeoff
from app.domain.accounts.ledger import encode_months
from app.domain.court.assessment import PenaltyPricer
from app.domain.court.rules import CourtRules
from app.domain.kernel import errors
from app.domain.kernel.access import SYSTEM
from tests.factories import make_org

LAUNCH = date(2026, 2, 2)
MONTHS = {date(2025, 9, 1): date(2025, 10, 10), date(2025, 10, 1): date(2025, 11, 10)}


def _pricer() -> writeoff.Pricer:
    return PenaltyPricer(CourtRules(), LAUNCH).price


async def _account(session: AsyncSession, org_id: uuid.UUID, charged: int, kind: str = "person") -> uuid.UUID:
    account_id = uuid.uuid4()
    session.add(
        Account(id=account_id, organisation_id=org_id, account_number=f"A{charged}{kind}", payer_kind=kind)
    )
    await session.flush()
    await _set(session, account_id, charged, 0)
    return account_id


async def _set(session: AsyncSession, account_id: uuid.UUID, charged: int, paid: int) -> None:
    months = encode_months([(p, Decimal(charged), Decimal(paid), d) for p, d in MONTHS.items()])
    ledger = await session.get(AccountLedger, account_id)
    if ledger is None:
        session.add(AccountLedger(account_id=account_id, months=months))
    else:
        ledger.months = months
    await session.flush()


async def _campaign(session: AsyncSession, org_id: uuid.UUID) -> uuid.UUID:
    campaign = await amnesty.create_campaign(
        session=session,
        principal=SYSTEM,
        today=LAUNCH,
        data=amnesty.CampaignInput(
            organisation_id=org_id,
            name="Весна без пеней",
            starts_on=date(2026, 2, 1),
            ends_on=date(2026, 4, 30),
            pay_by=date(2026, 3, 31),
            payer_kind="person",
            min_principal=Decimal("3000"),
        ),
    )
    return campaign.id


async def test_simulation_equals_what_the_campaign_writes_off(session: AsyncSession) -> None:
    org = await make_org(session)
    payer = await _account(session, org.id, 5000)
    other_payer = await _account(session, org.id, 2000)
    await _account(session, org.id, 1000)  # 2,000 ₽ owed: under the campaign's minimum
    await _account(session, org.id, 9000, kind="organisation")  # not the campaign's category
    campaign_id = await _campaign(session, org.id)

    simulated = await amnesty.simulate(
        session=session, principal=SYSTEM, campaign_id=campaign_id, on_date=LAUNCH, pricer=_pricer()
    )
    assert (simulated.debtors, simulated.principal) == (2, Decimal("14000.00"))
    assert simulated.penalties > 0
    await amnesty.launch(
        session=session, principal=SYSTEM, campaign_id=campaign_id, on_date=LAUNCH, pricer=_pricer()
    )
    with pytest.raises(errors.ConflictError):
        await amnesty.launch(
            session=session, principal=SYSTEM, campaign_id=campaign_id, on_date=LAUNCH, pricer=_pricer()
        )

    # Both pay their principal in full; the run writes off exactly the simulated penalties.
    await _set(session, payer, 5000, 5000)
    await _set(session, other_payer, 2000, 2000)
    done = await amnesty.run_campaign(
        session=session, principal=SYSTEM, campaign_id=campaign_id, today=date(2026, 3, 1)
    )
    assert done == {"forgiven": 2, "lapsed": 0}
    act = await session.scalar(select(WriteOffAct).where(WriteOffAct.organisation_id == org.id))
    assert act is not None and act.status == "posted"
    assert (act.penalties, act.principal) == (simulated.penalties, Decimal("0.00"))
    lines = await writeoff.act_lines(session=session, act_id=act.id)
    assert {x.ground for x in lines} == {"amnesty"} and sum(x.penalties for x in lines) == simulated.penalties
    campaign = await amnesty.get_campaign(session=session, principal=SYSTEM, campaign_id=campaign_id)
    result = await amnesty.report(session=session, campaign=campaign)
    assert result.participants == {"waiting": 0, "forgiven": 2, "lapsed": 0}
    assert (result.penalties_forgiven, result.principal_collected) == (
        simulated.penalties,
        simulated.principal,
    )
    # Forgiven penalties do not write the (paid) months off.
    assert await writeoff.written_off_months(session=session, organisation_id=org.id) == set()
    journal = (
        await session.scalars(select(AuditEvent.action).where(AuditEvent.organisation_id == org.id))
    ).all()
    assert {"amnesty.create", "amnesty.launch", "write_off.amnesty"} <= set(journal)


async def test_debtors_who_do_not_pay_lapse(session: AsyncSession) -> None:
    org = await make_org(session)
    payer = await _account(session, org.id, 5000)
    late = await _account(session, org.id, 4000)
    campaign_id = await _campaign(session, org.id)
    await amnesty.launch(
        session=session, principal=SYSTEM, campaign_id=campaign_id, on_date=LAUNCH, pricer=_pricer()
    )
    await _set(session, payer, 5000, 4000)  # partly paid: no amnesty yet
    first = await amnesty.run_campaign(
        session=session, principal=SYSTEM, campaign_id=campaign_id, today=date(2026, 3, 1)
    )
    assert first == {"forgiven": 0, "lapsed": 0}
    await _set(session, payer, 5000, 5000)
    second = await amnesty.run_campaign(
        session=session, principal=SYSTEM, campaign_id=campaign_id, today=date(2026, 3, 31)
    )
    assert second == {"forgiven": 1, "lapsed": 0}
    await _set(session, late, 4000, 4000)  # paid after the date: too late
    last = await amnesty.run_campaign(
        session=session, principal=SYSTEM, campaign_id=campaign_id, today=date(2026, 4, 1)
    )
    assert last == {"forgiven": 0, "lapsed": 1}
    campaign = await amnesty.get_campaign(session=session, principal=SYSTEM, campaign_id=campaign_id)
    assert campaign.status == "finished"


async def test_create_campaign_refuses_a_bad_period(session: AsyncSession) -> None:
    org = await make_org(session)
    with pytest.raises(errors.RuleViolation) as caught:
        await amnesty.create_campaign(
            session=session,
            principal=SYSTEM,
            today=LAUNCH,
            data=amnesty.CampaignInput(org.id, "x", date(2026, 2, 1), date(2026, 4, 30), date(2026, 5, 31)),
        )
    assert [(p.path, p.rule) for p in caught.value.errors] == [("body.pay_by", "period")]
