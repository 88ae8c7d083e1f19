"""СНИЛС normalisation, checksum, formatting and generation."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.kernel.errors import RuleViolation
from app.domain.kernel.snils import (
    format_snils,
    is_valid_snils,
    normalize_snils,
    random_valid_snils,
    snils_check_digits,
)


@pytest.mark.parametrize(
    "raw",
    ["112-233-445 95", "11223344595", " 112 233 445 95 ", "112-233-445-95", "112\u00a0233\u00a0445\u00a095"],
)
def test_normalize_snils_accepts_spellings(raw: str) -> None:
    assert normalize_snils(raw) == "11223344595"


@pytest.mark.parametrize(
    "raw", ["", "1122334459", "112233445950", "112-233-445 9a", "１１２２３３４４５９５"]
)
def test_normalize_snils_rejects(raw: str) -> None:
    with pytest.raises(RuleViolation) as caught:
        normalize_snils(raw)
    assert raw.strip() == "" or raw not in str(caught.value)


@pytest.mark.parametrize(
    ("first9", "check"),
    [
        ("112233445", "95"),  # sum 95 < 100
        ("001001999", "65"),  # first number after the unchecked range: 7 + 4 + 27 + 18 + 9
        ("000000000", "00"),
        ("999999999", "01"),  # 405 mod 101 = 1
        ("100000001", "10"),  # 9 + 1
    ],
)
def test_snils_check_digits(first9: str, check: str) -> None:
    assert snils_check_digits(first9) == check


@pytest.mark.parametrize(
    "first9",
    [
        "920000100",  # weighted sum 81 + 16 + 3 = 100
        "920000101",  # 101
        "996100000",  # 81 + 72 + 42 + 6 = 201, and 201 mod 101 = 100
    ],
)
def test_snils_check_digits_special_sums_give_00(first9: str) -> None:
    assert snils_check_digits(first9) == "00"


def test_is_valid_snils() -> None:
    assert is_valid_snils("112-233-445 95")
    assert not is_valid_snils("112-233-445 96")
    assert not is_valid_snils("not a snils")
    # Numbers up to 001-001-998 are not checksummed.
    assert is_valid_snils("001-001-998 77")
    assert not is_valid_snils("001-001-999 77")


def test_format_snils() -> None:
    assert format_snils("11223344595") == "112-233-445 95"


@given(seed=st.integers())
def test_random_valid_snils_is_valid(seed: int) -> None:
    value = random_valid_snils(random.Random(seed))
    assert len(value) == 11 and value.isdigit()
    assert is_valid_snils(value)
    assert normalize_snils(format_snils(value)) == value


@given(first9=st.from_regex(r"\A[0-9]{9}\Z"), wrong=st.integers(min_value=1, max_value=99))
def test_is_valid_snils_detects_wrong_check(first9: str, wrong: int) -> None:
    right = int(snils_check_digits(first9))
    bad = f"{(right + wrong) % 100:02d}"
    if int(first9) > 1001998:
        assert not is_valid_snils(first9 + bad)
    assert is_valid_snils(first9 + snils_check_digits(first9))


@given(text=st.text(max_size=30))
def test_is_valid_snils_never_raises(text: str) -> None:
    assert isinstance(is_valid_snils(text), bool)
