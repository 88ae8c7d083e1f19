"""СНИЛС (insurance account number): normalisation, the official checksum, formatting, test data.

A СНИЛС is personal data: never log it, and never put the value into an exception message.
Checksum (Пенсионный фонд rules): the first nine digits weighted 9..1 from the left are summed; a sum
under 100 is the check number, 100 and 101 give 00, a larger sum is taken mod 101 (100 again giving 00).
Numbers up to 001-001-998 were issued before the checksum existed and are not checked.
"""

from __future__ import annotations

import random
import re

from app.domain.kernel.errors import RuleViolation

_SEPARATORS = re.compile(r"[\s\-‐-―]+")  # spaces (incl. NBSP) and ASCII/Unicode dashes
_LAST_UNCHECKED = 1001998


def normalize_snils(s: str) -> str:
    """Return the 11 digits of a СНИЛС written with or without separators; raise RuleViolation otherwise."""
    digits = _SEPARATORS.sub("", s)
    if len(digits) != 11 or not digits.isascii() or not digits.isdigit():
        # The value itself stays out of the message: it is personal data.
        raise RuleViolation(detail="СНИЛС must consist of 11 digits.", rule="snils_format")
    return digits


def snils_check_digits(first9: str) -> str:
    """Return the two check digits for the first nine digits of a СНИЛС."""
    if len(first9) != 9 or not first9.isascii() or not first9.isdigit():
        raise RuleViolation(detail="The СНИЛС number part must consist of 9 digits.", rule="snils_format")
    total = sum(int(digit) * weight for digit, weight in zip(first9, range(9, 0, -1), strict=True))
    if total < 100:
        check = total
    elif total in (100, 101):
        check = 0
    else:
        check = total % 101
        if check == 100:
            check = 0
    return f"{check:02d}"


def is_valid_snils(s: str) -> bool:
    """Tell whether `s` is a well-formed СНИЛС with a correct checksum."""
    try:
        digits = normalize_snils(s)
    except RuleViolation:
        return False
    if int(digits[:9]) <= _LAST_UNCHECKED:
        return True
    return snils_check_digits(digits[:9]) == digits[9:]


def format_snils(s: str) -> str:
    """Return a СНИЛС in the printed form "123-456-789 01"."""
    d = normalize_snils(s)
    return f"{d[:3]}-{d[3:6]}-{d[6:9]} {d[9:]}"


def random_valid_snils(rng: random.Random) -> str:
    """Return a random checksummed СНИЛС (11 digits) for seeding test and demo data."""
    first9 = f"{rng.randint(_LAST_UNCHECKED + 1, 999_999_999):09d}"
    return first9 + snils_check_digits(first9)
