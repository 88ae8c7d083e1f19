"""Pure monthly debt figures of one account: charged, paid, overdue debt and its ageing (domain-rules §11).

Conventions (docs/monitoring.md):
- a ledger month's `paid` counts as paid in that month (billing reports payments by billing month);
- an account's overpaid months (paid > charged) and credits are set against its oldest unpaid months first;
- debt at month end is the unpaid charge of months whose due date is before the month's last day (overdue),
  aged by whole months since the due date's month: due in the snapshot month → 1 month overdue.
"""

from __future__ import annotations

import calendar
import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import NamedTuple

from app.domain.accounts.ledger import LedgerRecord, kopecks

#: Ageing buckets by months overdue (domain-rules §11): (name, first month, last month or None for no end).
BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("age_1", 0, 1),
    ("age_2_3", 2, 3),
    ("age_4_6", 4, 6),
    ("age_7_12", 7, 12),
    ("age_13_36", 13, 36),
    ("age_over_36", 37, None),
)
BUCKET_NAMES = tuple(b[0] for b in BUCKETS)


def month_end(month: date) -> date:
    """Return the last day of a month given by any of its days."""
    return month.replace(day=calendar.monthrange(month.year, month.month)[1])


def first_of_month_of(day: date) -> date:
    """Return the first day of the month of `day`."""
    return day.replace(day=1)


def months_between(earlier: date, later: date) -> int:
    """Return how many calendar months lie from `earlier`'s month to `later`'s month."""
    return (later.year * 12 + later.month) - (earlier.year * 12 + earlier.month)


def bucket_of(months_overdue: int) -> str:
    """Return the ageing bucket of a debt this many months overdue."""
    for name, _low, high in BUCKETS:
        if high is None or months_overdue <= high:
            return name
    raise AssertionError("the last bucket has no end")  # pragma: no cover


@dataclass
class AccountMonth:
    """One account's figures at the end of one month, in kopecks."""

    charged: int = 0
    paid: int = 0
    debt: int = 0
    ages: dict[str, int] = field(default_factory=lambda: dict.fromkeys(BUCKET_NAMES, 0))
    #: Months overdue of the oldest unpaid overdue month (0 without debt).
    oldest_overdue: int = 0
    #: Whether the account was billed by the month's end (has any ledger month up to it).
    billed: bool = False
    #: The overdue unpaid months, oldest first: (period, unpaid kopecks, months overdue).
    overdue_months: list[tuple[date, int, int]] = field(default_factory=list)


def account_month(months: Sequence[LedgerRecord], month: date, as_of: date | None = None) -> AccountMonth:
    """Compute an account's charged, paid, overdue debt and ageing for the month starting `month`.

    Debt is what is overdue on `as_of` (default: the month's last day).
    """
    out = AccountMonth()
    last_day = as_of or month_end(month)
    unpaid: list[tuple[LedgerRecord, int]] = []
    credit = 0
    for rec in months:  # oldest first (the stored order)
        if rec.period > month:
            break
        out.billed = True
        charged, paid = kopecks(rec.charged), kopecks(rec.paid)
        if rec.period == month:
            out.charged += charged
            out.paid += paid
        rest = charged - paid
        if rest > 0:
            unpaid.append((rec, rest))
        else:
            credit -= rest
    for rec, rest in unpaid:
        if credit >= rest:
            credit -= rest
            continue
        rest -= credit
        credit = 0
        if rec.due_date >= last_day:
            continue  # not yet overdue at the month's end
        overdue = months_between(rec.due_date, last_day) + 1
        out.ages[bucket_of(overdue)] += rest
        out.debt += rest
        out.oldest_overdue = max(out.oldest_overdue, overdue)
        out.overdue_months.append((rec.period, rest, overdue))
    return out


#: Ageing bucket index by months overdue, for the stored-ledger path (beyond the table: the last bucket).
_BUCKET_INDEX = tuple(BUCKET_NAMES.index(bucket_of(n)) for n in range(0, 121))
_NO_AGES = (0,) * len(BUCKET_NAMES)


class StoredMonth(NamedTuple):
    """One account's figures of one month from its stored ledger, in kopecks (`account_month`'s numbers)."""

    charged: int
    paid: int
    debt: int
    #: Debt by ageing bucket, in `BUCKET_NAMES` order.
    ages: tuple[int, ...]
    oldest_overdue: int


@functools.lru_cache(maxsize=64)
def _bounds(month: date, last_day: date | None) -> tuple[str, str, int]:
    return month.isoformat(), (last_day or month_end(month)).isoformat(), month.year * 12 + month.month


def stored_month(
    months: Sequence[Sequence[str]], month: date, last_day: date | None = None
) -> StoredMonth | None:
    """Apply `account_month`'s rule to a stored ledger as JSON-decoded lists of text, without decoding it.

    The snapshot's pass over a million ledgers spends most of its time turning text into dates and
    records; the stored form (ISO dates, amounts with two decimals, sorted by period: `accounts.ledger`)
    compares and converts as text just as well. None when the account was not billed by the month's end.
    Tested to give `account_month`'s figures.
    """
    first, last, last_index = _bounds(month, last_day)
    charged = paid = credit = 0
    unpaid: list[tuple[str, int]] = []
    billed = False
    for period, charged_text, paid_text, due in months:
        if period > first:
            break
        billed = True
        if charged_text == paid_text and period != first:
            continue  # paid exactly: neither debt nor credit (most months of most accounts)
        c, p = int(charged_text.replace(".", "", 1)), int(paid_text.replace(".", "", 1))
        if period == first:
            charged += c
            paid += p
        if c > p:
            unpaid.append((due, c - p))
        else:
            credit += p - c
    if not billed:
        return None
    if not unpaid:
        return StoredMonth(charged, paid, 0, _NO_AGES, 0)
    debt = oldest = 0
    ages = [0] * len(BUCKET_NAMES)
    for due, rest in unpaid:
        if credit >= rest:
            credit -= rest
            continue
        rest -= credit
        credit = 0
        if due >= last:
            continue  # not yet overdue at the month's end
        overdue = last_index - (int(due[:4]) * 12 + int(due[5:7])) + 1
        ages[_BUCKET_INDEX[overdue] if overdue < len(_BUCKET_INDEX) else -1] += rest
        debt += rest
        if overdue > oldest:
            oldest = overdue
    return StoredMonth(charged, paid, debt, tuple(ages), oldest)
