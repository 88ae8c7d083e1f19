"""Fast path of the accounts import's JSONL encoder: msgspec decoding straight to COPY text.

The pydantic models of `app.domain.accounts.rows` (`AccountIn` …) stay the specification of a valid row and
produce the rejection report. Validating a row with them and encoding it through `add_row` and `copy_text`
cost ≈ 70 µs of CPU a row, as much as PostgreSQL's side of the load. This module decodes a line with msgspec
into plain structs and builds the COPY lines directly, accepting only a conservative subset of what the models
accept: canonical values (lowercase hyphenated UUIDs, `YYYY-MM-DD` dates, ASCII digits in amounts and codes,
strings without surrounding whitespace, JSON booleans) that the models take as they are. Anything else, valid
or not, returns None and the caller validates that line with the models, so the fast path never accepts a row
the models reject and, when it accepts, produces the very bytes the model path would
(`tests/domain/test_accounts_import_encoder.py` checks both with hypothesis).
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import msgspec
from pydantic import ValidationError

from app.db.bulk_accounts import CopyRows, copy_line, copy_value
from app.domain.accounts.ledger import money_text
from app.domain.accounts.readers import peek_number, read_jsonl
from app.domain.accounts.rows import (
    CONSUMER_CATEGORIES,
    ID_NAMESPACE,
    RESIDENTIAL_KINDS,
    AccountIn,
    ImportChunk,
    RowProblem,
    add_row,
    due_text,
    fold,
    premises_norm,
    row_problems,
)
from app.domain.kernel.snils import is_valid_snils, normalize_snils

# --- decoding: plain structs, every scalar as the JSON type the fast path accepts -------------------------
# Dates and UUIDs are decoded as strings and checked for their canonical form below: then the text that goes
# into COPY is the input string itself, as `date.isoformat()` / `str(UUID)` of the models' values would be.


class _Document(msgspec.Struct, forbid_unknown_fields=True):
    type: str
    number: str
    series: str | None = None


class _Payer(msgspec.Struct, forbid_unknown_fields=True):
    kind: str
    last_name: str | None = None
    first_name: str | None = None
    middle_name: str | None = None
    birth_date: str | None = None
    birth_place: str | None = None
    snils: str | None = None
    document: _Document | None = None
    inn: str | None = None
    name: str | None = None
    ogrn: str | None = None


class _Premises(msgspec.Struct, forbid_unknown_fields=True):
    fias_house_guid: str
    number: str
    hm_object_guid: str | None = None
    address: str | None = None
    region: str | None = None
    kind: str = "apartment"
    cadastral_number: str | None = None
    gis_premises_guid: str | None = None
    share_percent: str | None = None


class _Month(msgspec.Struct, forbid_unknown_fields=True):
    period: str
    charged: str
    # The model's `paid` is NotRequired but not nullable: UNSET tells absent from null (null falls back).
    paid: str | msgspec.UnsetType = msgspec.UNSET
    due_date: str | None = None


class _Account(msgspec.Struct, forbid_unknown_fields=True):
    account_number: str
    payer: _Payer
    premises: list[_Premises]
    els: str | None = None
    zhku_id: str | None = None
    gis_account_guid: str | None = None
    opened_on: str | None = None
    closed_on: str | None = None
    closed: bool = False
    dispute: bool = False
    bankruptcy: bool = False
    consumer_category: str = "unknown"
    ledger: list[_Month] = []
    phone: str | None = None
    email: str | None = None


_DECODER = msgspec.json.Decoder(_Account)

# --- canonical forms ------------------------------------------------------------------------------------
# Explicit ASCII classes: the models' patterns run in pydantic's regex engine, where \d is any Unicode digit;
# the fast path takes only what both read the same way and leaves the rest to the models.

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_MONEY = re.compile(r"-?[0-9]{1,12}(?:\.[0-9]{1,2})?")
_PAID = re.compile(r"[0-9]{1,12}(?:\.[0-9]{1,2})?")
# 0 … 100 with at most 2 decimals and no leading zero: str(Decimal(s)) == s, ≤ 5 digits.
_SHARE = re.compile(r"(?:0|[1-9][0-9]?)(?:\.[0-9]{1,2})?|100(?:\.0{1,2})?")
_ELS = re.compile(r"[0-9A-Za-zА-Яа-яЁё]{10}")
_ZHKU = re.compile(r"[0-9A-Za-zА-Яа-яЁё\-]{13}")
_REGION = re.compile(r"[0-9]{2}")
_INN = re.compile(r"[0-9]{10}(?:[0-9]{2})?")
_OGRN = re.compile(r"[0-9]{13}(?:[0-9]{2})?")
_PREMISES_KINDS = frozenset({"apartment", "non_residential", "room", "house_block"})
_PHONE = re.compile(r"\+7[0-9]{10}")
# Plain ASCII addresses of ≤ 254 characters: what `normalize_email` keeps as it is.
_EMAIL = re.compile(r"(?=.{6,254}$)[A-Za-z0-9._%+\-]{1,64}@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+")

#: Memo of checked values: a file has few distinct dates and amounts. Bounded: cleared when full. Imports
#: running in threads of one process share them: single dict operations only (a clear between a membership
#: test and a lookup would raise), a lost entry is merely checked again.
_MEMO_MAX = 200_000
_dates: dict[str, bool] = {}
_periods: dict[str, str | None] = {}
#: Amount text → its stored form (`money_text`), "" when the fast path declines it.
_amounts: dict[str, str] = {}
_paid: dict[str, str] = {}


def _money(cache: dict[str, str], pattern: re.Pattern[str], value: str) -> str:
    """Return the stored form of an amount the pattern accepts, else "" (memoised)."""
    stored = cache.get(value)
    if stored is None:
        if len(cache) >= _MEMO_MAX:
            cache.clear()
        stored = cache[value] = money_text(value) if pattern.fullmatch(value) else ""
    return stored


def _valid_date(value: str) -> bool:
    ok = _dates.get(value)
    if ok is None:
        ok = _ISO_DATE.fullmatch(value) is not None
        if ok:
            try:
                date.fromisoformat(value)
            except ValueError:
                ok = False
        if len(_dates) >= _MEMO_MAX:
            _dates.clear()
        _dates[value] = ok
    return ok


def _period_due(value: str) -> str | None:
    """Return the statutory due date's text of a valid first-of-month period, else None."""
    due = _periods.get(value, "")
    if due != "":
        return due
    due = due_text(date.fromisoformat(value)) if _valid_date(value) and value.endswith("-01") else None
    if len(_periods) >= _MEMO_MAX:
        _periods.clear()
    _periods[value] = due
    return due


