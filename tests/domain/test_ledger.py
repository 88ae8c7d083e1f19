"""The stored form of an account's ledger: one compact JSON array, amounts with two decimals."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.accounts.ledger import (
    LedgerRecord,
    decode_months,
    encode_months,
    kopecks,
    merge_months,
    money_text,
)


def test_money_text_gives_two_decimals_like_numeric() -> None:
    assert [money_text(v) for v in ("100", "7.5", "007.05", "-12.3", "-0", "-0.00", "0")] == [
        "100.00",
        "7.50",
        "7.05",
        "-12.30",
        "0.00",
        "0.00",
        "0.00",
    ]
    assert money_text(Decimal("999999999999.99")) == "999999999999.99"
    assert money_text(0) == "0.00"


def test_encode_months_sorts_by_period_and_decodes_back() -> None:
    text = encode_months(
        [
            (date(2025, 2, 1), "100", Decimal("50.5"), date(2025, 3, 10)),
            ("2025-01-01", "-10.00", 0, "2025-02-10"),
        ]
    )
    assert (
        text == '[["2025-01-01","-10.00","0.00","2025-02-10"],["2025-02-01","100.00","50.50","2025-03-10"]]'
    )
    assert decode_months(text) == [
        LedgerRecord(date(2025, 1, 1), "-10.00", "0.00", date(2025, 2, 10)),
        LedgerRecord(date(2025, 2, 1), "100.00", "50.50", date(2025, 3, 10)),
    ]
    assert encode_months([]) == "[]" and decode_months("[]") == []


def test_merge_months_replaces_the_periods_given_and_keeps_the_others() -> None:
    old = encode_months(
        [(date(2025, m, 1), "100", "0", date(2025, m + 1, 10)) for m in (1, 2, 3)],
    )
    new = encode_months(
        [(date(2025, 4, 1), "1", "1", date(2025, 5, 10)), (date(2025, 2, 1), "7", "0", date(2025, 3, 20))]
    )
    merged = decode_months(merge_months(old, new))
    assert [(m.period.month, m.charged, m.paid, m.due_date.day) for m in merged] == [
        (1, "100.00", "0.00", 10),
        (2, "7.00", "0.00", 20),
        (3, "100.00", "0.00", 10),
        (4, "1.00", "1.00", 10),
    ]
    assert merge_months(None, new) == new
    assert merge_months(old, old) == old


@given(st.decimals(min_value=-(10**12) + 1, max_value=10**12 - 1, places=2))
def test_kopecks_of_stored_amounts(amount: Decimal) -> None:
    assert kopecks(money_text(amount)) == int(amount * 100)


@pytest.mark.parametrize("amount", ["100", "100.5", "1.005", ""])
def test_kopecks_refuses_what_is_not_a_stored_amount(amount: str) -> None:
    with pytest.raises(ValueError):
        kopecks(amount)
