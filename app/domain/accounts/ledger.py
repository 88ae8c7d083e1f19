"""The stored form of an account's ledger: all its billing months in one row, as one compact JSON array.

`account_ledgers.months` (migration 0007) holds `[["2025-01-01","1234.50","1000.00","2025-02-10"],…]`: the
period (first day of the billing month), charged, paid and due date of every month, sorted by period, the
amounts as decimal strings with exactly two decimals (what the former numeric(14,2) columns gave back).

Why one row per account rather than one per month: the bulk import COPYs whole ledgers, and 12 rows per
account with their primary-key entries were the largest part of its database time (35 of 90 µs of
statement time an account on a 100k import, against 8 µs for one text value); and every reader loads an
account's ledger whole anyway (summaries, court readiness, debt answers). Text, not json or jsonb:
PostgreSQL validates or converts those on COPY (≈ 1.7× and 2× the time of text for 100k ledgers), and
nothing queries inside the value in SQL but the import's merge of a re-imported account, which casts.

The writers produce this text (`encode_months`, and the import's fast encoder, tested to give the same bytes);
every reader decodes it with `decode_months`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import NamedTuple


class LedgerRecord(NamedTuple):
    """One stored billing month; amounts as decimal strings with two decimals (`kopecks` reads them)."""

    period: date
    charged: str
    paid: str
    due_date: date


def money_text(value: str | Decimal | int) -> str:
    """Return an amount as stored: a decimal string with exactly two decimals ("-0" → "0.00", "7.5" → "7.50").

    Values carry at most two decimals (the import validates them), so nothing is rounded.
    """
    amount = Decimal(value)
    # Decimal keeps the sign of zero ("-0.00"); numeric(14,2) never did.
    return f"{amount:.2f}" if amount else "0.00"


def _day_text(day: date | str) -> str:
    return day if isinstance(day, str) else day.isoformat()


def encode_months(
    months: Iterable[tuple[date | str, str | Decimal | int, str | Decimal | int, date | str]],
) -> str:
    """Encode (period, charged, paid, due date) months as the stored JSON text, sorted by period.

    Dates may be `date` objects or ISO text, amounts anything `money_text` takes; a period appears once.
    """
    items = sorted(
        (_day_text(period), money_text(charged), money_text(paid), _day_text(due))
        for period, charged, paid, due in months
    )
    # Every value is a date or a plain decimal: nothing to escape, so the JSON is written directly, in the
    # exact form the import's fast encoder writes (app.domain.accounts.import_fast).
    return "[" + ",".join(f'["{p}","{c}","{d}","{u}"]' for p, c, d, u in items) + "]"


#: Memo of parsed dates: a ledger repeats the same few periods and due dates over every account.
_DATES: dict[str, date] = {}
_DATES_MAX = 100_000


def _day(text: str) -> date:
    day = _DATES.get(text)
    if day is None:
        if len(_DATES) >= _DATES_MAX:
            _DATES.clear()
        day = _DATES[text] = date.fromisoformat(text)
    return day


def parse_day(text: str) -> date:
    """Return the date of a stored ISO date text (memoised: ledgers repeat the same few dates)."""
    return _day(text)


def decode_months(text: str) -> list[LedgerRecord]:
    """Decode a stored ledger into its months, oldest first."""
    return [LedgerRecord(_day(p), c, d, _day(u)) for p, c, d, u in json.loads(text)]


def kopecks(amount: str) -> int:
    """Return a stored amount ("1234.50", always two decimals) in kopecks (123450)."""
    # Dropping the point is exact only with two decimals: refuse anything else rather than misread it.
    if amount[-3:-2] != ".":
        raise ValueError(f"not a stored ledger amount: {amount!r}")
    return int(amount.replace(".", "", 1))


def merge_months(old: str | None, new: str) -> str:
    """Return a stored ledger with the months of `new` replacing those of the same periods in `old`.

    What a re-import does: the months in the file replace the stored ones; stored months absent from the
    file are kept (billing may send only recent months).
    """
    if not old:
        return new
    by_period = {m[0]: m for m in json.loads(old)}
    by_period.update((m[0], m) for m in json.loads(new))
    return encode_months(by_period.values())
