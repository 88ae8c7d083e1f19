"""Premises-number and address-text normalisation: real-world spellings and properties."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.accounts.premises import (
    PremisesKey,
    normalize_address_text,
    normalize_premises,
    parse_premises,
)

SPELLINGS: list[tuple[str, str]] = [
    # flats
    ("кв. 12", "12"),
    ("кв.12", "12"),
    ("кв 12", "12"),
    ("КВ. 12", "12"),
    ("квартира 12", "12"),
    ("Квартира №12", "12"),
    ("кв. № 12", "12"),
    ("№ 12", "12"),
    ("12", "12"),
    (" 12 ", "12"),
    ("012", "12"),
    ("кв. 0012", "12"),
    ("0", "0"),
    ("kb. 12", "12"),  # typed on a Latin keyboard layout: K, B look like К, В
    ("кварт. 7", "7"),
    # letter suffixes
    ("12А", "12А"),
    ("12а", "12А"),
    ("12 а", "12А"),
    ("12-A", "12А"),  # Latin A
    ("12-а", "12А"),
    ("12/а", "12А"),
    ("12a", "12А"),  # Latin a
    ("кв. 12а", "12А"),
    ("кв.12-Б", "12Б"),
    ("квартира 12 б", "12Б"),
    ("12Ё", "12Е"),
    ("12К", "12К"),  # letter К, not a room: nothing follows
    # sub-numbers
    ("12/1", "12/1"),
    ("12-1", "12/1"),
    ("кв. 12/1а", "12/1А"),
    ("12–1", "12/1"),  # en dash
    # non-residential premises
    ("пом. 3Н", "3Н"),
    ("помещение 3-н", "3Н"),
    ("нежилое пом. 3Н", "3Н"),
    ("нежилое помещение 3", "3Н"),
    ("пом. 3-H", "3Н"),  # Latin H
    ("Пом.3н", "3Н"),
    ("офис 15", "15"),
    ("пом. 1", "1"),
    # rooms
    ("комн. 5", "К5"),
    ("к. 5", "К5"),
    ("комната 5", "К5"),
    ("ком. 05", "К5"),
    ("кв. 12 комн. 5", "12К5"),
    ("кв.12, к.5", "12К5"),
    ("12К5", "12К5"),
    ("кв. 12а комн. 3", "12АК3"),
    ("12АК3", "12АК3"),
    # noise around
    ("корп. 2 кв. 5", "5"),
    ("кв. 12 (2 этаж)", "12"),
    # no number at all
    ("пом. IV", "ПОМIV"),
    ("", ""),
    ("  ", ""),
]


@pytest.mark.parametrize(("raw", "key"), SPELLINGS)
def test_normalize_premises_spellings(raw: str, key: str) -> None:
    assert normalize_premises(raw) == key


def test_normalize_premises_table_is_large_enough() -> None:
    assert len(SPELLINGS) >= 40


def test_parse_premises_structure() -> None:
    assert parse_premises("кв. 12 комн. 5") == PremisesKey(number="12", room="5")
    assert parse_premises("нежилое пом. 3") == PremisesKey(number="3", non_residential=True)
    assert parse_premises("комн. 5") == PremisesKey(number=None, room="5")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("г. Москва, ул. Ленина, д. 5", "г москва ул ленина д 5"),
        ("город Москва улица Ленина дом 5", "г москва ул ленина д 5"),
        ("Москва,  Ленинский пр-т, 5", "москва ленинский пр-кт 5"),
        ("Москва, Ленинский проспект, 5", "москва ленинский пр-кт 5"),
        ("пос. Ёлкино, ул. Зелёная, д.1, корп.2", "п елкино ул зеленая д 1 к 2"),
        ("Набережная реки Мойки, 12, кв. 3", "наб реки мойки 12 кв 3"),
    ],
)
def test_normalize_address_text(raw: str, expected: str) -> None:
    assert normalize_address_text(raw) == expected


# --- properties --------------------------------------------------------------------------------------------

CYR_TO_LAT = str.maketrans("АВСЕНКМОРТХУавсенкмортху", "ABCEHKMOPTXYabcehkmoptxy")
letters = st.sampled_from(list("АБВГДЕЖИКЛМНОПРСТУабвгдежиклмнопрсту"))
numbers = st.integers(min_value=1, max_value=9999).map(str)


@st.composite
def premises_numbers(draw: st.DrawFn) -> str:
    number = draw(numbers)
    if draw(st.booleans()):
        number += draw(st.sampled_from(["", " ", "-", "/"])) + draw(letters)
    return number


@given(text=st.text(max_size=40))
def test_normalize_premises_never_raises_and_is_idempotent(text: str) -> None:
    once = normalize_premises(text)
    assert normalize_premises(once) == once


@given(text=st.text(alphabet=st.sampled_from(list("0123456789/-. №кКвВаАнНоОмМпП ")), max_size=20))
def test_normalize_premises_idempotent_on_premises_alphabet(text: str) -> None:
    once = normalize_premises(text)
    assert normalize_premises(once) == once


@given(number=premises_numbers())
def test_normalize_premises_insensitive_to_case_space_and_look_alikes(number: str) -> None:
    key = normalize_premises(number)
    assert normalize_premises(number.lower()) == key
    assert normalize_premises(number.upper()) == key
    assert normalize_premises(f"  {number}\t") == key
    assert normalize_premises(number.translate(CYR_TO_LAT)) == key


@given(
    number=premises_numbers(),
    prefix=st.sampled_from(
        ["кв. ", "кв.", "КВ ", "квартира ", "Квартира № ", "№", "пом. ", "помещение ", "kb "]
    ),
)
def test_normalize_premises_insensitive_to_prefix(number: str, prefix: str) -> None:
    assert normalize_premises(prefix + number) == normalize_premises(number)


@given(number=st.integers(min_value=0, max_value=99999), zeros=st.integers(min_value=0, max_value=3))
def test_normalize_premises_strips_leading_zeros(number: int, zeros: int) -> None:
    assert normalize_premises("0" * zeros + str(number)) == str(number)


@given(text=st.text(max_size=60))
def test_normalize_address_text_idempotent(text: str) -> None:
    once = normalize_address_text(text)
    assert normalize_address_text(once) == once
