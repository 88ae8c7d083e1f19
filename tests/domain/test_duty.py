"""State duty: 259-ФЗ bands, the court-order half, the old regime, rounding, limits."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.court.duty import claim_duty, court_order_duty
from app.domain.kernel.errors import RuleViolation
from app.domain.kernel.rules import DutyRules

NEW = date(2025, 3, 1)
OLD = date(2024, 6, 1)


@pytest.mark.parametrize(
    ("amount", "duty"),
    [
        ("60000", "2000"),
        ("150000", "2750"),
        ("300000", "5000"),
        ("500000", "7500"),
        ("0.01", "2000"),
        ("100000", "2000"),
        ("100001", "2000"),  # 2000.015 → 2000
        ("100100", "2002"),  # 2001.50 → 2002 (half up)
    ],
)
def test_court_order_duty_worked_examples(amount: str, duty: str) -> None:
    assert court_order_duty(Decimal(amount), NEW) == Decimal(duty)


@pytest.mark.parametrize(
    ("amount", "duty"),
    [
        ("50000", "4000"),
        ("150000", "5500"),
        ("300000", "10000"),
        ("400000", "12500"),
        ("750000", "20000"),
        ("2000000", "35000"),
        ("8000000", "80000"),
    ],
)
def test_claim_duty_bands(amount: str, duty: str) -> None:
    assert claim_duty(Decimal(amount)) == Decimal(duty)


def test_claim_duty_above_table_refused() -> None:
    with pytest.raises(RuleViolation):
        claim_duty(Decimal("8000000.01"))


@pytest.mark.parametrize("amount", ["0", "-1"])
def test_duty_rejects_non_positive(amount: str) -> None:
    with pytest.raises(RuleViolation):
        court_order_duty(Decimal(amount), NEW)


def test_court_order_over_limit_refused() -> None:
    with pytest.raises(RuleViolation, match="500,000"):
        court_order_duty(Decimal("500000.01"), NEW)


@pytest.mark.parametrize(
    ("amount", "claim", "order"),
    [
        ("5000", "400", "200"),  # 4 % = 200, minimum 400
        ("15000", "600", "300"),
        ("50000", "1700", "850"),  # 800 + 3 % × 30,000
        ("150000", "4200", "2100"),
        ("500000", "8200", "4100"),
        ("12345.67", "494", "247"),  # 493.83 → 494; order 246.91 → 247
    ],
)
def test_duty_old_regime(amount: str, claim: str, order: str) -> None:
    assert claim_duty(Decimal(amount), filing_date=OLD) == Decimal(claim)
    assert court_order_duty(Decimal(amount), OLD) == Decimal(order)


def test_duty_old_regime_cap() -> None:
    assert claim_duty(Decimal("20000000"), filing_date=OLD) == Decimal("60000")


def test_duty_effective_date_setting() -> None:
    assert court_order_duty(Decimal("5000"), date(2024, 9, 8)) == Decimal("200")
    assert court_order_duty(Decimal("5000"), date(2024, 9, 9)) == Decimal("2000")
    early = DutyRules(effective_date=date(2024, 9, 8))
    assert court_order_duty(Decimal("5000"), date(2024, 9, 8), early) == Decimal("2000")


def test_duty_kopeck_rounding() -> None:
    rules = DutyRules(rounding="kopeck")
    assert court_order_duty(Decimal("100001"), NEW, rules) == Decimal("2000.02")  # 2000.015 half up
    assert court_order_duty(Decimal("12345.67"), OLD, rules) == Decimal("246.91")


claims = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("500000"), places=2)
filing_dates = st.dates(min_value=date(2024, 9, 9), max_value=date(2030, 12, 31))


@given(a=claims, b=claims, filed=filing_dates)
def test_court_order_duty_monotone(a: Decimal, b: Decimal, filed: date) -> None:
    low, high = sorted((a, b))
    assert court_order_duty(low, filed) <= court_order_duty(high, filed)


@given(amount=claims, filed=filing_dates)
def test_court_order_duty_within_bounds(amount: Decimal, filed: date) -> None:
    assert Decimal("2000") <= court_order_duty(amount, filed) <= Decimal("7500")


@given(a=claims, b=claims, filed=st.dates(min_value=date(2015, 1, 1), max_value=date(2024, 9, 8)))
def test_court_order_duty_old_regime_monotone_and_min(a: Decimal, b: Decimal, filed: date) -> None:
    low, high = sorted((a, b))
    assert Decimal("200") <= court_order_duty(low, filed) <= court_order_duty(high, filed)


@given(
    a=st.decimals(min_value=Decimal("0.01"), max_value=Decimal("8000000"), places=2),
    b=st.decimals(min_value=Decimal("0.01"), max_value=Decimal("8000000"), places=2),
)
def test_claim_duty_monotone(a: Decimal, b: Decimal) -> None:
    low, high = sorted((a, b))
    assert claim_duty(low) <= claim_duty(high)
