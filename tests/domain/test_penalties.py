"""Penalties under ЖК РФ ст. 155 ч. 14: worked example, thresholds, moratoria, cap, due dates, allocation."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.kernel.penalties import (
    Charge,
    Payment,
    allocate_payments,
    calculate_penalties,
    charge_for_period,
    due_date_for,
    penalty_for_amount,
)
from app.domain.kernel.rules import DateRange, Moratorium, PenaltyRules

RULES = PenaltyRules()
NO_MORATORIA = PenaltyRules(moratoria=())


def test_penalty_worked_example_100_days() -> None:
    due = date(2024, 1, 10)
    result = penalty_for_amount(amount=Decimal("10000"), due_date=due, until=due + timedelta(days=100))
    assert result.total == Decimal("263.08")
    priced = [(s.days, s.rate_fraction, s.amount) for s in result.segments]
    assert priced == [
        (30, "0", Decimal("0.00")),
        (60, "1/300", Decimal("190.00")),
        (10, "1/130", Decimal("73.08")),
    ]


def test_penalty_key_rate_is_capped_in_cap_period() -> None:
    due = date(2024, 1, 10)
    until = due + timedelta(days=100)
    capped = penalty_for_amount(amount=Decimal("10000"), due_date=due, until=until, key_rate=Decimal("0.21"))
    assert capped.total == Decimal("263.08")
    lower = penalty_for_amount(amount=Decimal("10000"), due_date=due, until=until, key_rate=Decimal("0.075"))
    # 60 × 10000 × 0.075 / 300 = 150.00; 10 × 10000 × 0.075 / 130 = 57.69
    assert lower.total == Decimal("207.69")


def test_penalty_uncapped_outside_cap_periods() -> None:
    rules = PenaltyRules(cap_periods=(), moratoria=())
    due = date(2019, 1, 10)
    result = penalty_for_amount(
        amount=Decimal("10000"),
        due_date=due,
        until=due + timedelta(days=60),
        key_rate=Decimal("0.15"),
        rules=rules,
    )
    # 30 × 10000 × 0.15 / 300 = 150.00
    assert result.total == Decimal("150.00")


def test_penalty_cap_ends_after_2026() -> None:
    due = date(2026, 10, 10)
    until = due + timedelta(days=100)  # runs into 2027: uncapped from 2027-01-01
    result = penalty_for_amount(amount=Decimal("10000"), due_date=due, until=until, key_rate=Decimal("0.16"))
    rates = {(s.start, s.key_rate) for s in result.segments if s.divisor}
    assert (date(2027, 1, 1), Decimal("0.16")) in rates
    assert all(r == Decimal("0.095") for start, r in rates if start < date(2027, 1, 1))


def test_penalty_zero_within_grace() -> None:
    due = date(2024, 1, 10)
    assert penalty_for_amount(amount=Decimal("5000"), due_date=due, until=due + timedelta(days=30)).total == 0
    day31 = penalty_for_amount(amount=Decimal("30000"), due_date=due, until=due + timedelta(days=31))
    assert day31.total == Decimal("9.50")  # 30000 × 0.095 / 300


def test_penalty_paid_on_due_date_is_zero() -> None:
    due = date(2024, 1, 10)
    assert penalty_for_amount(amount=Decimal("1"), due_date=due, until=due).segments == ()


def test_penalty_2020_moratorium() -> None:
    # December 2019 bill, due 2020-01-10: day 31 = 2020-02-10; accrual stops 2020-04-06 .. 2021-01-01.
    month = penalty_for_amount(amount=Decimal("10000"), due_date=date(2020, 1, 10), until=date(2021, 1, 31))
    frozen = [s for s in month.segments if s.moratorium]
    assert [(s.start, s.end) for s in frozen] == [(date(2020, 4, 6), date(2021, 1, 1))]
    assert frozen[0].amount == 0
    after = [s for s in month.segments if s.start > date(2021, 1, 1)]
    assert after[0].start == date(2021, 1, 2)
    assert after[0].divisor == 130  # day numbers keep running through the moratorium


def test_penalty_moratorium_end_exclusive_flag() -> None:
    rules = PenaltyRules(moratorium_end_inclusive=False)
    month = penalty_for_amount(
        amount=Decimal("10000"), due_date=date(2020, 1, 10), until=date(2021, 1, 31), rules=rules
    )
    frozen = [s for s in month.segments if s.moratorium]
    assert frozen[0].end == date(2020, 12, 31)


def test_penalty_2022_moratorium_only_for_older_debt() -> None:
    old = penalty_for_amount(
        amount=Decimal("10000"), due_date=date(2022, 3, 10), until=date(2022, 12, 31), period=date(2022, 2, 1)
    )
    assert any(s.moratorium for s in old.segments)
    # The April 2022 bill arose during the moratorium: ПП № 497 does not cover it.
    new = penalty_for_amount(
        amount=Decimal("10000"), due_date=date(2022, 5, 10), until=date(2022, 9, 30), period=date(2022, 4, 1)
    )
    assert not any(s.moratorium for s in new.segments)
    assert new.total > 0


@pytest.mark.parametrize(
    ("period", "due"),
    [
        (date(2024, 5, 1), date(2024, 6, 10)),
        (date(2024, 12, 17), date(2025, 1, 10)),
        (date(2026, 1, 1), date(2026, 2, 10)),
        (date(2026, 2, 1), date(2026, 3, 10)),  # [U] setting, default 10
        (date(2026, 3, 1), date(2026, 4, 15)),
        (date(2026, 12, 1), date(2027, 1, 15)),
    ],
)
def test_due_date_for_period(period: date, due: date) -> None:
    assert due_date_for(period) == due


def test_due_date_feb_2026_setting() -> None:
    assert due_date_for(date(2026, 2, 1), PenaltyRules(feb_2026_due_day=15)) == date(2026, 3, 15)


def test_allocate_payments_oldest_first() -> None:
    charges = [
        charge_for_period(date(2024, 2, 1), Decimal("1000")),
        charge_for_period(date(2024, 1, 1), Decimal("1000")),
    ]
    parts, rest = allocate_payments(charges, [Payment(date(2024, 4, 1), Decimal("1500"))])
    assert parts[1] == [(date(2024, 4, 1), Decimal("1000"))]  # January first
    assert parts[0] == [(date(2024, 4, 1), Decimal("500"))]
    assert rest == 0


def test_allocate_payments_named_period_first() -> None:
    charges = [
        charge_for_period(date(2024, 1, 1), Decimal("1000")),
        charge_for_period(date(2024, 2, 1), Decimal("1000")),
    ]
    parts, rest = allocate_payments(
        charges, [Payment(date(2024, 4, 1), Decimal("1200"), period=date(2024, 2, 15))]
    )
    assert parts[1] == [(date(2024, 4, 1), Decimal("1000"))]
    assert parts[0] == [(date(2024, 4, 1), Decimal("200"))]
    assert rest == 0


def test_allocate_payments_skip_time_barred() -> None:
    charges = [
        charge_for_period(date(2019, 1, 1), Decimal("1000")),  # due 2019-02-10, barred after 2022-02-11
        charge_for_period(date(2024, 1, 1), Decimal("1000")),
    ]
    parts, rest = allocate_payments(charges, [Payment(date(2024, 4, 1), Decimal("1500"))])
    assert parts[0] == []
    assert parts[1] == [(date(2024, 4, 1), Decimal("1000"))]
    assert rest == Decimal("500")


def test_calculate_penalties_partial_payment() -> None:
    charge = Charge(period=date(2023, 12, 1), amount=Decimal("10000"), due_date=date(2024, 1, 10))
    # Half paid on day 60 (2024-03-10): 60 days... days 31-60 on 10000, days 61-90 on 5000, 91-100 on 5000.
    result = calculate_penalties(
        charges=[charge],
        payments=[Payment(date(2024, 3, 10), Decimal("5000"))],
        on_date=date(2024, 4, 19),
        rules=NO_MORATORIA,
    )
    month = result.months[0]
    assert month.paid == Decimal("5000") and month.outstanding == Decimal("5000")
    assert [(s.days, s.balance, s.amount) for s in month.segments if s.divisor] == [
        (30, Decimal("10000"), Decimal("95.00")),
        (30, Decimal("5000"), Decimal("47.50")),
        (10, Decimal("5000"), Decimal("36.54")),
    ]
    assert result.total == Decimal("179.04")
    assert result.unallocated == 0


def test_calculate_penalties_ignores_future_payments_and_sums_months() -> None:
    charges = [charge_for_period(date(2023, m, 1), Decimal("3000")) for m in (10, 11, 12)]
    result = calculate_penalties(
        charges=charges, payments=[Payment(date(2030, 1, 1), Decimal("9000"))], on_date=date(2024, 6, 30)
    )
    assert result.total == sum(m.total for m in result.months)
    assert all(m.paid == 0 for m in result.months)
    assert result.months[0].total > result.months[1].total > result.months[2].total > 0


# --- properties --------------------------------------------------------------------------------------------

amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("500000"), places=2)
due_dates = st.dates(min_value=date(2018, 1, 1), max_value=date(2027, 12, 31))


@given(amount=amounts, due=due_dates, days=st.integers(min_value=0, max_value=30))
def test_penalty_zero_for_30_days_or_less(amount: Decimal, due: date, days: int) -> None:
    assert penalty_for_amount(amount=amount, due_date=due, until=due + timedelta(days=days)).total == 0


@given(amount=amounts, due=due_dates, days=st.integers(min_value=0, max_value=1500))
def test_penalty_monotone_in_days_late(amount: Decimal, due: date, days: int) -> None:
    shorter = penalty_for_amount(amount=amount, due_date=due, until=due + timedelta(days=days))
    longer = penalty_for_amount(amount=amount, due_date=due, until=due + timedelta(days=days + 1))
    assert longer.total >= shorter.total


@given(
    amount=amounts,
    due=st.dates(min_value=date(2019, 6, 1), max_value=date(2022, 9, 30)),
    days=st.integers(min_value=1, max_value=1200),
)
def test_penalty_never_accrues_inside_moratorium(amount: Decimal, due: date, days: int) -> None:
    result = penalty_for_amount(amount=amount, due_date=due, until=due + timedelta(days=days))
    assert sum(s.days for s in result.segments) == days
    for segment in result.segments:
        for m in RULES.moratoria:
            applies = m.debts_before is None or result.period < m.debts_before
            overlaps = segment.start <= m.period.end and segment.end >= m.period.start
            if applies and overlaps:
                assert segment.moratorium
                assert segment.amount == 0


@given(amount=amounts, due=due_dates, days=st.integers(min_value=31, max_value=1000))
def test_penalty_without_moratoria_matches_daily_formula(amount: Decimal, due: date, days: int) -> None:
    rules = PenaltyRules(moratoria=(Moratorium(DateRange(date(1990, 1, 1), date(1990, 1, 2))),))
    result = penalty_for_amount(amount=amount, due_date=due, until=due + timedelta(days=days), rules=rules)
    low = min(days, 90) - 30
    high = max(days - 90, 0)
    exact = amount * Decimal("0.095") * (Decimal(low) / 300 + Decimal(high) / 130)
    # Per-segment rounding: at most half a kopeck per segment away from the exact sum.
    assert abs(result.total - exact) <= Decimal("0.005") * len(result.segments)


@given(
    amounts_=st.lists(amounts, min_size=1, max_size=8),
    payments=st.lists(
        st.tuples(st.dates(min_value=date(2020, 1, 1), max_value=date(2026, 12, 31)), amounts), max_size=8
    ),
)
def test_allocate_payments_conserves_money(
    amounts_: list[Decimal], payments: list[tuple[date, Decimal]]
) -> None:
    charges = [charge_for_period(date(2022, 1 + i, 1), a) for i, a in enumerate(amounts_)]
    parts, rest = allocate_payments(charges, [Payment(d, a) for d, a in payments])
    allocated = [sum((p for _, p in part), Decimal(0)) for part in parts]
    assert sum(allocated) + rest == sum((a for _, a in payments), Decimal(0))
    assert all(0 <= got <= c.amount for got, c in zip(allocated, charges, strict=True))
    assert rest >= 0