def _plain(value: str, max_length: int, min_length: int = 0) -> bool:
    # The models strip surrounding whitespace (str_strip_whitespace); the fast path takes only strings that
    # have none. Python's str.strip() strips a superset of what pydantic's does, so equality here means
    # pydantic would not change the string either.
    return min_length <= len(value) <= max_length and value.strip() == value


def _opt(value: str | None, max_length: int) -> bool:
    return value is None or _plain(value, max_length)


_SNILS_WEIGHTS = tuple(range(9, 0, -1))
_LAST_UNCHECKED_SNILS = 1001998  # app.domain.kernel.snils: numbers issued before the checksum existed


def _plain_snils(value: str) -> bool:
    """Tell whether a СНИЛС written as 11 plain digits is valid: `is_valid_snils`, minus its regex."""
    if len(value) != 11 or not value.isascii() or not value.isdigit():
        return False
    if int(value[:9]) <= _LAST_UNCHECKED_SNILS:
        return True
    digits = value.encode()[:9]
    total = sum(w * (c - 48) for w, c in zip(_SNILS_WEIGHTS, digits, strict=True))  # 48: ord("0")
    check = total if total < 100 else total % 101 % 100  # 100 and 101 (and 100 mod 101) give 00
    return value[9:] == f"{check:02d}"


# --- ids --------------------------------------------------------------------------------------------------

_NS_SHA1 = hashlib.sha1(ID_NAMESPACE.bytes)
_VARIANT = {c: "89ab"[int(c, 16) & 3] for c in "0123456789abcdef"}


