"""The accounts import's row: schema and validation, deterministic ids, the report, and the rows it writes.

Format: docs/accounts-import.md. One logical row = one account with its premises and ledger months (a JSONL
line, or a run of consecutive CSV lines with the same account number). A row is validated as a whole by the
pydantic models here (`AccountIn` …), the specification of a valid row, and mapped to the tables' row tuples
(`add_row`) that `app.db.bulk_accounts.write_accounts` writes. Ids are uuid5 of the natural keys, so a bulk
import computes every id client-side and needs no lookups.
"""

from __future__ import annotations

import functools
import re
import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import (
    Annotated,
    Any,
    Literal,
    NotRequired,  # pydantic needs this TypedDict before Python 3.12
)

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
    with_config,
)
from typing_extensions import TypedDict

from app.db.bulk_accounts import AccountRows
from app.domain.accounts.ledger import encode_months
from app.domain.accounts.premises import normalize_premises
from app.domain.kernel.penalties import due_date_for
from app.domain.kernel.snils import is_valid_snils, normalize_snils

ImportFormat = Literal["jsonl", "csv"]
#: Kinds of consumer the municipal debt reports break debt down by (domain-rules §11).
ConsumerCategory = Literal["owner", "social_tenant", "legal_entity", "management_company", "unknown"]
CONSUMER_CATEGORIES: tuple[str, ...] = (
    "owner",
    "social_tenant",
    "legal_entity",
    "management_company",
    "unknown",
)
PremisesKind = Literal["apartment", "non_residential", "room", "house_block"]
RESIDENTIAL_KINDS = frozenset({"apartment", "room", "house_block"})

#: Fixed namespace of the deterministic ids; never change it (every stored id derives from it).
ID_NAMESPACE = uuid.UUID("5b0f6f2e-8a4c-4f4e-9a59-2f0d3c7a1e01")

DEFAULT_MAX_REPORTED = 1000


@functools.lru_cache(maxsize=65536)  # a house has many accounts: its id is computed once per import run
def house_id_for(fias_house_guid: uuid.UUID) -> uuid.UUID:
    """Return the id of the house with this FIAS GUID (the same in every process and import)."""
    return uuid.uuid5(ID_NAMESPACE, f"house:{fias_house_guid}")


def premises_id_for(house_id: uuid.UUID, number_norm: str) -> uuid.UUID:
    """Return the id of the premises with this normalised number in the house."""
    return uuid.uuid5(ID_NAMESPACE, f"premises:{house_id}:{number_norm}")


def account_id_for(organisation_id: uuid.UUID, account_number: str) -> uuid.UUID:
    """Return the id of an organisation's account with this number."""
    return uuid.uuid5(ID_NAMESPACE, f"account:{organisation_id}:{account_number}")


def name_key(last_name: str | None, first_name: str | None) -> str | None:
    """Return the folded "last first" search key (case, ё and spacing do not matter)."""
    if not last_name or not first_name:
        return None
    return fold(f"{last_name} {first_name}")


def fold(text: str) -> str:
    """Fold a name for comparison: case, ё → е, single spaces."""
    return " ".join(text.casefold().replace("ё", "е").split())


@functools.lru_cache(maxsize=65536)  # billing spells numbers from a small set of patterns: a cheap hit
def premises_norm(number: str, kind: str) -> str:
    """Return the matching key of a premises number, marking non-residential premises the usual way ("3Н")."""
    # normalize_premises appends "Н" only when the text says "нежилое"; billing says it through `kind`.
    return normalize_premises(f"нежилое {number}" if kind == "non_residential" else number)


# --- contacts -------------------------------------------------------------------------------------------

#: A Russian number once spaces, hyphens, dots and brackets are gone: +7, 7 or 8 and ten digits.
_PHONE = re.compile(r"(?:\+7|7|8)([0-9]{10})")
_PHONE_NOISE = str.maketrans("", "", " -().\u00a0")
#: One @, no spaces, a dot in the domain; ASCII-printable or Cyrillic (IDN) characters only.
EMAIL_PATTERN = r"[^@\s]{1,64}@[^@\s.]+(?:\.[^@\s.]+)+"
_EMAIL = re.compile(EMAIL_PATTERN)


