"""Accounts domain: ledger summaries, premises matching with real-world spellings, statistics."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.accounts.importing import upsert_accounts
from app.domain.accounts.registry import (
    LedgerMonth,
    find_accounts_for_premises,
    ledger_for_accounts,
    summarise_ledger,
)
from app.domain.kernel import errors as d
from tests.factories import make_org

HOUSE = uuid.UUID("0c5b2444-70a0-4932-980c-b4dc0d3f02b5")
HM = uuid.UUID("99999999-8888-7777-6666-555555555555")


def month(m: int, charged: str, paid: str) -> LedgerMonth:
    period = date(2025, m, 1)
    due = date(2025, m + 1, 10)
    return LedgerMonth(period, Decimal(charged), Decimal(paid), due, Decimal(0), 0)


def test_summarise_ledger_applies_surplus_to_oldest_months() -> None:
    s = summarise_ledger(
        [month(1, "100", "0"), month(2, "100", "150"), month(3, "-20", "0"), month(4, "100", "0")],
        as_of=date(2025, 5, 20),
    )
    # Surplus 50 from February and the 20 credit of March pay January first.
    assert [m.outstanding for m in s.months] == [Decimal(30), Decimal(0), Decimal(0), Decimal(100)]
    assert s.debt == Decimal(130) and s.months_in_debt == 2 and s.oldest_debt_period == date(2025, 1, 1)
    assert s.months[0].days_overdue == (date(2025, 5, 20) - date(2025, 2, 10)).days
    assert s.months[3].days_overdue == 0 + (date(2025, 5, 20) - date(2025, 5, 10)).days


def test_summarise_ledger_not_yet_due_is_outstanding_not_debt() -> None:
    s = summarise_ledger([month(4, "100", "0")], as_of=date(2025, 5, 1))
    assert (s.debt, s.outstanding, s.months_in_debt) == (Decimal(0), Decimal(100), 0)


amounts = st.decimals(min_value=-1000, max_value=10000, places=2, allow_nan=False, allow_infinity=False)


@given(st.lists(st.tuples(amounts, amounts.filter(lambda x: x >= 0)), min_size=1, max_size=11))
def test_summarise_ledger_balances(values: list[tuple[Decimal, Decimal]]) -> None:
    months = [month(i + 1, str(c), str(p)) for i, (c, p) in enumerate(values)]
    s = summarise_ledger(months, as_of=date(2030, 1, 1))
    net = sum((c - p for c, p in values), Decimal(0))
    # What is outstanding is exactly the net balance when positive; never negative.
    assert s.outstanding == max(net, Decimal(0))
    assert all(m.outstanding >= 0 for m in s.months)
    assert s.debt == s.outstanding


@pytest.fixture
async def flats(session: AsyncSession) -> uuid.UUID:
    org = await make_org(session)
    numbers = ["кв. 12а", "3", "7 комн. 2", "пом. IV", "15/1"]
    kinds = ["apartment", "non_residential", "room", "non_residential", "apartment"]
    await upsert_accounts(
        session=session,
        organisation_id=org.id,
        rows=[
            {
                "account_number": f"N{i}",
                "payer": {"kind": "organisation", "name": "ООО Тест"},
                "premises": [
                    {"fias_house_guid": str(HOUSE), "hm_object_guid": str(HM), "number": n, "kind": k},
                ],
                "ledger": [{"period": "2025-01-01", "charged": "10.00", "paid": "0"}],
            }
            for i, (n, k) in enumerate(zip(numbers, kinds, strict=True))
        ],
    )
    return org.id


# Real-world spellings of the same premises, as debt requests and billing exports write them.
SPELLINGS = [
    ("12А", "N0"),
    ("кв.12-а", "N0"),
    ("КВ. 12 A", "N0"),  # Latin A
    ("квартира №12а", "N0"),
    ("  12 / а ", "N0"),
    ("пом. 3Н", "N1"),
    ("нежилое помещение 3", "N1"),
    ("3-н", "N1"),
    ("кв. 7, комн. 2", "N2"),
    ("7К2", "N2"),
    ("пом. IV", "N3"),
    ("15-1", "N4"),
    ("кв. 15/1", "N4"),
]


@pytest.mark.parametrize(("text", "number"), SPELLINGS)
async def test_find_accounts_for_premises_real_world_spellings(
    session: AsyncSession, flats: uuid.UUID, text: str, number: str
) -> None:
    found = await find_accounts_for_premises(
        session=session,
        organisation_id=flats,
        fias_house_guid=HOUSE,
        hm_object_guid=None,
        premises=text,
        exact=False,
    )
    assert [m.account_number for m in found] == [number]
    assert found[0].quality in ("exact", "normalised")
    assert found[0].debt > 0 or found[0].months_in_debt == 0


async def test_find_accounts_for_premises_exact_house_only_and_gis_house(
    session: AsyncSession, flats: uuid.UUID
) -> None:
    exact = await find_accounts_for_premises(
        session=session,
        organisation_id=flats,
        fias_house_guid=None,
        hm_object_guid=HM,
        premises="кв. 12а",
        exact=True,
    )
    assert [(m.account_number, m.quality) for m in exact] == [("N0", "exact")]
    assert (
        await find_accounts_for_premises(
            session=session,
            organisation_id=flats,
            fias_house_guid=HOUSE,
            hm_object_guid=None,
            premises="12А",
            exact=True,
        )
        == []
    )
    house = await find_accounts_for_premises(
        session=session,
        organisation_id=flats,
        fias_house_guid=HOUSE,
        hm_object_guid=None,
        premises=None,
        exact=False,
    )
    assert len(house) == 5 and {m.quality for m in house} == {"house_only"}
    other_org = await find_accounts_for_premises(
        session=session,
        organisation_id=uuid.uuid4(),
        fias_house_guid=HOUSE,
        hm_object_guid=None,
        premises="12а",
        exact=False,
    )
    assert other_org == []
    with pytest.raises(d.RuleViolation):
        await find_accounts_for_premises(
            session=session,
            organisation_id=flats,
            fias_house_guid=None,
            hm_object_guid=None,
            premises="1",
            exact=False,
        )


async def test_ledger_for_accounts_groups_by_account(session: AsyncSession, flats: uuid.UUID) -> None:
    found = await find_accounts_for_premises(
        session=session,
        organisation_id=flats,
        fias_house_guid=HOUSE,
        hm_object_guid=None,
        premises=None,
        exact=False,
    )
    ledgers = await ledger_for_accounts(
        [m.account_id for m in found] + [uuid.uuid4()], session=session, as_of=date(2025, 3, 1)
    )
    assert sorted(len(v) for v in ledgers.values()) == [0, 1, 1, 1, 1, 1]
