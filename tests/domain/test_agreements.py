"""Repayment agreements: schedule rules, instalment matching and breach on a hand-built ledger, readiness."""

from __future__ import annotations

import random
import uuid
from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models.accounts import Account, AccountLedger, AccountPremises, House, Premises
from app.db.models.core import AuditEvent
from app.domain import agreements
from app.domain.accounts.ledger import encode_months
from app.domain.agreements.schedule import equal_amounts, instalment_dates, is_breached, match_payments
from app.domain.court.readiness import iter_assessments
from app.domain.court.registry import ConfirmedDebt
from app.domain.court.rules import court_rules
from app.domain.debt_requests.answers import draft_from_debts
from app.domain.kernel import errors
from app.domain.kernel.access import SYSTEM
from app.domain.kernel.penalties import due_date_for
from app.domain.kernel.snils import random_valid_snils
from app.domain.monitoring import exclusions, restriction
from app.settings import MonitoringSettings
from tests.conftest import make_settings
from tests.factories import COURTS, make_org

TODAY = date(2025, 11, 20)
JUL, AUG, SEP, OCT = (date(2025, m, 1) for m in (7, 8, 9, 10))


def test_instalment_dates_clamp_the_day_to_the_month() -> None:
    assert instalment_dates(date(2026, 1, 31), 3, 31) == [
        date(2026, 1, 31),
        date(2026, 2, 28),
        date(2026, 3, 31),
    ]
    assert instalment_dates(date(2025, 12, 5), 2, 10) == [date(2025, 12, 5), date(2026, 1, 10)]


def test_equal_amounts_sum_exactly() -> None:
    assert equal_amounts(1000, 3) == [333, 333, 334]
    assert sum(equal_amounts(999_999, 7)) == 999_999


def test_match_payments_fills_instalments_in_order() -> None:
    assert match_payments([300, 300, 300], 400) == [300, 100, 0]
    assert match_payments([300, 300], 1000) == [300, 300]
    assert match_payments([300], -5) == [0]


def test_is_breached_after_the_grace_days() -> None:
    schedule = [(date(2026, 1, 10), 300, 100)]
    assert not is_breached(schedule, today=date(2026, 1, 20), breach_days=10)
    assert is_breached(schedule, today=date(2026, 1, 21), breach_days=10)
    assert not is_breached([(date(2026, 1, 10), 300, 300)], today=date(2026, 3, 1), breach_days=10)


async def _account(
    session: AsyncSession, org_id: uuid.UUID, paid: dict[date, int] | None = None
) -> uuid.UUID:
    """Add a citizen's account in Kazan with Jul–Oct 2025 charged 3,000 ₽ a month."""
    house = House(
        id=uuid.uuid4(), fias_house_guid=uuid.uuid4(), address="г. Казань, ул. Баумана, д. 7", region="16"
    )
    flat = Premises(
        id=uuid.uuid4(),
        house_id=house.id,
        number_raw="12",
        number_norm="12",
        kind="apartment",
        residential=True,
    )
    account_id = uuid.uuid4()
    account = Account(
        id=account_id,
        organisation_id=org_id,
        account_number=f"LS{uuid.uuid4().int % 10**8}",
        payer_kind="person",
        closed=False,
        dispute=False,
        bankruptcy=False,
        last_name="Петров",
        first_name="Пётр",
        middle_name="Петрович",
        birth_date=date(1975, 5, 6),
        birth_place="г. Казань",
        snils=random_valid_snils(random.Random(str(account_id))),
    )
    session.add_all([house, flat])
    await session.flush()
    session.add(account)
    await session.flush()
    session.add(AccountPremises(account_id=account.id, premises_id=flat.id))
    session.add(AccountLedger(account_id=account.id, months=_months(paid or {})))
    await session.flush()
    return account.id


def _months(paid: dict[date, int]) -> str:
    return encode_months([(p, Decimal(3000), paid.get(p, 0), due_date_for(p)) for p in (JUL, AUG, SEP, OCT)])


async def _pay(session: AsyncSession, account_id: uuid.UUID, paid: dict[date, int]) -> None:
    ledger = await session.get(AccountLedger, account_id)
    assert ledger is not None
    ledger.months = _months(paid)
    await session.flush()


def _input(org_id: uuid.UUID, account_id: uuid.UUID, **overrides: Any) -> agreements.AgreementInput:
    values: dict[str, Any] = {
        "organisation_id": org_id,
        "account_id": account_id,
        "covered_through": SEP,
        "schedule": agreements.ScheduleInput(months=3, first_date=date(2025, 12, 10)),
    }
    values.update(overrides)
    return agreements.AgreementInput(**values)