def normalize_phone(value: str | None) -> str | None:
    """Return a Russian phone number as +7XXXXXXXXXX (from 8XXXXXXXXXX, 7…, +7 … with separators)."""
    if value is None or not value.strip():
        return None
    found = _PHONE.fullmatch(value.translate(_PHONE_NOISE))
    if found is None:
        raise ValueError("not a Russian phone number (+7XXXXXXXXXX or 8XXXXXXXXXX)")
    return f"+7{found.group(1)}"


def normalize_email(value: str | None) -> str | None:
    """Return an e-mail address as given (trimmed) when it has the form local@domain.tld, ≤ 254 characters."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    if len(value) > 254 or _EMAIL.fullmatch(value) is None or not value.isprintable():
        raise ValueError("not an e-mail address (local@domain.tld, at most 254 characters)")
    return value


# --- row schema ------------------------------------------------------------------------------------------

Str100 = Annotated[str, Field(min_length=1, max_length=100)]


class _Row(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=False)


class DocumentIn(_Row):
    """Identity document of a person payer (type: НСИ 95 code)."""

    type: str = Field(min_length=1, max_length=20)
    series: str | None = Field(None, max_length=20)
    number: str = Field(min_length=1, max_length=40)


class PayerIn(_Row):
    """The payer: a person (names, birth date, SNILS, document) or an organisation (name, INN, OGRN)."""

    kind: Literal["person", "organisation"]
    last_name: str | None = Field(None, max_length=100)
    first_name: str | None = Field(None, max_length=100)
    middle_name: str | None = Field(None, max_length=100)
    birth_date: date | None = None
    birth_place: str | None = Field(None, max_length=500)
    snils: str | None = None
    document: DocumentIn | None = None
    inn: str | None = Field(None, pattern=r"^\d{10}(\d{2})?$")
    name: str | None = Field(None, max_length=500)
    ogrn: str | None = Field(None, pattern=r"^\d{13}(\d{2})?$")

    @field_validator("snils")
    @classmethod
    def _snils(cls, value: str | None) -> str | None:
        # The message never repeats the value: SNILS is personal data.
        if value is None or value == "":
            return None
        if not is_valid_snils(value):
            raise ValueError("not a valid SNILS (11 digits with a correct checksum)")
        return normalize_snils(value)

    @model_validator(mode="after")
    def _by_kind(self) -> PayerIn:
        if self.kind == "person":
            if not self.last_name or not self.first_name:
                raise ValueError("a person payer needs last_name and first_name")
        elif not self.name:
            raise ValueError("an organisation payer needs name")
        return self


class PremisesIn(_Row):
    """Premises the account covers: the house (FIAS GUID) and the premises number as billing writes it."""

    fias_house_guid: uuid.UUID
    hm_object_guid: uuid.UUID | None = None
    address: str | None = Field(None, max_length=1000)
    region: str | None = Field(None, pattern=r"^\d{2}$")
    number: Str100
    kind: PremisesKind = "apartment"
    cadastral_number: str | None = Field(None, max_length=40)
    gis_premises_guid: uuid.UUID | None = None
    share_percent: Decimal | None = Field(None, ge=0, le=100, max_digits=5, decimal_places=2)


#: Amounts stay decimal strings: parsing them into Decimal dominated the import's CPU time (2x slower), and
#: PostgreSQL casts them set-wise from the staging table anyway.
Money = Annotated[str, StringConstraints(pattern=r"^-?\d{1,12}(\.\d{1,2})?$")]
PaidMoney = Annotated[str, StringConstraints(pattern=r"^\d{1,12}(\.\d{1,2})?$")]


@with_config(ConfigDict(extra="forbid", str_strip_whitespace=True))
class LedgerMonthIn(TypedDict):
    """One billing month: period (first day of the month), charged, paid, due date (statutory if omitted).

    Amounts are decimal strings with up to 2 decimals ("1234.50"); charged may be negative (a recalculation).
    A TypedDict, not a model: twelve model instances per account cost more than half of the row's validation.
    """

    period: date
    charged: Money
    paid: NotRequired[PaidMoney]
    due_date: NotRequired[date | None]


class AccountIn(_Row):
    """One import row: an account with its payer, premises and ledger months."""

    account_number: str = Field(min_length=1, max_length=30)
    els: str | None = Field(None, pattern=r"^[0-9A-Za-zА-Яа-яЁё]{10}$", description="ЕЛС, 10 characters")
    zhku_id: str | None = Field(None, pattern=r"^[0-9A-Za-zА-Яа-яЁё\-]{13}$", description="ЖКУ id, 13 chars")
    gis_account_guid: uuid.UUID | None = None
    opened_on: date | None = None
    closed_on: date | None = None
    closed: bool = False
    dispute: bool = False
    bankruptcy: bool = False
    consumer_category: ConsumerCategory = Field(
        "unknown", description="kind of consumer for the debt reports (domain-rules §11)"
    )
    payer: PayerIn
    premises: list[PremisesIn] = Field(min_length=1, max_length=50)
    ledger: list[LedgerMonthIn] = Field(default_factory=list, max_length=600)
    phone: str | None = Field(
        None,
        description="payer's mobile for SMS notices: +7XXXXXXXXXX (8XXXXXXXXXX is normalised); personal data",
    )
    email: str | None = Field(None, description="payer's e-mail for notices; personal data")

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        # The message never repeats the value: a phone number is personal data.
        return normalize_phone(value)

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        return normalize_email(value)

    @model_validator(mode="after")
    def _consistent(self) -> AccountIn:
        # One Python pass per account (not per field) keeps validation fast on million-row files.
        seen: set[date] = set()
        for i, month in enumerate(self.ledger):
            period = month["period"]
            if period.day != 1:
                raise _PathError(
                    f"ledger.{i}.period", "first_of_month", "period must be the first day of a month"
                )
            if period in seen:
                raise _PathError(f"ledger.{i}.period", "duplicate", "the same period appears twice")
            seen.add(period)
        if self.closed_on is not None:
            self.closed = True
        if self.opened_on and self.closed_on and self.closed_on < self.opened_on:
            raise _PathError("closed_on", "date_order", "closed_on is before opened_on")
        return self


class _PathError(ValueError):
    """A model-level error that knows which field it is about."""

    def __init__(self, path: str, rule: str, message: str) -> None:
        super().__init__(message)
        self.path, self.rule, self.message = path, rule, message


# --- report ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RowProblem:
    """One reason a row was rejected: the field path inside the row and the rule broken."""

    field: str
    rule: str
    message: str


@dataclass
class ImportReport:
    """What an import did: counts, and the first rejected rows with their reasons."""

    rows: int = 0
    applied: int = 0
    rejected: int = 0
    superseded: int = 0
    ledger_months: int = 0
    rejected_rows: list[dict[str, Any]] = field(default_factory=list)
    rejected_by_rule: Counter[str] = field(default_factory=Counter)
    max_reported: int = DEFAULT_MAX_REPORTED

    def reject(self, row: int, problems: Sequence[RowProblem], account_number: str | None = None) -> None:
        """Count a rejected row and keep its reasons while under the reporting limit."""
        self.rejected += 1
        for p in problems:
            self.rejected_by_rule[p.rule] += 1
        if len(self.rejected_rows) < self.max_reported:
            self.rejected_rows.append(
                {
                    "row": row,
                    "account_number": account_number,
                    "errors": [{"field": p.field, "rule": p.rule, "message": p.message} for p in problems],
                }
            )

    def add(self, part: ImportReport) -> None:
        """Add the report of a later part of the file (a chunk written concurrently with others)."""
        self.rows += part.rows
        self.applied += part.applied
        self.rejected += part.rejected
        self.superseded += part.superseded
        self.ledger_months += part.ledger_months
        self.rejected_by_rule.update(part.rejected_by_rule)
        room = max(self.max_reported - len(self.rejected_rows), 0)
        self.rejected_rows.extend(part.rejected_rows[:room])

    def as_dict(self) -> dict[str, Any]:
        """Return the report as JSON-ready data (the operation's result); no personal data in it."""
        return {
            "rows": self.rows,
            "applied": self.applied,
            "rejected": self.rejected,
            "superseded": self.superseded,
            "ledger_months": self.ledger_months,
            "rejected_by_rule": dict(self.rejected_by_rule),
            "rejected_rows": self.rejected_rows,
            "rejected_rows_truncated": self.rejected > len(self.rejected_rows),
        }


def row_problems(exc: ValidationError, prefix: str = "") -> list[RowProblem]:
    """Return the reasons a validation error gives, each with its field path inside the row."""
    out: list[RowProblem] = []
    for err in exc.errors(include_input=False, include_url=False):
        ctx_error = (err.get("ctx") or {}).get("error")
        if isinstance(ctx_error, _PathError):
            out.append(RowProblem(prefix + ctx_error.path, ctx_error.rule, ctx_error.message))
            continue
        path = ".".join(str(p) for p in err["loc"])
        out.append(
            RowProblem(prefix + path if path else prefix.rstrip(".") or "row", err["type"], err["msg"])
        )
    return out


ParsedRow = tuple[int, AccountIn | None, list[RowProblem], str | None]


# --- the rows a chunk writes -----------------------------------------------------------------------------


@dataclass
class ImportChunk(AccountRows):
    """A chunk of validated rows as table rows, with where each account came from in the file."""

    #: account id → (row number, account number), to name a row the database refuses.
    rows: dict[uuid.UUID, tuple[int, str]] = field(default_factory=dict)
    #: account id → the row's number of ledger months (the report counts them).
    months: dict[uuid.UUID, int] = field(default_factory=dict)

    def single(self, account_id: uuid.UUID) -> ImportChunk:
        """Return the chunk of one of this chunk's accounts, with its premises and houses."""
        links = self.links[account_id]
        premises = {link[1]: self.premises[link[1]] for link in links}
        houses = {p[1]: self.houses[p[1]] for p in premises.values()}
        ledger = self.ledger.get(account_id)
        return ImportChunk(
            houses=houses,
            premises=premises,
            accounts={account_id: self.accounts[account_id]},
            links={account_id: links},
            ledger={account_id: ledger} if ledger is not None else {},
            rows={account_id: self.rows[account_id]},
            months={account_id: self.months[account_id]},
        )


def months_text(months: Iterable[LedgerMonthIn]) -> str:
    """Return validated months in their stored form (`accounts.ledger`), with statutory due dates."""
    return encode_months(
        (m["period"], m["charged"], m.get("paid", "0"), m.get("due_date") or _due_date(m["period"]))
        for m in months
    )


def add_row(chunk: ImportChunk, organisation_id: uuid.UUID, row_no: int, acc: AccountIn) -> bool:
    """Add one validated account to the chunk; return True when it replaced an earlier row of the chunk."""
    account_id = account_id_for(organisation_id, acc.account_number)
    superseded = account_id in chunk.accounts
    links: dict[uuid.UUID, tuple[Any, ...]] = {}
    for p in acc.premises:
        house_id = house_id_for(p.fias_house_guid)
        chunk.houses[house_id] = (house_id, p.fias_house_guid, p.hm_object_guid, p.address, p.region)
        norm = premises_norm(p.number, p.kind)
        premises_id = premises_id_for(house_id, norm)
        chunk.premises[premises_id] = (
            premises_id,
            house_id,
            p.number,
            norm,
            p.kind,
            p.kind in RESIDENTIAL_KINDS,
            p.cadastral_number,
            p.gis_premises_guid,
        )
        links[premises_id] = (account_id, premises_id, p.share_percent)
    payer = acc.payer
    doc = payer.document
    chunk.accounts[account_id] = (
        account_id,
        organisation_id,
        acc.account_number,
        acc.els.upper() if acc.els else None,
        acc.zhku_id.upper() if acc.zhku_id else None,
        acc.gis_account_guid,
        acc.opened_on,
        acc.closed_on,
        acc.closed,
        acc.dispute,
        acc.bankruptcy,
        payer.kind,
        payer.last_name,
        payer.first_name,
        payer.middle_name,
        name_key(payer.last_name, payer.first_name),
        fold(payer.middle_name) if payer.middle_name else None,
        payer.birth_date,
        payer.birth_place,
        payer.snils,
        doc.type if doc else None,
        doc.series if doc else None,
        doc.number if doc else None,
        payer.inn,
        payer.name,
        payer.ogrn,
        acc.consumer_category,
        acc.phone,
        acc.email,
    )
    chunk.links[account_id] = list(links.values())
    if acc.ledger:
        chunk.ledger[account_id] = months_text(acc.ledger)
    else:  # a later row without months replaces an earlier one's
        chunk.ledger.pop(account_id, None)
    chunk.months[account_id] = len(acc.ledger)
    chunk.rows[account_id] = (row_no, acc.account_number)
    return superseded


@functools.lru_cache(maxsize=4096)
def _due_date(period: date) -> date:
    return due_date_for(period)


@functools.lru_cache(maxsize=4096)
def due_text(period: date) -> str:
    """Return the statutory due date of a period's charge as ISO text (the COPY encoders' form)."""
    return _due_date(period).isoformat()
