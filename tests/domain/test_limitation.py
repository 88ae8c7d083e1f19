"""Limitation period per monthly payment (ГК ст. 196, 200)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.kernel.limitation import is_time_barred, limitation_expires, split_by_limitation
from app.domain.kernel.penalties import charge_for_period
from app.domain.kernel.rules import LimitationRules


@dataclass(frozen=True)
class Month:
    due_date: date


@pytest.mark.parametrize(
    ("due", "last_day"),
    [
        (date(2021, 1, 10), date(2024, 1, 11)),
        (date(2021, 12, 31), date(2025, 1, 1)),
        (date(2024, 2, 28), date(2027, 2, 28)),  # starts 2024-02-29: no such day in 2027 (ГК ст. 192 п. 3)
        (date(2026, 4, 15), date(2029, 4, 16)),
    ],
)
def test_limitation_expires(due: date, last_day: date) -> None:
    assert limitation_expires(due) == last_day
    assert not is_time_barred(due, last_day)
    assert is_time_barred(due, last_day + timedelta(days=1))


def test_limitation_years_setting() -> None:
    assert limitation_expires(date(2021, 1, 10), LimitationRules(years=1)) == date(2022, 1, 11)


def test_split_by_limitation_keeps_order() -> None:
    charges = [charge_for_period(date(2021, m, 1), Decimal("100")) for m in range(1, 13)]
    claimable, expired = split_by_limitation(charges, date(2024, 6, 1))
    # Bills up to April 2021 fall due by 2021-05-10 and are barred after 2024-05-11.
    assert [c.period.month for c in expired] == [1, 2, 3, 4]
    assert [c.period.month for c in claimable] == list(range(5, 13))


dates = st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 12, 31))


@given(dues=st.lists(dates, max_size=30), on_date=dates)
def test_split_by_limitation_nothing_barred_is_claimable(dues: list[date], on_date: date) -> None:
    months = [Month(d) for d in dues]
    claimable, expired = split_by_limitation(months, on_date)
    assert len(claimable) + len(expired) == len(months)
    assert all(on_date <= limitation_expires(m.due_date) for m in claimable)
    assert all(on_date > limitation_expires(m.due_date) for m in expired)
    # Nothing whose due date is more than three years and a day back is claimable.
    assert all(m.due_date >= on_date.replace(day=1) - timedelta(days=3 * 366 + 2) for m in claimable)


@given(due=dates)
def test_limitation_is_about_three_years(due: date) -> None:
    span = (limitation_expires(due) - due).days
    assert 3 * 365 + 1 <= span <= 3 * 365 + 2