async def test_create_agreement_covers_the_ledger_debt(session: AsyncSession) -> None:
    org = await make_org(session)
    account = await _account(session, org.id, paid={JUL: 500})
    a = await agreements.create_agreement(
        session=session,
        principal=SYSTEM,
        today=TODAY,
        data=_input(org.id, account, penalties=Decimal("120.50"), penalty_mode="included"),
    )
    # Jul 2,500 + Aug 3,000 + Sep 3,000 owed, plus the included penalties; October is not covered.
    assert (a.principal, a.penalties, a.total, a.baseline_paid) == (
        Decimal("8500.00"),
        Decimal("120.50"),
        Decimal("8620.50"),
        Decimal("500.00"),
    )
    rows = await agreements.instalments_of(session=session, agreement_id=a.id)
    assert [(r.due_on, r.amount) for r in rows] == [
        (date(2025, 12, 10), Decimal("2873.50")),
        (date(2026, 1, 10), Decimal("2873.50")),
        (date(2026, 2, 10), Decimal("2873.50")),
    ]


async def test_match_instalments_in_order_then_breach(session: AsyncSession) -> None:
    org = await make_org(session)
    account = await _account(session, org.id)
    a = await agreements.create_agreement(
        session=session, principal=SYSTEM, today=TODAY, data=_input(org.id, account)
    )
    assert a.total == Decimal("9000.00")
    # 4,000 ₽ paid on the covered months; October's payment is current billing, not the agreement's.
    await _pay(session, account, {JUL: 3000, AUG: 1000, OCT: 3000})
    kept = await agreements.refresh_agreements(
        session=session, today=date(2025, 12, 15), breach_days=10, organisation_id=org.id
    )
    assert kept == {"active": 1, "breached": 0, "completed": 0}
    rows = await agreements.instalments_of(session=session, agreement_id=a.id)
    assert [(r.paid, r.paid_on) for r in rows] == [
        (Decimal("3000.00"), date(2025, 12, 15)),
        (Decimal("1000.00"), None),
        (Decimal("0.00"), None),
    ]
    assert a.paid == Decimal("4000.00")
    assert account in await agreements.kept_agreement_accounts(session=session, organisation_id=org.id)
    # The second instalment (10 January) is still within its 10 days on the 20th, breached on the 21st.
    still = await agreements.refresh_agreements(session=session, today=date(2026, 1, 20), breach_days=10)
    assert still["active"] >= 1 and a.status == "active"
    await agreements.refresh_agreements(session=session, today=date(2026, 1, 21), breach_days=10)
    assert (a.status, a.breached_on) == ("breached", date(2026, 1, 21))
    assert account not in await agreements.kept_agreement_accounts(session=session, organisation_id=org.id)
    events = (
        await session.scalars(select(AuditEvent.action).where(AuditEvent.resource_id == str(a.id)))
    ).all()
    assert sorted(events) == ["agreement.breach", "agreement.create"]
    listed = await agreements.list_agreements(
        session=session,
        principal=SYSTEM,
        organisation_id=org.id,
        view="breached_this_month",
        today=date(2026, 1, 31),
    )
    assert [x.id for x in listed] == [a.id]
    earlier = await agreements.list_agreements(
        session=session,
        principal=SYSTEM,
        organisation_id=org.id,
        view="breached_this_month",
        today=date(2026, 2, 1),
    )
    assert earlier == []


async def test_full_repayment_completes_the_agreement(session: AsyncSession) -> None:
    org = await make_org(session)
    account = await _account(session, org.id)
    amounts = (Decimal("1000"), Decimal("5000"), Decimal("3000"))
    a = await agreements.create_agreement(
        session=session,
        principal=SYSTEM,
        today=TODAY,
        data=_input(org.id, account, schedule=agreements.ScheduleInput(3, date(2025, 12, 1), 25, amounts)),
    )
    rows = await agreements.instalments_of(session=session, agreement_id=a.id)
    assert [r.due_on for r in rows] == [date(2025, 12, 1), date(2026, 1, 25), date(2026, 2, 25)]
    await _pay(session, account, {JUL: 3000, AUG: 3000, SEP: 3000})
    await agreements.refresh_agreements(session=session, today=date(2026, 1, 2), breach_days=10)
    assert (a.status, a.completed_on, a.paid) == ("completed", date(2026, 1, 2), Decimal("9000.00"))
    completed = await agreements.list_agreements(
        session=session, principal=SYSTEM, organisation_id=org.id, view="completed", today=TODAY
    )
    assert [x.id for x in completed] == [a.id]


