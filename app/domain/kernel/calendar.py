"""Russian production-calendar arithmetic: working days, deadlines, objection terms (domain-rules §8).

Built on `holidays.RU` (>= 0.107) through `is_working_day` / `get_nth_working_day`. Never test
`d not in RU()`: working Saturdays (2024-04-27, 2024-11-02, 2024-12-28, 2025-11-01) are not holidays, so
membership misses them.
An override table in `CalendarRules` wins over the library for decrees it does not know yet.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import cache
from typing import NamedTuple
from zoneinfo import ZoneInfo

from holidays import HolidayBase, country_holidays

from app.domain.kernel.rules import CalendarRules, ObjectionRules

DEFAULT_CALENDAR = CalendarRules()
_ONE_DAY = timedelta(days=1)


#: GIS counts calendar days (deadlines, request dates) in Moscow time.
MOSCOW = ZoneInfo("Europe/Moscow")


def moscow_today() -> date:
    """Return today's date in Moscow (UTC and most servers' local time flip the day three hours later)."""
    return datetime.now(MOSCOW).date()


@cache
def _russia() -> HolidayBase:
    # Built once: constructing the calendar is costly. Years are pre-populated so that lookups in the usual
    # range never mutate the shared object; others are still added on demand (expand=True).
    # Same object as `holidays.RU(...)`; the factory is the typed entry point.
    return country_holidays("RU", years=range(2015, 2036))


def is_working_day(d: date, rules: CalendarRules = DEFAULT_CALENDAR) -> bool:
    """Tell whether `d` is a working day of the five-day week."""
    override = rules.overrides.get(d)
    if override is not None:
        return override
    return bool(_russia().is_working_day(d))


def add_working_days(d: date, n: int, rules: CalendarRules = DEFAULT_CALENDAR) -> date:
    """Return the n-th working day after `d` (before it if n < 0; for n = 0, `d` or the next working day)."""
    if not rules.overrides:
        result: date = _russia().get_nth_working_day(d, n)
        return result
    # The library cannot see the override table, so step day by day with the combined predicate.
    step = _ONE_DAY if n >= 0 else -_ONE_DAY
    current = d
    for _ in range(abs(n) or 1):
        if n:
            current += step
        while not is_working_day(current, rules):
            current += step
    return current


def working_days_between(a: date, b: date, rules: CalendarRules = DEFAULT_CALENDAR) -> int:
    """Count working days in the half-open interval (a, b]: after `a`, up to and including `b`.

    Negative when `b` precedes `a` (minus the working days in (b, a]); zero when a == b. This inverts
    `add_working_days`: for n >= 1, working_days_between(d, add_working_days(d, n)) == n.
    """
    if a == b:
        return 0
    if b < a:
        return -working_days_between(b, a, rules)
    if not rules.overrides:
        count: int = _russia().get_working_days_count(a + _ONE_DAY, b)
        return count
    return sum(1 for k in range(1, (b - a).days + 1) if is_working_day(a + timedelta(days=k), rules))


class DeadlineFlags(NamedTuple):
    """Where a request stands against its deadline."""

    working_days_left: int
    at_risk: bool
    overdue: bool


def deadline_flags(
    today: date, response_date: date, rules: CalendarRules = DEFAULT_CALENDAR
) -> DeadlineFlags:
    """Flag a request against its GIS `responseDate` (the authoritative deadline, domain-rules §1).

    working_days_left counts the working days after today up to and including the deadline, so it is 0 on
    the deadline day itself (an answer sent that day is still on time) and negative once it has passed.
    at_risk: at most one working day left and not overdue; overdue: today is after the deadline.
    """
    left = working_days_between(today, response_date, rules)
    overdue = today > response_date
    return DeadlineFlags(working_days_left=left, at_risk=not overdue and left <= 1, overdue=overdue)


def objection_deadline(
    received_on: date,
    *,
    rules: ObjectionRules = ObjectionRules(),
    calendar: CalendarRules = DEFAULT_CALENDAR,
) -> date:
    """Return the last day for objections to a court order received on `received_on` (ГПК ст. 128).

    The term starts the day after receipt (ГПК ст. 107 ч. 3). In "working" mode it counts working days only;
    in "calendar" mode a last day that falls on a non-working day moves to the next working day (ГПК ст. 108).
    """
    if rules.mode == "working":
        return add_working_days(received_on, rules.days, calendar)
    return add_working_days(received_on + timedelta(days=rules.days), 0, calendar)