def uuid5_text(name: str) -> str:
    """Return `str(uuid.uuid5(ID_NAMESPACE, name))`, without building UUID objects (hashlib directly)."""
    h = _NS_SHA1.copy()
    h.update(name.encode())
    x = h.hexdigest()
    # RFC 4122 version 5: version nibble 5, variant bits 10.
    return f"{x[:8]}-{x[8:12]}-5{x[13:16]}-{_VARIANT[x[16]]}{x[17:20]}-{x[20:32]}"


_house_ids: dict[str, str] = {}


def _house_id(fias: str) -> str:
    hid = _house_ids.get(fias)
    if hid is None:
        if len(_house_ids) >= _MEMO_MAX:
            _house_ids.clear()
        hid = _house_ids[fias] = uuid5_text(f"house:{fias}")
    return hid


# --- encoding ---------------------------------------------------------------------------------------------

_N = "\\N"


def _t(value: str | None) -> str:
    return _N if value is None else copy_value(value)


def _bool(value: bool) -> str:
    return "t" if value else "f"


class TextChunk:
    """A chunk's COPY lines keyed by id text; a later row of an account replaces the earlier one."""

    __slots__ = ("houses", "premises", "accounts", "links", "ledger", "months", "superseded")

    def __init__(self) -> None:
        self.houses: dict[str, str] = {}
        self.premises: dict[str, str] = {}
        self.accounts: dict[str, str] = {}
        self.links: dict[str, str] = {}
        self.ledger: dict[str, str] = {}
        self.months: dict[str, int] = {}
        self.superseded = 0


