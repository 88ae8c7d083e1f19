"""Production calendar: regression against the shared fixture, deadlines, objection terms."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.kernel.calendar import (
    add_working_days,
    deadline_flags,
    is_working_day,
    objection_deadline,
    working_days_between,
)
from app.domain.kernel.rules import CalendarRules, ObjectionRules

FIXTURE = Path(__file__).resolve().parents[2] / ".." / "shared" / "fixtures" / "ru-production-calendar.json"
YEARS = (2024, 2025, 2026)


@pytest.fixture(scope="module")
def calendar_fixture() -> dict[str, Any]:
    if not FIXTURE.exists():
        pytest.skip("shared production-calendar fixture not available")
    data: dict[str, Any] = json.loads(FIXTURE.read_text(encoding="utf-8"))
    return data


def _expected_working(data: dict[str, Any], d: date) -> bool:
    year = data[str(d.year)]
    iso = d.isoformat()
    if iso in year["working_weekends"]:
        return True
    return d.weekday() < 5 and iso not in year["non_working_weekdays"]


def _days_of(year: int) -> list[date]:
    start = date(year, 1, 1)
    return [start + timedelta(days=k) for k in range((date(year + 1, 1, 1) - start).days)]


@pytest.mark.parametrize("year", YEARS)
def test_is_working_day_matches_fixture_every_day(calendar_fixture: dict[str, Any], year: int) -> None:
    mismatches = [d for d in _days_of(year) if is_working_day(d) != _expected_working(calendar_fixture, d)]
    assert mismatches == []


@pytest.mark.parametrize("year", YEARS)
def test_count_working_days_per_year(calendar_fixture: dict[str, Any], year: int) -> None:
    expected = calendar_fixture["working_day_counts"][str(year)]
    assert sum(is_working_day(d) for d in _days_of(year)) == expected
    assert working_days_between(date(year - 1, 12, 31), date(year, 12, 31)) == expected


@pytest.mark.parametrize("year", YEARS)
def test_fixture_dates_classified(calendar_fixture: dict[str, Any], year: int) -> None:
    for iso in calendar_fixture[str(year)]["non_working_weekdays"]:
        assert not is_working_day(date.fromisoformat(iso)), iso
    for iso in calendar_fixture[str(year)]["working_weekends"]:
        assert is_working_day(date.fromisoformat(iso)), iso


@pytest.mark.parametrize(
    ("d", "working"),
    [
        (date(2024, 4, 27), True),  # working Saturday: `d not in RU()` gets this wrong
        (date(2024, 11, 2), True),
        (date(2024, 12, 28), True),
        (date(2025, 11, 1), True),
        (date(2024, 5, 10), False),  # Jan 6 moved to May 10
        (date(2025, 6, 13), False),  # Mar 8 moved to Jun 13
        (date(2025, 2, 24), True),  # Feb 23 2025 (Sunday) moved by decree, not to Monday
        (date(2026, 1, 9), False),
        (date(2026, 3, 9), False),  # ТК ст. 112 automatic shift
        (date(2026, 5, 11), False),
    ],
)
def test_is_working_day_transfers(d: date, working: bool) -> None:
    assert is_working_day(d) is working


def test_add_working_days_across_new_year() -> None:
    assert add_working_days(date(2025, 12, 26), 5) == date(2026, 1, 14)


def test_add_working_days_zero_and_negative() -> None:
    assert add_working_days(date(2025, 1, 1), 0) == date(2025, 1, 9)
    assert add_working_days(date(2025, 1, 10), 0) == date(2025, 1, 10)
    assert add_working_days(date(2026, 1, 14), -5) == date(2025, 12, 26)


def test_add_working_days_with_override() -> None:
    rules = CalendarRules(overrides={date(2026, 1, 12): False, date(2026, 1, 10): True})
    assert is_working_day(date(2026, 1, 12), rules) is False
    assert is_working_day(date(2026, 1, 10), rules) is True
    # 2025-12-26 (Fri) +1: 29, 30, then Jan 10 (override Saturday), 13, 14, 15
    assert add_working_days(date(2025, 12, 26), 5, rules) == date(2026, 1, 14)
    assert add_working_days(date(2025, 12, 26), 6, rules) == date(2026, 1, 15)
    assert working_days_between(date(2025, 12, 26), date(2026, 1, 15), rules) == 6


def test_override_rules_are_immutable_copies() -> None:
    source = {date(2026, 1, 12): False}
    rules = CalendarRules(overrides=source)
    source[date(2026, 1, 13)] = False
    assert date(2026, 1, 13) not in rules.overrides
    with pytest.raises(TypeError):
        rules.overrides[date(2026, 1, 14)] = False  # type: ignore[index]
    assert hash(rules) == hash(CalendarRules(overrides={date(2026, 1, 12): False}))


def test_working_days_between_conventions() -> None:
    assert working_days_between(date(2025, 3, 3), date(2025, 3, 3)) == 0
    assert working_days_between(date(2025, 3, 3), date(2025, 3, 4)) == 1  # (Mon, Tue]
    assert working_days_between(date(2025, 3, 7), date(2025, 3, 10)) == 1  # Fri → Mon: only Monday counts
    assert working_days_between(date(2025, 3, 10), date(2025, 3, 7)) == -1


@pytest.mark.parametrize(
    ("today", "deadline", "expected"),
    [
        (date(2025, 3, 3), date(2025, 3, 10), (5, False, False)),
        (date(2025, 3, 7), date(2025, 3, 10), (1, True, False)),  # Friday, due Monday
        (date(2025, 3, 10), date(2025, 3, 10), (0, True, False)),  # deadline day: still on time
        (date(2025, 3, 11), date(2025, 3, 10), (-1, False, True)),
        (date(2025, 3, 8), date(2025, 3, 10), (1, True, False)),
    ],
)
def test_deadline_flags(today: date, deadline: date, expected: tuple[int, bool, bool]) -> None:
    flags = deadline_flags(today, deadline)
    assert (flags.working_days_left, flags.at_risk, flags.overdue) == expected


def test_objection_deadline_working_and_calendar() -> None:
    # Received Friday 2025-12-26: 10 working days skip the January holidays.
    assert objection_deadline(date(2025, 12, 26)) == date(2026, 1, 21)
    calendar_mode = ObjectionRules(mode="calendar")
    # 2025-12-26 + 10 = 2026-01-05 (non-working) → next working day 2026-01-12.
    assert objection_deadline(date(2025, 12, 26), rules=calendar_mode) == date(2026, 1, 12)
    assert objection_deadline(date(2025, 3, 3), rules=calendar_mode) == date(2025, 3, 13)


dates_2020s = st.dates(min_value=date(2016, 1, 1), max_value=date(2034, 12, 31))


@given(d=dates_2020s, n=st.integers(min_value=0, max_value=60))
def test_add_working_days_lands_on_working_day(d: date, n: int) -> None:
    result = add_working_days(d, n)
    assert is_working_day(result)
    assert result >= d
    if n >= 1:
        assert working_days_between(d, result) == n
        assert result > d


@given(d=dates_2020s, n=st.integers(min_value=1, max_value=60))
def test_add_working_days_backwards_inverts(d: date, n: int) -> None:
    result = add_working_days(d, -n)
    assert is_working_day(result)
    # (result, d] holds the n-1 working days stepped over plus d itself when d is a working day.
    assert working_days_between(result, d) == (n if is_working_day(d) else n - 1)
    # Stepping back n working days then forward n returns to d when d itself is a working day.
    if is_working_day(d):
        assert add_working_days(result, n) == d


@given(a=dates_2020s, b=dates_2020s)
def test_working_days_between_antisymmetric(a: date, b: date) -> None:
    assert working_days_between(a, b) == -working_days_between(b, a)


@given(d=dates_2020s, n=st.integers(min_value=1, max_value=30))
def test_override_path_agrees_with_library_path(d: date, n: int) -> None:
    # An override that restates the library's own answer must not change any result.
    far = date(1990, 1, 1)
    rules = CalendarRules(overrides={far: is_working_day(far)})
    assert add_working_days(d, n, rules) == add_working_days(d, n)
    end = d + timedelta(days=n * 2)
    assert working_days_between(d, end, rules) == working_days_between(d, end)
