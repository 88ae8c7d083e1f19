"""Pure rules of an agreement's schedule: instalment dates and amounts, payment matching, breach."""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from datetime import date, timedelta


def instalment_dates(first: date, months: int, day_of_month: int) -> list[date]:
    """Return `months` monthly dates: `first`, then `day_of_month` of each next month (clamped to its end)."""
    out = [first]
    year, month = first.year, first.month
    for _ in range(months - 1):
        month += 1
        if month == 13:
            year, month = year + 1, 1
        out.append(date(year, month, min(day_of_month, calendar.monthrange(year, month)[1])))
    return out


def equal_amounts(total: int, months: int) -> list[int]:
    """Split `total` kopecks into `months` equal instalments; the last one takes the kopecks left over."""
    base = total // months
    return [base] * (months - 1) + [total - base * (months - 1)]


def match_payments(amounts: Sequence[int], paid: int) -> list[int]:
    """Return what of each instalment `paid` kopecks cover, filling the instalments in order."""
    out = []
    left = max(paid, 0)
    for amount in amounts:
        take = min(amount, left)
        out.append(take)
        left -= take
    return out


def is_breached(schedule: Sequence[tuple[date, int, int]], *, today: date, breach_days: int) -> bool:
    """Whether an instalment (due date, amount, paid) is unpaid more than `breach_days` after its date."""
    limit = today - timedelta(days=breach_days)
    return any(paid < amount and due < limit for due, amount, paid in schedule)