def encode_line(chunk: TextChunk, line: bytes, organisation: str) -> bool:
    """Add a JSONL line to the chunk if the fast path can vouch for it; False: validate it with the models."""
    try:
        acc = _DECODER.decode(line)
    except (msgspec.DecodeError, UnicodeDecodeError):  # invalid UTF-8 in a key raises the latter
        return False
    if not (1 <= len(acc.premises) <= 50 and len(acc.ledger) <= 600 and _plain(acc.account_number, 30, 1)):
        return False
    payer = acc.payer
    if payer.kind == "person":
        if not payer.last_name or not payer.first_name:
            return False
    elif payer.kind != "organisation" or not payer.name:
        return False
    doc = payer.document
    if not (
        _opt(payer.last_name, 100)
        and _opt(payer.first_name, 100)
        and _opt(payer.middle_name, 100)
        and _opt(payer.birth_place, 500)
        and _opt(payer.name, 500)
        and (payer.birth_date is None or _valid_date(payer.birth_date))
        and (payer.inn is None or _INN.fullmatch(payer.inn) is not None)
        and (payer.ogrn is None or _OGRN.fullmatch(payer.ogrn) is not None)
        and (acc.els is None or _ELS.fullmatch(acc.els) is not None)
        and (acc.zhku_id is None or _ZHKU.fullmatch(acc.zhku_id) is not None)
        and (acc.gis_account_guid is None or _UUID.fullmatch(acc.gis_account_guid) is not None)
        and (acc.opened_on is None or _valid_date(acc.opened_on))
        and (acc.closed_on is None or _valid_date(acc.closed_on))
        and acc.consumer_category in CONSUMER_CATEGORIES
        # Contacts only in their stored form (the models normalise the rest).
        and (acc.phone is None or _PHONE.fullmatch(acc.phone) is not None)
        and (acc.email is None or _EMAIL.fullmatch(acc.email) is not None)
        and (doc is None or (_plain(doc.type, 20, 1) and _plain(doc.number, 40, 1) and _opt(doc.series, 20)))
    ):
        return False
    snils = payer.snils
    if snils == "":
        snils = None
    elif snils is not None and not _plain_snils(snils):
        if snils.strip() != snils or not is_valid_snils(snils):
            return False
        snils = normalize_snils(snils)
    # ISO dates compare as text.
    if acc.opened_on and acc.closed_on and acc.closed_on < acc.opened_on:
        return False

    account_id = uuid5_text(f"account:{organisation}:{acc.account_number}")
    houses: list[tuple[str, str]] = []
    premises: list[tuple[str, str]] = []
    links: dict[str, str] = {}
    for p in acc.premises:
        if not (
            _UUID.fullmatch(p.fias_house_guid)
            and _plain(p.number, 100, 1)
            and p.kind in _PREMISES_KINDS
            and (p.hm_object_guid is None or _UUID.fullmatch(p.hm_object_guid))
            and (p.gis_premises_guid is None or _UUID.fullmatch(p.gis_premises_guid))
            and (p.region is None or _REGION.fullmatch(p.region))
            and _opt(p.address, 1000)
            and _opt(p.cadastral_number, 40)
            and (p.share_percent is None or _SHARE.fullmatch(p.share_percent))
        ):
            return False
        house_id = _house_id(p.fias_house_guid)
        houses.append(
            (
                house_id,
                f"{house_id}\t{p.fias_house_guid}\t{p.hm_object_guid or _N}\t{_t(p.address)}\t"
                f"{p.region or _N}\n",
            )
        )
        norm = premises_norm(p.number, p.kind)
        premises_id = uuid5_text(f"premises:{house_id}:{norm}")
        premises.append(
            (
                premises_id,
                f"{premises_id}\t{house_id}\t{copy_value(p.number)}\t{copy_value(norm)}\t{p.kind}\t"
                f"{_bool(p.kind in RESIDENTIAL_KINDS)}\t{_t(p.cadastral_number)}\t"
                f"{p.gis_premises_guid or _N}\n",
            )
        )
        links[premises_id] = f"{account_id}\t{premises_id}\t{p.share_percent or _N}\n"

    months: list[str] = []
    previous = ""
    ordered = True
    # The hot loop (12 months a row): memo lookups inline, the checks only for values not seen yet.
    periods, amounts, paid_amounts = _periods, _amounts, _paid
    for m in acc.ledger:
        period = m.period
        due = periods.get(period) or _period_due(period)
        if due is None:
            return False
        charged = amounts.get(m.charged) or _money(amounts, _MONEY, m.charged)
        paid = (
            "0.00"
            if m.paid is msgspec.UNSET
            else paid_amounts.get(m.paid) or _money(paid_amounts, _PAID, m.paid)
        )
        if not charged or not paid:
            return False
        if m.due_date is not None:
            if not _valid_date(m.due_date):
                return False
            due = m.due_date
        # The stored ledger (app.domain.accounts.ledger.encode_months): canonical ISO dates and plain decimals
        # need no JSON escaping, and they sort as text as they do as dates.
        months.append(f'["{period}","{charged}","{paid}","{due}"]')
        if period <= previous:
            ordered = False
        previous = period
    if not ordered:
        # Billing sends months in order; otherwise sort them (a month's text starts with its period) and
        # decline repeated periods (strictly increasing periods cannot repeat).
        months.sort()
        if len({m[:14] for m in months}) != len(months):
            return False

    # Accepted: from here on nothing can refuse the row.
    last, first, middle = payer.last_name, payer.first_name, payer.middle_name
    chunk.houses.update(houses)
    chunk.premises.update(premises)
    if account_id in chunk.accounts:
        chunk.superseded += 1
    chunk.accounts[account_id] = (
        "\t".join(
            (
                account_id,
                organisation,
                copy_value(acc.account_number),
                acc.els.upper() if acc.els else _N,
                acc.zhku_id.upper() if acc.zhku_id else _N,
                acc.gis_account_guid or _N,
                acc.opened_on or _N,
                acc.closed_on or _N,
                _bool(acc.closed or acc.closed_on is not None),
                _bool(acc.dispute),
                _bool(acc.bankruptcy),
                payer.kind,
                _t(last),
                _t(first),
                _t(middle),
                copy_value(fold(f"{last} {first}")) if last and first else _N,
                copy_value(fold(middle)) if middle else _N,
                payer.birth_date or _N,
                _t(payer.birth_place),
                snils or _N,
                _t(doc.type) if doc else _N,
                _t(doc.series) if doc else _N,
                _t(doc.number) if doc else _N,
                payer.inn or _N,
                _t(payer.name),
                payer.ogrn or _N,
                acc.consumer_category,
                acc.phone or _N,
                acc.email or _N,
            )
        )
        + "\n"
    )
    chunk.links[account_id] = "".join(links.values())
    chunk.ledger[account_id] = f"{account_id}\t[{','.join(months)}]\n" if months else ""
    chunk.months[account_id] = len(months)
    return True