@pytest.mark.parametrize(
    ("overrides", "path", "rule"),
    [
        (
            {
                "schedule": agreements.ScheduleInput(
                    2, date(2025, 12, 1), None, (Decimal("4000"), Decimal("4999.99"))
                )
            },
            "body.schedule.amounts",
            "schedule_sum",
        ),
        (
            {
                "schedule": agreements.ScheduleInput(
                    3, date(2025, 12, 1), None, (Decimal("4500"), Decimal("4500"))
                )
            },
            "body.schedule.amounts",
            "schedule_length",
        ),
        (
            {"schedule": agreements.ScheduleInput(2, date(2025, 11, 19))},
            "body.schedule.first_date",
            "date_in_past",
        ),
        ({"covered_through": date(2025, 6, 1)}, "body.covered_through", "no_debt"),
    ],
)
async def test_create_agreement_refuses_bad_input(
    session: AsyncSession, overrides: dict[str, Any], path: str, rule: str
) -> None:
    org = await make_org(session)
    account = await _account(session, org.id)
    with pytest.raises(errors.RuleViolation) as caught:
        await agreements.create_agreement(
            session=session, principal=SYSTEM, today=TODAY, data=_input(org.id, account, **overrides)
        )
    assert [(p.path, p.rule) for p in caught.value.errors] == [(path, rule)]


async def test_create_agreement_refuses_an_overlapping_one(session: AsyncSession) -> None:
    org = await make_org(session)
    account = await _account(session, org.id)
    await agreements.create_agreement(
        session=session, principal=SYSTEM, today=TODAY, data=_input(org.id, account)
    )
    with pytest.raises(errors.RuleViolation) as caught:
        await agreements.create_agreement(
            session=session, principal=SYSTEM, today=TODAY, data=_input(org.id, account, covered_through=OCT)
        )
    assert caught.value.errors[0].path == "body.account_id"
    assert caught.value.rule == "overlapping_agreement"


async def _blockers(
    session: AsyncSession, org_id: uuid.UUID, account: uuid.UUID, database_url: str
) -> set[str]:
    rules = court_rules(make_settings(database_url, court_courts=COURTS))
    found = [
        a
        async for batch in iter_assessments(
            session=session, organisation_id=org_id, cases=[[account]], on_date=date(2026, 1, 21), rules=rules
        )
        for a in batch
    ]
    return {b.rule for b in found[0].blockers}


async def test_readiness_blocks_a_kept_agreement_until_breach(
    session: AsyncSession, database_url: str
) -> None:
    org = await make_org(session, region_code="16")
    account = await _account(session, org.id)
    assert "agreement" not in await _blockers(session, org.id, account, database_url)
    a = await agreements.create_agreement(
        session=session, principal=SYSTEM, today=TODAY, data=_input(org.id, account)
    )
    assert "agreement" in await _blockers(session, org.id, account, database_url)
    await agreements.refresh_agreements(session=session, today=date(2026, 1, 21), breach_days=10)
    assert a.status == "breached"
    assert await _blockers(session, org.id, account, database_url) == set()


def test_debt_answer_follows_the_agreement_setting() -> None:
    debt = ConfirmedDebt(
        id=uuid.uuid4(),
        account_id=uuid.uuid4(),
        last_name="Петров",
        first_name="Пётр",
        middle_name=None,
        snils=random_valid_snils(random.Random(7)),
        identity_document=None,
        act_number="2-1/2025",
        act_date=date(2025, 5, 1),
        act_pronouncing_date=date(2025, 4, 1),
        amount=Decimal("9000"),
        period_from=JUL,
        period_to=SEP,
        gis_debt_guid=str(uuid.uuid4()),
        repaid=False,
        case_id=None,
    )
    kept = replace(debt, agreement_complied=True)
    assert draft_from_debts([kept], agreement_answer="no_debt") is None
    assert draft_from_debts([kept], agreement_answer="debt") == draft_from_debts(
        [debt], agreement_answer="no_debt"
    )


async def test_restriction_leaves_out_a_kept_agreement_until_breach(session: AsyncSession) -> None:
    # ПП 354 п. 118: the debtor keeping an agreement is no restriction candidate; after a breach he is again.
    # The exclusion is the set the restriction route takes (monitoring.exclusions.kept_agreement_accounts).
    org = await make_org(session)
    account = await _account(session, org.id)
    settings = MonitoringSettings()

    async def candidates(on: date) -> tuple[list[uuid.UUID], dict[str, int]]:
        found, left_out = await restriction.find_candidates(
            session=session, organisation_id=org.id, on_date=on, settings=settings,
            excluded_account_ids=await exclusions.kept_agreement_accounts(session, org.id, on),
        )  # fmt: skip
        return [c.account_id for c in found], left_out

    # 12,000 ₽ overdue (July–October) > 2 × 3,000 ₽: a candidate before any agreement.
    assert await candidates(date(2025, 12, 15)) == ([account], {})
    a = await agreements.create_agreement(
        session=session, principal=SYSTEM, today=TODAY, data=_input(org.id, account)
    )
    assert await candidates(date(2025, 12, 15)) == ([], {"agreement": 1})
    await agreements.refresh_agreements(session=session, today=date(2026, 1, 21), breach_days=10)
    assert a.status == "breached"
    assert await candidates(date(2026, 1, 21)) == ([account], {})
