"""Normalisation of premises numbers and address text for matching billing accounts to GIS objects.

Billing systems and GIS spell the same flat in many ways ("кв. 12а", "12-A", "квартира 12/а"). Matching needs
one key per premises. Key format (a plain string, so it can be stored and indexed):

* the number without leading zeros, with its letter suffix folded to Cyrillic upper case: "12", "12А";
* sub-numbers after "/" or "-" between digits are kept with "/": "12/1" (dropping them would merge flats);
* non-residential premises keep their own suffix ("3Н"); when the text says "нежилое" and the number has no
  letter, "Н" is appended, the usual marking of non-residential premises, so "нежилое пом. 3" == "3Н";
* a room (комната) is prefixed with "К": "К5" alone, "12К5" for room 5 of flat 12.

Hand-written rather than a library: address parsers (e.g. natasha, libpostal) work on whole addresses and do
not know premises-number conventions; this is a small, fully tested tokenizer.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# Latin letters that look like Cyrillic ones, folded to Cyrillic (after upper-casing).
_LOOK_ALIKES = str.maketrans("ABCEHKMOPTXY", "АВСЕНКМОРТХУ")
_DASHES = str.maketrans(dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212", "-"))
_TOKEN = re.compile(r"[0-9]+|[^\W\d_]+|[/\-]")

_FLAT_MARKERS = frozenset(
    {"КВ", "КВАРТ", "КВАРТИРА", "ПОМ", "ПОМЕЩ", "ПОМЕЩЕНИЕ", "НЕЖ", "НЕЖИЛ", "НЕЖИЛОЕ", "ОФ", "ОФИС"}
)
_ROOM_MARKERS = frozenset({"К", "КОМ", "КОМН", "КОМНАТА"})
_ROOM_PREFIX = "К"
_NON_RESIDENTIAL_SUFFIX = "Н"


@dataclass(frozen=True, slots=True)
class PremisesKey:
    """A parsed premises designation: the flat or premises number and an optional room number."""

    number: str | None
    room: str | None = None
    non_residential: bool = False

    def __str__(self) -> str:
        """Return the matching key (see the module docstring)."""
        number = self.number or ""
        if self.non_residential and number and number[-1].isdigit():
            number += _NON_RESIDENTIAL_SUFFIX
        return number + (f"{_ROOM_PREFIX}{self.room}" if self.room is not None else "")


def _prepare(raw: str) -> str:
    text = unicodedata.normalize("NFKC", raw).upper()
    text = unicodedata.normalize("NFKC", text)
    return text.replace("Ё", "Е").translate(_LOOK_ALIKES).translate(_DASHES)


def _tokens(text: str) -> list[str]:
    return _TOKEN.findall(text)


def _is_num(token: str) -> bool:
    return token.isascii() and token.isdigit()


def _is_word(token: str) -> bool:
    return token not in ("/", "-") and not _is_num(token)


class _Parser:
    """Walks the tokens once; see `parse_premises` for the grammar."""

    def __init__(self, tokens: list[str]) -> None:
        self.tokens = tokens
        self.pos = 0

    def peek(self, offset: int = 0) -> str | None:
        i = self.pos + offset
        return self.tokens[i] if i < len(self.tokens) else None

    def room_marker_ahead(self, word: str, offset: int) -> bool:
        nxt = self.peek(offset)
        return word in _ROOM_MARKERS and nxt is not None and _is_num(nxt)

    def number_group(self) -> str:
        """Parse NUM [LETTER] ( ("/" | "-") NUM [LETTER] )* starting at a NUM token."""
        parts = [self.part()]
        while self.peek() in ("/", "-") and (nxt := self.peek(1)) is not None and _is_num(nxt):
            self.pos += 1
            parts.append(self.part())
        return "/".join(parts)

    def part(self) -> str:
        number = self.tokens[self.pos].lstrip("0") or "0"
        self.pos += 1
        # A separator may stand between the digits and the letter: "12-А", "12/а", "12 а".
        skip = 1 if self.peek() in ("/", "-") else 0
        word = self.peek(skip)
        if word is None or not _is_word(word):
            return number
        if len(word) == 1 and not self.room_marker_ahead(word, skip + 1):
            self.pos += skip + 1
            return number + word
        if len(word) == 2 and word[1] == _ROOM_PREFIX and (nxt := self.peek(skip + 1)) and _is_num(nxt):
            # "12АК5" (the key of room 5 in flat 12А): the letters run together; split suffix and marker.
            self.tokens[self.pos + skip] = word[1]
            self.pos += skip
            return number + word[0]
        return number

    def parse(self) -> PremisesKey:
        flat: str | None = None
        flat_marked = False
        room: str | None = None
        mode = "flat"
        non_residential = False
        while (token := self.peek()) is not None:
            if _is_num(token):
                group = self.number_group()
                if mode == "room":
                    room = room or group
                elif flat is None or (mode == "marked" and not flat_marked):
                    flat, flat_marked = group, mode == "marked"
                mode = "flat"
                continue
            self.pos += 1
            if token.startswith("НЕЖ"):
                non_residential = True
            if self.room_marker_ahead(token, 0):
                mode = "room"
            elif token in _FLAT_MARKERS:
                mode = "marked"
        return PremisesKey(number=flat, room=room, non_residential=non_residential)


def parse_premises(raw: str) -> PremisesKey:
    """Parse a premises designation ("кв. 12а", "пом. 3-Н", "комн. 5") into a PremisesKey.

    Marker words (кв., квартира, пом., помещение, нежилое, офис; комн., к. for rooms) are recognised; other
    words are ignored. A number after a flat marker wins over an unmarked one ("корп. 2 кв. 5" → 5).
    """
    return _Parser(_tokens(_prepare(raw))).parse()


def normalize_premises(raw: str) -> str:
    """Return the matching key of a premises designation; text without any number is returned compacted."""
    text = _prepare(raw)
    tokens = _tokens(text)
    key = _Parser(list(tokens)).parse()
    if key.number is None and key.room is None:
        # No number at all (e.g. Roman numerals "пом. IV"): compare the letters only, separators removed.
        return "".join(t for t in tokens if t not in ("/", "-"))
    return str(key)


# --- free-text addresses ---------------------------------------------------------------------------------

# Spelled-out and abbreviated street and settlement types, mapped to one short form (ФИАС-style).
_ADDRESS_WORDS: dict[str, str] = {
    "улица": "ул",
    "ул": "ул",
    "проспект": "пр-кт",
    "пр-кт": "пр-кт",
    "пр-т": "пр-кт",
    "просп": "пр-кт",
    "переулок": "пер",
    "пер": "пер",
    "бульвар": "б-р",
    "б-р": "б-р",
    "бул": "б-р",
    "шоссе": "ш",
    "ш": "ш",
    "набережная": "наб",
    "наб": "наб",
    "площадь": "пл",
    "пл": "пл",
    "проезд": "проезд",
    "пр-д": "проезд",
    "тупик": "туп",
    "туп": "туп",
    "микрорайон": "мкр",
    "мкр": "мкр",
    "мкрн": "мкр",
    "город": "г",
    "гор": "г",
    "г": "г",
    "поселок": "п",
    "пос": "п",
    "п": "п",
    "село": "с",
    "с": "с",
    "область": "обл",
    "обл": "обл",
    "район": "р-н",
    "р-н": "р-н",
    "республика": "респ",
    "респ": "респ",
    "дом": "д",
    "д": "д",
    "корпус": "к",
    "корп": "к",
    "к": "к",
    "строение": "стр",
    "стр": "стр",
    "квартира": "кв",
    "кв": "кв",
    "помещение": "пом",
    "пом": "пом",
}
_ADDRESS_TOKEN = re.compile(r"[^\W_]+(?:-[^\W_]+)*")


def normalize_address_text(text: str) -> str:
    """Return address text in a comparable form: lower case, ё → е, one spelling per type word."""
    prepared = unicodedata.normalize("NFKC", text).lower().replace("ё", "е")
    words = [_ADDRESS_WORDS.get(word, word) for word in _ADDRESS_TOKEN.findall(prepared)]
    return " ".join(words)