# --- chunks: the fast path, and the models for what it cannot vouch for --------------------------------


@dataclass(kw_only=True)
class EncodedChunk(CopyRows):
    """A chunk of file lines validated and encoded as COPY data, ready for PostgreSQL (picklable)."""

    start: int
    lines: int
    rejected: list[tuple[int, list[RowProblem], str | None]]
    seen: int
    superseded: int
    accounts: int
    ledger_months: int


def chunk_of_lines(
    lines: Sequence[bytes], start: int, organisation_id: uuid.UUID
) -> tuple[ImportChunk, list[tuple[int, list[RowProblem], str | None]], int, int]:
    """Validate JSONL lines with the models into a chunk of rows (the row-by-row retry's input)."""
    chunk, rejected, seen, superseded = ImportChunk(), [], 0, 0
    for row_no, acc, problems, number in read_jsonl(lines, start=start):
        seen += 1
        if acc is None:
            rejected.append((row_no, problems, number))
        elif add_row(chunk, organisation_id, row_no, acc):
            superseded += 1
    return chunk, rejected, seen, superseded


#: Measurement knob: False validates every line with the pydantic models (the fast path's reference).
FAST_ENCODER = True


def encode_jsonl_chunk(lines: Sequence[bytes], start: int, organisation_id: uuid.UUID) -> EncodedChunk:
    """Validate JSONL lines (the first is line `start`) and encode the valid rows for COPY (any process)."""
    chunk = TextChunk()
    org = str(organisation_id)
    rejected: list[tuple[int, list[RowProblem], str | None]] = []
    seen = 0
    for row_no, line in enumerate(lines, start=start):
        if not line.strip():
            continue
        seen += 1
        # Most lines take the msgspec fast path; what it cannot vouch for (invalid rows included) is
        # validated by the models, which also name the row, field and reason of a rejection.
        if FAST_ENCODER and encode_line(chunk, line, org):
            continue
        try:
            acc = AccountIn.model_validate_json(line)
        except ValidationError as exc:
            rejected.append((row_no, row_problems(exc), peek_number(line)))
            continue
        _encode_model_row(chunk, organisation_id, row_no, acc)
    return EncodedChunk(
        start=start,
        lines=len(lines),
        copy={
            "imp_houses": "".join(chunk.houses.values()).encode(),
            "imp_premises": "".join(chunk.premises.values()).encode(),
            "imp_accounts": "".join(chunk.accounts.values()).encode(),
            "imp_ledger": "".join(chunk.ledger.values()).encode(),
            "account_premises": "".join(chunk.links.values()).encode(),
        },
        rejected=rejected,
        seen=seen,
        superseded=chunk.superseded,
        accounts=len(chunk.accounts),
        ledger_months=sum(chunk.months.values()),
        account_ids="{" + ",".join(chunk.accounts) + "}",
        premises_ids="{" + ",".join(chunk.premises) + "}",
    )


def _encode_model_row(chunk: TextChunk, organisation_id: uuid.UUID, row_no: int, acc: AccountIn) -> None:
    """Add a row validated by the models to a text chunk (the reference encoding of the fast path)."""
    one = ImportChunk()
    add_row(one, organisation_id, row_no, acc)
    (account_id,) = one.accounts
    aid = str(account_id)
    if aid in chunk.accounts:
        chunk.superseded += 1
    chunk.houses.update((str(k), copy_line(v)) for k, v in one.houses.items())
    chunk.premises.update((str(k), copy_line(v)) for k, v in one.premises.items())
    chunk.accounts[aid] = copy_line(one.accounts[account_id])
    chunk.links[aid] = "".join(map(copy_line, one.links[account_id]))
    # The stored JSON has only dates and plain decimals: nothing to escape for COPY. No months, no row.
    months = one.ledger.get(account_id)
    chunk.ledger[aid] = f"{aid}\t{months}\n" if months else ""
    chunk.months[aid] = len(acc.ledger)
