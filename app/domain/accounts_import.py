"""Bulk import of accounts and their monthly ledger from billing: JSON Lines or CSV, streamed, row by row.

Format: docs/accounts-import.md. One logical row = one account with its premises and ledger months (a JSONL
line, or a run of consecutive CSV lines with the same account number). A row is validated as a whole and
either applied as a whole (account + premises + ledger, in one transaction with its chunk) or rejected with
its row number, field paths and reasons. Re-running an import (e.g. after a crash) is harmless: every write is
an upsert keyed by deterministic ids (uuid5 of the natural keys), so no lookups are needed either. An
account's ledger is one row (`app.domain.ledger`): a re-import replaces the months the row carries and keeps
the account's other months.

On PostgreSQL, JSON Lines are encoded as COPY text (`encode_jsonl_chunk`, with the msgspec fast path of
`app.domain.accounts_import_fast`); an initial load's chunks are COPYed straight into the tables, other
chunks go through temporary staging tables and `INSERT … ON CONFLICT DO UPDATE`, two chunks at a time
(`_apply_encoded`). Elsewhere (SQLite, CSV) the chunks go through executemany upserts.
"""

from __future__ import annotations

import asyncio
import collections
import csv
import functools
import io
import itertools
import logging
import multiprocessing
import os
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import (
    TYPE_CHECKING,
    Annotated,
    Any,
    BinaryIO,
    Literal,
    NotRequired,  # pydantic needs this TypedDict before Python 3.12
)

import asyncpg
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
from sqlalchemy import delete, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker
from typing_extensions import TypedDict

from app.db.base import utcnow
from app.db.models.accounts import Account, AccountLedger, AccountPremises, House, Premises
from app.db.models.core import Operation, Organisation
from app.domain.kernel import audit
from app.domain.kernel import errors as d
from app.domain.kernel import operations as ops
from app.domain.kernel.access import SYSTEM, Principal
from app.domain.kernel.snils import is_valid_snils, normalize_snils
from app.domain.ledger import encode_months, merge_months
from app.domain.penalties import due_date_for
from app.domain.premises import normalize_premises

if TYPE_CHECKING:
    from app.domain.accounts_import_fast import TextChunk

log = logging.getLogger(__name__)

ImportFormat = Literal["jsonl", "csv"]
PremisesKind = Literal["apartment", "non_residential", "room", "house_block"]
RESIDENTIAL_KINDS = frozenset({"apartment", "room", "house_block"})

#: Fixed namespace of the deterministic ids; never change it (every stored id derives from it).
ID_NAMESPACE = uuid.UUID("5b0f6f2e-8a4c-4f4e-9a59-2f0d3c7a1e01")

DEFAULT_CHUNK = 5000
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
    payer: PayerIn
    premises: list[PremisesIn] = Field(min_length=1, max_length=50)
    ledger: list[LedgerMonthIn] = Field(default_factory=list, max_length=600)

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


def _problems(exc: ValidationError, prefix: str = "") -> list[RowProblem]:
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


# --- reading ---------------------------------------------------------------------------------------------

ParsedRow = tuple[int, AccountIn | None, list[RowProblem], str | None]


def read_jsonl(lines: Iterable[bytes], start: int = 1) -> Iterator[ParsedRow]:
    """Yield (line number, account or None, problems, account number) for each non-blank JSONL line."""
    for lineno, line in enumerate(lines, start=start):
        if not line.strip():
            continue
        try:
            yield lineno, AccountIn.model_validate_json(line), [], None
        except ValidationError as exc:
            yield lineno, None, _problems(exc), _peek_number(line)


def _peek_number(line: bytes) -> str | None:
    # Name the account in the report when the line is JSON at all; the number is not personal data.
    import json

    try:
        value = json.loads(line)
    except ValueError:
        return None
    number = value.get("account_number") if isinstance(value, dict) else None
    return str(number)[:30] if number is not None else None


#: CSV columns: one line per account-month; account columns repeat on each line of the account.
CSV_ACCOUNT_COLUMNS = (
    "account_number",
    "els",
    "zhku_id",
    "gis_account_guid",
    "opened_on",
    "closed_on",
    "dispute",
    "bankruptcy",
)
CSV_PAYER_COLUMNS = (
    "payer_kind",
    "last_name",
    "first_name",
    "middle_name",
    "birth_date",
    "birth_place",
    "snils",
    "doc_type",
    "doc_series",
    "doc_number",
    "inn",
    "org_name",
    "org_ogrn",
)
CSV_PREMISES_COLUMNS = (
    "fias_house_guid",
    "hm_object_guid",
    "address",
    "region",
    "premises",
    "premises_kind",
    "cadastral_number",
    "gis_premises_guid",
    "share_percent",
)
CSV_LEDGER_COLUMNS = ("period", "charged", "paid", "due_date")
CSV_COLUMNS = CSV_ACCOUNT_COLUMNS + CSV_PAYER_COLUMNS + CSV_PREMISES_COLUMNS + CSV_LEDGER_COLUMNS
_CSV_BOOL = {"": False, "0": False, "false": False, "no": False, "1": True, "true": True, "yes": True}


def _blank_to_none(row: dict[str, str | None], names: Iterable[str]) -> dict[str, Any]:
    return {n: (v if v not in (None, "") else None) for n in names if (v := row.get(n)) not in (None, "")}


def _csv_group_to_dict(lines: list[dict[str, str | None]]) -> dict[str, Any]:
    first = lines[0]
    data: dict[str, Any] = _blank_to_none(first, CSV_ACCOUNT_COLUMNS[:6])
    for flag in ("dispute", "bankruptcy"):
        raw = (first.get(flag) or "").strip().lower()
        data[flag] = _CSV_BOOL.get(raw, raw)
    payer = _blank_to_none(first, CSV_PAYER_COLUMNS)
    payer_data: dict[str, Any] = {"kind": payer.pop("payer_kind", None)}
    if "doc_number" in payer or "doc_type" in payer:
        payer_data["document"] = {
            "type": payer.pop("doc_type", None),
            "series": payer.pop("doc_series", None),
            "number": payer.pop("doc_number", None),
        }
    for src, dst in (("org_name", "name"), ("org_ogrn", "ogrn")):
        if src in payer:
            payer_data[dst] = payer.pop(src)
    payer_data.update({k: v for k, v in payer.items() if not k.startswith("doc_")})
    data["payer"] = payer_data
    premises: dict[tuple[str | None, str | None], dict[str, Any]] = {}
    ledger: list[dict[str, Any]] = []
    for line in lines:
        p = _blank_to_none(line, CSV_PREMISES_COLUMNS)
        key = (p.get("fias_house_guid"), p.get("premises"))
        if key != (None, None) and key not in premises:
            if "premises" in p:
                p["number"] = p.pop("premises")
            if "premises_kind" in p:
                p["kind"] = p.pop("premises_kind")
            premises[key] = p
        month = _blank_to_none(line, CSV_LEDGER_COLUMNS)
        if month:
            ledger.append(month)
    data["premises"] = list(premises.values())
    data["ledger"] = ledger
    return data


def read_csv(text_lines: Iterable[str]) -> Iterator[ParsedRow]:
    """Yield one parsed account per run of consecutive CSV lines with the same account number.

    The row number reported is the file line of the account's first data line (the header is line 1).
    """
    reader = csv.DictReader(text_lines)
    missing = [
        c
        for c in ("account_number", "payer_kind", "fias_house_guid", "premises")
        if c not in (reader.fieldnames or [])
    ]
    if missing:
        raise d.RuleViolation(
            # Named in the message too: an import operation reports only the message.
            f"The CSV header lacks required columns: {', '.join(missing)}.",
            errors=[d.FieldProblem(f"header.{c}", "missing", f"column {c} is required") for c in missing],
        )
    unknown = [c for c in reader.fieldnames or [] if c not in CSV_COLUMNS]
    if unknown:
        raise d.RuleViolation(
            f"The CSV header has unknown columns: {', '.join(unknown)} (known: {', '.join(CSV_COLUMNS)}).",
            errors=[d.FieldProblem(f"header.{c}", "unknown", f"unknown column {c}") for c in unknown],
        )
    group: list[dict[str, str | None]] = []
    group_line = 0
    for row in reader:
        line_no = reader.line_num
        number = (row.get("account_number") or "").strip()
        if group and number != (group[0].get("account_number") or "").strip():
            yield _parse_csv_group(group_line, group)
            group = []
        if not group:
            group_line = line_no
        group.append(row)
    if group:
        yield _parse_csv_group(group_line, group)


def _parse_csv_group(line_no: int, lines: list[dict[str, str | None]]) -> ParsedRow:
    number = (lines[0].get("account_number") or "").strip() or None
    try:
        return line_no, AccountIn.model_validate(_csv_group_to_dict(lines)), [], number
    except ValidationError as exc:
        return line_no, None, _problems(exc), number


def iter_rows(path: Path, fmt: ImportFormat) -> Iterator[ParsedRow]:
    """Stream parsed rows from an uploaded file (never loads the file whole)."""
    if fmt == "jsonl":
        with path.open("rb") as fh:
            yield from read_jsonl(fh)
    else:
        with path.open("r", encoding="utf-8-sig", newline="") as fh:
            yield from read_csv(fh)


def sniff_format(filename: str | None, content_type: str | None) -> ImportFormat:
    """Tell JSONL from CSV by the file name or the content type."""
    name = (filename or "").lower()
    if name.endswith(".csv") or (content_type or "").startswith("text/csv"):
        return "csv"
    return "jsonl"


# --- applying --------------------------------------------------------------------------------------------


@dataclass
class _Chunk:
    houses: dict[uuid.UUID, tuple[Any, ...]] = field(default_factory=dict)
    premises: dict[uuid.UUID, tuple[Any, ...]] = field(default_factory=dict)
    accounts: dict[uuid.UUID, tuple[Any, ...]] = field(default_factory=dict)
    links: dict[uuid.UUID, list[tuple[Any, ...]]] = field(default_factory=dict)
    ledger: dict[uuid.UUID, list[LedgerMonthIn]] = field(default_factory=dict)
    rows: dict[uuid.UUID, tuple[int, str]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.accounts)

    def ledger_records(self) -> Iterator[tuple[uuid.UUID, str]]:
        """Yield (account_id, stored months) of every account of the chunk that has ledger months."""
        for account_id, months in self.ledger.items():
            if months:
                yield account_id, _months_text(months)


def _months_text(months: Iterable[LedgerMonthIn]) -> str:
    """Return validated months in their stored form (`app.domain.ledger`), with statutory due dates."""
    return encode_months(
        (m["period"], m["charged"], m.get("paid", "0"), m.get("due_date") or _due_date(m["period"]))
        for m in months
    )


HOUSE_COLS = ("id", "fias_house_guid", "hm_object_guid", "address", "region")
PREMISES_COLS = (
    "id",
    "house_id",
    "number_raw",
    "number_norm",
    "kind",
    "residential",
    "cadastral_number",
    "gis_premises_guid",
)
ACCOUNT_COLS = (
    "id",
    "organisation_id",
    "account_number",
    "els",
    "zhku_id",
    "gis_account_guid",
    "opened_on",
    "closed_on",
    "closed",
    "dispute",
    "bankruptcy",
    "payer_kind",
    "last_name",
    "first_name",
    "middle_name",
    "payer_name_key",
    "payer_middle_key",
    "birth_date",
    "birth_place",
    "snils",
    "id_doc_type",
    "id_doc_series",
    "id_doc_number",
    "inn",
    "org_name",
    "org_ogrn",
)
LINK_COLS = ("account_id", "premises_id", "share_percent")
LEDGER_COLS = ("account_id", "months")


def _add(chunk: _Chunk, organisation_id: uuid.UUID, row_no: int, acc: AccountIn) -> bool:
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
    )
    chunk.links[account_id] = list(links.values())
    chunk.ledger[account_id] = acc.ledger
    chunk.rows[account_id] = (row_no, acc.account_number)
    return superseded


@functools.lru_cache(maxsize=4096)
def _due_date(period: date) -> date:
    return due_date_for(period)


def _dicts(cols: Sequence[str], rows: Iterable[tuple[Any, ...]]) -> list[dict[str, Any]]:
    return [dict(zip(cols, r, strict=True)) for r in rows]


async def _apply_portable(conn: AsyncConnection, chunk: _Chunk) -> None:
    """Upsert a chunk with executemany statements (SQLite, or any other backend)."""
    dialect = conn.dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    now = utcnow()
    houses = [{**h, "created_at": now, "updated_at": now} for h in _dicts(HOUSE_COLS, chunk.houses.values())]
    if houses:
        stmt = insert(House)
        await conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["id"],
                set_={
                    "hm_object_guid": _coalesce(stmt.excluded.hm_object_guid, House.hm_object_guid),
                    "address": _coalesce(stmt.excluded.address, House.address),
                    "region": _coalesce(stmt.excluded.region, House.region),
                    "updated_at": stmt.excluded.updated_at,
                },
            ),
            houses,
        )
    premises = [
        {**p, "created_at": now, "updated_at": now} for p in _dicts(PREMISES_COLS, chunk.premises.values())
    ]
    if premises:
        stmt = insert(Premises)
        await conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["id"],
                set_={
                    "number_raw": stmt.excluded.number_raw,
                    "kind": stmt.excluded.kind,
                    "residential": stmt.excluded.residential,
                    "cadastral_number": _coalesce(stmt.excluded.cadastral_number, Premises.cadastral_number),
                    "gis_premises_guid": _coalesce(
                        stmt.excluded.gis_premises_guid, Premises.gis_premises_guid
                    ),
                    "updated_at": stmt.excluded.updated_at,
                },
            ),
            premises,
        )
    accounts = [
        {**a, "created_at": now, "updated_at": now} for a in _dicts(ACCOUNT_COLS, chunk.accounts.values())
    ]
    if accounts:
        stmt = insert(Account)
        keep_gis = {"els", "zhku_id", "gis_account_guid"}
        set_: dict[str, Any] = {
            c: (_coalesce(stmt.excluded[c], Account.__table__.c[c]) if c in keep_gis else stmt.excluded[c])
            for c in ACCOUNT_COLS
            if c not in ("id", "organisation_id", "account_number")
        }
        set_["updated_at"] = stmt.excluded.updated_at
        await conn.execute(stmt.on_conflict_do_update(index_elements=["id"], set_=set_), accounts)
    ids = list(chunk.accounts)
    for start in range(0, len(ids), 500):  # stay under SQLite's bound-parameter limit
        await conn.execute(
            delete(AccountPremises).where(AccountPremises.account_id.in_(ids[start : start + 500]))
        )
    links = _dicts(LINK_COLS, (link for group in chunk.links.values() for link in group))
    if links:
        await conn.execute(insert(AccountPremises), links)
    ledgers = dict(chunk.ledger_records())
    # Months absent from the row are kept: merge with the stored ledger (read in this transaction, and on
    # SQLite, the one backend this path serves in production, the only writer).
    stored: dict[uuid.UUID, str] = {}
    ids = list(ledgers)
    for start in range(0, len(ids), 500):
        stmt_stored = select(AccountLedger.account_id, AccountLedger.months).where(
            AccountLedger.account_id.in_(ids[start : start + 500])
        )
        stored.update((await conn.execute(stmt_stored)).all())
    changed = []
    for account_id, months in ledgers.items():
        merged = merge_months(stored.get(account_id), months)
        if merged != stored.get(account_id):  # an unchanged ledger is not rewritten
            changed.append({"account_id": account_id, "months": merged})
    if changed:
        stmt = insert(AccountLedger)
        await conn.execute(
            stmt.on_conflict_do_update(index_elements=["account_id"], set_={"months": stmt.excluded.months}),
            changed,
        )


def _coalesce(new: Any, old: Any) -> Any:
    from sqlalchemy import func

    return func.coalesce(new, old)


_PG_STAGE = {
    "imp_houses": ("houses", HOUSE_COLS),
    "imp_premises": ("premises", PREMISES_COLS),
    "imp_accounts": ("accounts", ACCOUNT_COLS),
    "imp_ledger": ("account_ledgers", LEDGER_COLS),
}


def _pg_upsert_sql(stage: str, table: str, cols: Sequence[str], conflict: str, update: dict[str, str]) -> str:
    stamps = table != "account_ledgers"
    target_cols = list(cols) + (["created_at", "updated_at"] if stamps else [])
    select_cols = list(cols) + (["now()", "now()"] if stamps else [])
    sets = dict(update)
    if stamps:
        sets["updated_at"] = "excluded.updated_at"
    set_sql = ", ".join(f"{k} = {v}" for k, v in sets.items())
    return (
        f"INSERT INTO {table} ({', '.join(target_cols)}) SELECT {', '.join(select_cols)} FROM {stage} "
        f"ON CONFLICT ({conflict}) DO UPDATE SET {set_sql}"
    )


def _keep(table: str, col: str) -> str:
    return f"COALESCE(excluded.{col}, {table}.{col})"


_PG_UPSERT_HOUSES = _pg_upsert_sql(
    "imp_houses",
    "houses",
    HOUSE_COLS,
    "id",
    {c: _keep("houses", c) for c in ("hm_object_guid", "address", "region")},
)
_PG_UPSERT_PREMISES = _pg_upsert_sql(
    "imp_premises",
    "premises",
    PREMISES_COLS,
    "id",
    {
        "number_raw": "excluded.number_raw",
        "kind": "excluded.kind",
        "residential": "excluded.residential",
        "cadastral_number": _keep("premises", "cadastral_number"),
        "gis_premises_guid": _keep("premises", "gis_premises_guid"),
    },
)
_PG_UPSERT_ACCOUNTS = _pg_upsert_sql(
    "imp_accounts",
    "accounts",
    ACCOUNT_COLS,
    "id",
    {
        c: (_keep("accounts", c) if c in ("els", "zhku_id", "gis_account_guid") else f"excluded.{c}")
        for c in ACCOUNT_COLS
        if c not in ("id", "organisation_id", "account_number")
    },
)
_PG_DELETE_LINKS = "DELETE FROM account_premises WHERE account_id IN (SELECT id FROM imp_accounts)"
# A re-imported account's months replace its stored months of the same periods and the others are kept
# (`app.domain.ledger.merge_months` elsewhere). The merge runs inside ON CONFLICT DO UPDATE, on the latest
# committed ledger, so two imports of the same account never lose each other's months.
_PG_MERGE_MONTHS = """(
    SELECT '[' || string_agg(m, ',' ORDER BY p) || ']' FROM (
        SELECT DISTINCT ON (p) m, p FROM (
            SELECT e::text AS m, e->>0 AS p, 0 AS o FROM json_array_elements(excluded.months::json) AS e
            UNION ALL
            SELECT e::text, e->>0, 1 FROM json_array_elements(account_ledgers.months::json) AS e
        ) AS months ORDER BY p, o
    ) AS merged
)"""
# A ledger already holding every imported month as it is stays untouched, so re-running an import rewrites
# (almost) nothing. Months are stored in one canonical text form, and a month's text ("[" + period …) can only
# match at the start of a month, so finding each imported month's text in the stored text is that test.
_PG_UPSERT_LEDGER = (
    _pg_upsert_sql("imp_ledger", "account_ledgers", LEDGER_COLS, "account_id", {"months": _PG_MERGE_MONTHS})
    + " WHERE EXISTS (SELECT FROM json_array_elements_text(excluded.months::json) AS m"
    " WHERE strpos(account_ledgers.months, m) = 0)"
)
_PG_UPSERTS = [
    _PG_UPSERT_HOUSES,
    _PG_UPSERT_PREMISES,
    _PG_UPSERT_ACCOUNTS,
    _PG_DELETE_LINKS,
    _PG_UPSERT_LEDGER,
]


def _staging_sql() -> str:
    # A chunk's commit is durable once any later commit is (the WAL is sequential), and the operation's own
    # final commit is synchronous: waiting for the disk on every chunk buys nothing.
    # No JIT: with sequential scans disabled (_by_index) the staging table's scan is costed above JIT's
    # thresholds, and compiling took ≈ 45 ms a statement: 0.9 s of the links' DELETE on a 100k re-import
    # (and of the fresh-ledger check) for statements that run a few ms.
    sql = ["SET LOCAL synchronous_commit = off", "SET LOCAL jit = off"]
    for stage, (table, cols) in _PG_STAGE.items():
        # ON COMMIT DELETE ROWS: the staging tables live as long as the pooled connection, empty per chunk.
        sql.append(
            f"CREATE TEMP TABLE IF NOT EXISTS {stage} ON COMMIT DELETE ROWS AS "
            f"SELECT {', '.join(cols)} FROM {table} WITH NO DATA"
        )
    # Empty unless an outer transaction (tests, upsert_accounts) spans several chunks without a commit.
    # DELETE, not TRUNCATE: on the usual empty table it does nothing, where TRUNCATE of a table created by an
    # earlier transaction gives it new files (0.9 s of a 1 M import's 200 chunks).
    sql += [f"DELETE FROM {stage}" for stage in _PG_STAGE]
    return ";\n".join(sql)


#: One round trip per chunk (simple query protocol: several statements, no parameters).
_PG_STAGING_SQL = _staging_sql()


async def _staging(conn: AsyncConnection) -> Any:
    """Return the raw asyncpg connection inside the caller's transaction, with empty staging tables."""
    # SQLAlchemy's asyncpg adapter opens its transaction lazily, on the first statement it runs itself;
    # without this, the raw COPY and INSERTs below would each autocommit (and lose the staging rows).
    await conn.execute(text("SELECT 1"))
    raw = await conn.get_raw_connection()
    pg: Any = raw.driver_connection
    if not pg.is_in_transaction():
        raise RuntimeError("bulk import must run inside a transaction")
    await pg.execute(_PG_STAGING_SQL)
    return pg


async def _apply_postgres(conn: AsyncConnection, chunk: _Chunk) -> None:
    """Upsert a chunk through COPY into temporary staging tables, then set-based INSERT … ON CONFLICT."""
    pg = await _staging(conn)
    await pg.copy_records_to_table("imp_houses", records=list(chunk.houses.values()), columns=HOUSE_COLS)
    await pg.copy_records_to_table(
        "imp_premises", records=list(chunk.premises.values()), columns=PREMISES_COLS
    )
    await pg.copy_records_to_table(
        "imp_accounts", records=list(chunk.accounts.values()), columns=ACCOUNT_COLS
    )
    await pg.copy_records_to_table("imp_ledger", records=list(chunk.ledger_records()), columns=LEDGER_COLS)
    for sql in _PG_UPSERTS:
        await pg.execute(sql)
    await pg.copy_records_to_table(
        "account_premises", records=[lnk for g in chunk.links.values() for lnk in g], columns=LINK_COLS
    )


# --- PostgreSQL fast path: COPY text built by worker processes ----------------------------------------------

_COPY_ESCAPE = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_value(value: Any) -> str:
    # PostgreSQL's COPY text format: \N is NULL; backslash, tab, newline and CR are backslash-escaped.
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    if type(value) is str:
        return value if value.isprintable() and "\\" not in value else value.translate(_COPY_ESCAPE)
    return str(value)


def _copy_line(row: Sequence[Any]) -> str:
    return "\t".join(map(_copy_value, row)) + "\n"


def copy_text(rows: Iterable[Sequence[Any]]) -> bytes:
    """Encode rows in PostgreSQL's COPY text format (UTF-8)."""
    return "".join(map(_copy_line, rows)).encode()


@functools.lru_cache(maxsize=4096)
def _due_text(period: date) -> str:
    return _due_date(period).isoformat()


def _ledger_line(account_id: uuid.UUID, months: Sequence[LedgerMonthIn]) -> str:
    # The stored JSON has only dates and plain decimals: nothing to escape for COPY. No months, no row.
    return f"{account_id}\t{_months_text(months)}\n" if months else ""


@dataclass
class EncodedChunk:
    """A chunk of file lines validated and encoded as COPY data, ready for PostgreSQL (picklable)."""

    start: int
    lines: int
    copy: dict[str, bytes]
    rejected: list[tuple[int, list[RowProblem], str | None]]
    seen: int
    superseded: int
    accounts: int
    ledger_months: int
    #: The chunk's account and premises ids as PostgreSQL array literals (`{id,id,…}`): one string each
    #: pickles and binds far cheaper than thousands of UUID objects.
    account_ids: str = "{}"
    premises_ids: str = "{}"


def _chunk_of_lines(
    lines: Sequence[bytes], start: int, organisation_id: uuid.UUID
) -> tuple[_Chunk, list[tuple[int, list[RowProblem], str | None]], int, int]:
    chunk, rejected, seen, superseded = _Chunk(), [], 0, 0
    for row_no, acc, problems, number in read_jsonl(lines, start=start):
        seen += 1
        if acc is None:
            rejected.append((row_no, problems, number))
        elif _add(chunk, organisation_id, row_no, acc):
            superseded += 1
    return chunk, rejected, seen, superseded


#: Measurement knob: False validates every line with the pydantic models (the fast path's reference).
FAST_ENCODER = True


def encode_jsonl_chunk(lines: Sequence[bytes], start: int, organisation_id: uuid.UUID) -> EncodedChunk:
    """Validate JSONL lines (the first is line `start`) and encode the valid rows for COPY (any process)."""
    # Imported here: the fast encoder builds on this module's helpers.
    from app.domain.accounts_import_fast import TextChunk, encode_line

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
            rejected.append((row_no, _problems(exc), _peek_number(line)))
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
    one = _Chunk()
    _add(one, organisation_id, row_no, acc)
    (account_id,) = one.accounts
    aid = str(account_id)
    if aid in chunk.accounts:
        chunk.superseded += 1
    chunk.houses.update((str(k), _copy_line(v)) for k, v in one.houses.items())
    chunk.premises.update((str(k), _copy_line(v)) for k, v in one.premises.items())
    chunk.accounts[aid] = _copy_line(one.accounts[account_id])
    chunk.links[aid] = "".join(map(_copy_line, one.links[account_id]))
    chunk.ledger[aid] = _ledger_line(account_id, acc.ledger)
    chunk.months[aid] = len(acc.ledger)


#: True when none of the staged accounts has a ledger yet (an initial load): then no ledger can conflict.
_PG_LEDGER_FRESH = (
    "SELECT NOT EXISTS (SELECT 1 FROM imp_accounts a JOIN account_ledgers l ON l.account_id = a.id)"
)

#: Whether none of the chunk's accounts (premises) exists yet; and the transaction's time (what `now()` gives
#: the staged upserts' created_at/updated_at), for rows COPYed straight into the tables.
_PG_FRESH_ACCOUNTS = (
    "SELECT NOT EXISTS (SELECT 1 FROM accounts WHERE id = ANY($1::text::uuid[])), now()::text"
)
_PG_FRESH_PREMISES = (
    "SELECT NOT EXISTS (SELECT 1 FROM premises WHERE id = ANY($1::text::uuid[])), now()::text"
)

#: Measurement knob (and a switch should the direct path ever need turning off): False stages and upserts
#: every chunk, as for a re-import.
DIRECT_LOAD = True

#: True checks for existing accounts and premises before every direct COPY from an import's first chunk on
#: (tests; see `_Probes`).
PROBE_FIRST = False


async def _by_index(pg: Any, sql: str, *args: Any) -> Any:
    """Run a query joining a staging table to a big table, reaching the big table by index only."""
    # During a bulk load the tables grow faster than autovacuum analyses them: with statistics saying
    # the ledger was empty, the planner probed a 1.2 M-row ledger by sequential scan once per staged
    # account (one chunk's check ran for minutes). The staging side has no index (scanned whole anyway).
    await pg.execute("SET LOCAL enable_seqscan = off")
    try:
        return await pg.fetchrow(sql, *args)
    finally:
        await pg.execute("SET LOCAL enable_seqscan = on")


def _stamped(data: bytes, now: bytes) -> bytes:
    # Append created_at and updated_at to every COPY line: COPY text escapes newlines inside values, so
    # every raw newline ends a line. One C-level replace instead of re-encoding the rows with the stamps.
    return data.replace(b"\n", b"\t" + now + b"\t" + now + b"\n")


_STAMPS = ("created_at", "updated_at")


@dataclass
class _Probes:
    """Whether an import still checks for existing accounts (premises) before COPYing a chunk straight in.

    A direct COPY is safe without the check: a row that exists makes it fail on a unique key, and the chunk
    is then redone through the upserts. The check (an index probe per id, ≈ 4 µs an account on a 1 M-account
    table, the two of them 7 % of the database's time) only avoids that wasted attempt, so an import starts
    without it and turns it on for a table once a direct COPY into it has failed (a re-import, or premises
    another organisation's import has written).
    """

    accounts: bool = False
    premises: bool = False

    def failed(self, table: str | None) -> None:
        """Turn the check on for the table a direct COPY failed on (both when unknown)."""
        if table != "premises":
            self.accounts = True
        if table not in ("accounts", "account_ledgers"):
            self.premises = True


async def _fresh(pg: Any, direct: bool, probe: bool, sql: str, ids: str) -> tuple[bool, str]:
    """Return whether to COPY straight in (probing when asked) and the transaction's time as text."""
    if not direct:
        return False, ""
    if probe:
        fresh, now = await _by_index(pg, sql, ids)
        return bool(fresh), str(now)
    return True, str(await pg.fetchval("SELECT now()::text"))


async def _apply_encoded(
    conn: AsyncConnection,
    enc: EncodedChunk,
    *,
    direct: bool = True,
    after: asyncio.Event | None = None,
    probes: _Probes | None = None,
) -> None:
    """Write an encoded chunk: COPY straight into the tables on an initial load, else stage and upsert.

    A chunk none of whose accounts exists yet (an initial load) is COPYed straight into accounts,
    account_ledgers and account_premises: nothing can conflict, an absent account has no premises links and
    no ledger (the delete triggers of migrations 0006-0008; both are only written with their account), so
    the upsert, the links' DELETE and the ledger merge have nothing to do.
    Premises none of which exists yet are COPYed straight in too. Otherwise (a re-import, or a chunk mixing
    new and known accounts) every table goes through its staging table and `INSERT … ON CONFLICT DO UPDATE`.

    A concurrent import of the same accounts or premises makes a direct COPY fail on a unique key (or wait
    for that import to commit, then fail); the caller then redoes the chunk with `direct=False`, so the
    outcome is that of the two imports one after the other. `probes` says whether to check for existing rows
    first (default: yes); see `_Probes`.

    The work comes in two phases. The first writes only the chunk's own rows (its accounts, their links'
    removal, their ledger), which no other chunk of the import touches (chunks sharing an account are never
    in flight together), so it may run while the previous chunk is still being written on another
    connection. The second writes what chunks share (houses, premises) and the links to them; it starts once
    `after` is set (the previous chunk's transaction has ended), so a later row's values win as in a
    sequential import, and no two chunks ever wait for each other's locks in both directions.
    """
    pg = await _staging(conn)
    copy = enc.copy
    fast = direct and DIRECT_LOAD

    async def copy_in(table: str, data: bytes, columns: Sequence[str]) -> None:
        if data:
            # A buffer, not a file: asyncpg reads a file in its executor's threads, 512 KiB a hop. A
            # memoryview, not the bytes: asyncpg takes bytes for a file name (they are path-like).
            await pg.copy_to_table(table, source=memoryview(data), columns=columns, format="text")

    probes = probes or _Probes(accounts=True, premises=True)
    fresh, now = await _fresh(pg, fast, probes.accounts, _PG_FRESH_ACCOUNTS, enc.account_ids)
    if fresh:
        await copy_in("accounts", _stamped(copy["imp_accounts"], now.encode()), ACCOUNT_COLS + _STAMPS)
        await copy_in("account_ledgers", copy["imp_ledger"], LEDGER_COLS)
    else:
        await copy_in("imp_accounts", copy["imp_accounts"], ACCOUNT_COLS)
        await pg.execute(_PG_UPSERT_ACCOUNTS)
        await _by_index(pg, _PG_DELETE_LINKS)
        # Known accounts may still have no ledger (imported without months): COPY the months straight in
        # when none of the chunk's accounts has one.
        if direct and copy["imp_ledger"] and (await _by_index(pg, _PG_LEDGER_FRESH))[0]:
            await copy_in("account_ledgers", copy["imp_ledger"], LEDGER_COLS)
        else:
            await copy_in("imp_ledger", copy["imp_ledger"], LEDGER_COLS)
            await pg.execute(_PG_UPSERT_LEDGER)
    if after is not None:
        await after.wait()
    await copy_in("imp_houses", copy["imp_houses"], HOUSE_COLS)
    await pg.execute(_PG_UPSERT_HOUSES)
    fresh, now = await _fresh(pg, fast, probes.premises, _PG_FRESH_PREMISES, enc.premises_ids)
    if fresh:
        await copy_in("premises", _stamped(copy["imp_premises"], now.encode()), PREMISES_COLS + _STAMPS)
    else:
        await copy_in("imp_premises", copy["imp_premises"], PREMISES_COLS)
        await pg.execute(_PG_UPSERT_PREMISES)
    await copy_in("account_premises", copy["account_premises"], LINK_COLS)


async def apply_chunk(conn: AsyncConnection, chunk: _Chunk) -> None:
    """Write a chunk with the backend's fastest path (the caller owns the transaction)."""
    if conn.dialect.name == "postgresql":
        await _apply_postgres(conn, chunk)
    else:
        await _apply_portable(conn, chunk)


ProgressFn = Callable[[int, int | None], Awaitable[None]]


async def import_rows(
    *,
    sessionmaker: async_sessionmaker[AsyncSession],
    rows: Iterable[ParsedRow],
    organisation_id: uuid.UUID,
    chunk_size: int = DEFAULT_CHUNK,
    max_reported: int = DEFAULT_MAX_REPORTED,
    progress: ProgressFn | None = None,
) -> ImportReport:
    """Validate and upsert parsed rows in chunks, one transaction per chunk; return the report.

    A chunk the database refuses is retried row by row, so one bad row costs only itself.
    """
    async with sessionmaker() as session:
        if await session.get(Organisation, organisation_id) is None:
            raise d.NotFoundError(f"Organisation {organisation_id} not found.")
    report = ImportReport(max_reported=max_reported)
    source = iter(rows)

    def parse_chunk() -> tuple[_Chunk, list[tuple[int, list[RowProblem], str | None]], int, int]:
        chunk, rejected, seen, superseded = _Chunk(), [], 0, 0
        for row_no, acc, problems, number in source:
            seen += 1
            if acc is None:
                rejected.append((row_no, problems, number))
            elif _add(chunk, organisation_id, row_no, acc):
                superseded += 1
            if len(chunk) >= chunk_size:
                break
        return chunk, rejected, seen, superseded

    # Parse the next chunk in a thread while the database applies the current one: the import is bound by
    # Python parsing and database work in about equal parts, so overlapping them nearly halves its time.
    pending = asyncio.create_task(asyncio.to_thread(parse_chunk))
    while True:
        chunk, rejected, seen, superseded = await pending
        if not seen:
            break
        pending = asyncio.create_task(asyncio.to_thread(parse_chunk))
        report.rows += seen
        report.superseded += superseded
        for row_no, problems, number in rejected:
            report.reject(row_no, problems, number)
        if len(chunk):
            try:
                await _flush(sessionmaker, chunk, report)
            except BaseException:
                await asyncio.gather(pending, return_exceptions=True)
                raise
        if progress is not None:
            await progress(report.rows, None)
    if progress is not None:
        await progress(report.rows, report.rows)
    return report


async def _flush(sessionmaker: async_sessionmaker[AsyncSession], chunk: _Chunk, report: ImportReport) -> None:
    try:
        async with sessionmaker() as session, session.begin():
            await apply_chunk(await session.connection(), chunk)
    except Exception as exc:  # noqa: BLE001 - any database refusal: isolate the offending rows
        log.warning(
            "import chunk of %d rows refused (%s); retrying row by row", len(chunk), type(exc).__name__
        )
        await _retry_rows(sessionmaker, chunk, report)
        return
    _count(report, chunk)


async def _retry_rows(
    sessionmaker: async_sessionmaker[AsyncSession], chunk: _Chunk, report: ImportReport
) -> None:
    """Apply a refused chunk account by account, rejecting only the rows the database refuses."""
    for account_id in list(chunk.accounts):
        single = _single(chunk, account_id)
        try:
            async with sessionmaker() as session, session.begin():
                await apply_chunk(await session.connection(), single)
        except Exception as row_exc:  # noqa: BLE001
            row_no, number = chunk.rows[account_id]
            # The database message may quote values (personal data): report only the error class.
            report.reject(
                row_no,
                [RowProblem("row", "database", f"refused by the database ({type(row_exc).__name__})")],
                number,
            )
        else:
            _count(report, single)


def _count(report: ImportReport, chunk: _Chunk) -> None:
    report.applied += len(chunk.accounts)
    report.ledger_months += sum(len(g) for g in chunk.ledger.values())


def _single(chunk: _Chunk, account_id: uuid.UUID) -> _Chunk:
    links = chunk.links[account_id]
    premises = {link[1]: chunk.premises[link[1]] for link in links}
    houses = {p[1]: chunk.houses[p[1]] for p in premises.values()}
    return _Chunk(
        houses=houses,
        premises=premises,
        accounts={account_id: chunk.accounts[account_id]},
        links={account_id: links},
        ledger={account_id: chunk.ledger[account_id]},
        rows={account_id: chunk.rows[account_id]},
    )


#: Chunks written at once on PostgreSQL, each on its own connection (see `_apply_encoded`): one writes the
#: shared rows of its chunk while the next one writes its accounts and ledger.
WRITERS = 2

#: Below this size an import is parsed in the event loop's thread pool: starting processes would cost more.
PROCESS_MIN_BYTES = 32 << 20


def _default_processes(path: Path) -> int:
    # The msgspec encoder costs about a third of PostgreSQL's CPU per row: on two cores a thread of this
    # process keeps up, and parser processes only add their start-up and pickling (100k import: 16,985
    # accounts/s with the thread against 15,975/s with two processes). With four cores or more, one parser
    # process takes the encoding off this process's GIL (not measured on this machine).
    cores = os.cpu_count() or 1
    return 1 if cores >= 4 and path.stat().st_size >= PROCESS_MIN_BYTES else 0


async def import_file(
    *,
    sessionmaker: async_sessionmaker[AsyncSession],
    path: Path,
    fmt: ImportFormat,
    organisation_id: uuid.UUID,
    chunk_size: int = DEFAULT_CHUNK,
    max_reported: int = DEFAULT_MAX_REPORTED,
    progress: ProgressFn | None = None,
    processes: int | None = None,
) -> ImportReport:
    """Import a JSONL or CSV file of accounts for an organisation (idempotent; see the module docstring).

    JSON Lines on PostgreSQL take the fast path: chunks of lines are validated and encoded as COPY text by
    `processes` worker processes (default: a thread on up to 3 cores, see `_default_processes`) while this
    task streams the previous chunks into the database.
    """
    if fmt == "jsonl" and sessionmaker.kw["bind"].dialect.name == "postgresql":
        return await _import_jsonl_postgres(
            sessionmaker=sessionmaker,
            path=path,
            organisation_id=organisation_id,
            chunk_size=chunk_size,
            max_reported=max_reported,
            progress=progress,
            processes=_default_processes(path) if processes is None else processes,
        )
    return await import_rows(
        sessionmaker=sessionmaker,
        rows=iter_rows(path, fmt),
        organisation_id=organisation_id,
        chunk_size=chunk_size,
        max_reported=max_reported,
        progress=progress,
    )


async def _import_jsonl_postgres(
    *,
    sessionmaker: async_sessionmaker[AsyncSession],
    path: Path,
    organisation_id: uuid.UUID,
    chunk_size: int,
    max_reported: int,
    progress: ProgressFn | None,
    processes: int,
) -> ImportReport:
    async with sessionmaker() as session:
        if await session.get(Organisation, organisation_id) is None:
            raise d.NotFoundError(f"Organisation {organisation_id} not found.")
    report = ImportReport(max_reported=max_reported)
    loop = asyncio.get_running_loop()
    # spawn, not fork: the gateway process runs threads (the event loop's pool, database drivers).
    executor = (
        ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("spawn")) if processes else None
    )
    pending: collections.deque[tuple[list[bytes], asyncio.Future[EncodedChunk]]] = collections.deque()
    next_line = 1
    with path.open("rb") as fh:

        def read_block() -> list[bytes]:
            return list(itertools.islice(fh, chunk_size))

        async def submit() -> bool:
            nonlocal next_line
            lines = await asyncio.to_thread(read_block)
            if not lines:
                return False
            work = functools.partial(encode_jsonl_chunk, lines, next_line, organisation_id)
            future = loop.run_in_executor(executor, work) if executor else asyncio.to_thread(work)
            pending.append((lines, asyncio.ensure_future(future)))
            next_line += len(lines)
            return True

        probes = _Probes(accounts=PROBE_FIRST, premises=PROBE_FIRST)
        # Chunks being written, oldest first, each on its own connection, with its accounts' ids.
        writing: collections.deque[tuple[asyncio.Task[ImportReport], frozenset[str]]] = collections.deque()
        previous: asyncio.Event | None = None

        async def settle_oldest() -> None:
            task, _ids = writing.popleft()
            report.add(await task)  # in file order, so the report is that of a sequential import
            if progress is not None:
                await progress(report.rows, None)

        try:
            more = True
            # Keep every parser busy and one chunk ready while the database applies the current ones.
            while more and len(pending) < processes + 1:
                more = await submit()
            while pending:
                lines, future = pending.popleft()
                enc = await future
                if more:
                    more = await submit()
                ids = frozenset(enc.account_ids[1:-1].split(","))
                # A later row of an account must be written after the earlier one: a chunk sharing an
                # account with a chunk being written waits for it (see _apply_encoded's two phases).
                while writing and (
                    len(writing) >= WRITERS or any(not ids.isdisjoint(other) for _task, other in writing)
                ):
                    await settle_oldest()
                done = asyncio.Event()
                work = _apply_encoded_chunk(
                    sessionmaker,
                    enc,
                    lines,
                    organisation_id,
                    max_reported,
                    after=previous,
                    done=done,
                    probes=probes,
                )
                writing.append((asyncio.create_task(work), ids))
                previous = done
            while writing:
                await settle_oldest()
        finally:
            for _lines, future in pending:
                future.cancel()
            for task, _ids in writing:
                task.cancel()
            await asyncio.gather(*(task for task, _ids in writing), return_exceptions=True)
            if executor is not None:
                executor.shutdown(wait=False, cancel_futures=True)
    if progress is not None:
        await progress(report.rows, report.rows)
    return report


async def _apply_encoded_chunk(
    sessionmaker: async_sessionmaker[AsyncSession],
    enc: EncodedChunk,
    lines: list[bytes],
    organisation_id: uuid.UUID,
    max_reported: int,
    *,
    after: asyncio.Event | None = None,
    done: asyncio.Event | None = None,
    probes: _Probes | None = None,
) -> ImportReport:
    """Write one encoded chunk (after `after` for what chunks share); return its part of the report."""
    part = ImportReport(max_reported=max_reported)
    part.rows += enc.seen
    part.superseded += enc.superseded
    for row_no, problems, number in enc.rejected:
        part.reject(row_no, problems, number)
    try:
        if not enc.accounts:
            return part
        try:
            try:
                async with sessionmaker() as session, session.begin():
                    await _apply_encoded(await session.connection(), enc, after=after, probes=probes)
            except asyncpg.UniqueViolationError as exc:
                # A direct COPY met existing rows (not checked for, see _Probes, or written by a concurrent
                # import of the same accounts or premises since the check): the staged upsert handles that
                # (a real refusal falls through to the row-by-row retry).
                if probes is not None:
                    probes.failed(exc.table_name)
                async with sessionmaker() as session, session.begin():
                    await _apply_encoded(await session.connection(), enc, direct=False, after=after)
        except Exception as exc:  # noqa: BLE001 - any database refusal: isolate the offending rows
            log.warning(
                "import chunk of %d rows refused (%s); retrying row by row", enc.accounts, type(exc).__name__
            )
            chunk = (await asyncio.to_thread(_chunk_of_lines, lines, enc.start, organisation_id))[0]
            if after is not None:
                await after.wait()  # the rows write houses and premises too: in file order
            await _retry_rows(sessionmaker, chunk, part)
            return part
        part.applied += enc.accounts
        part.ledger_months += enc.ledger_months
        return part
    finally:
        if done is not None:
            done.set()


def read_text_rows(data: bytes, fmt: ImportFormat) -> Iterator[ParsedRow]:
    """Parse an in-memory upload (tests, small files)."""
    if fmt == "jsonl":
        return read_jsonl(io.BytesIO(data))
    return read_csv(io.StringIO(data.decode("utf-8-sig"), newline=""))


async def upsert_accounts(
    *, session: AsyncSession, organisation_id: uuid.UUID, rows: Iterable[AccountIn | dict[str, Any]]
) -> list[uuid.UUID]:
    """Upsert accounts inside the caller's transaction (seeding, tests, small pushes); return their ids."""
    chunk = _Chunk()
    for i, row in enumerate(rows, start=1):
        _add(chunk, organisation_id, i, row if isinstance(row, AccountIn) else AccountIn.model_validate(row))
    if len(chunk):
        await apply_chunk(await session.connection(), chunk)
    return list(chunk.accounts)


# --- the operation ---------------------------------------------------------------------------------------

IMPORT_JOB = "accounts-import"


def store_upload(source: BinaryIO, upload_dir: Path, fmt: ImportFormat, *, max_bytes: int) -> Path:
    """Copy an upload to the upload folder in 1 MiB blocks (blocking: call in a thread); return its path."""
    upload_dir.mkdir(parents=True, exist_ok=True)
    target = upload_dir / f"accounts-{uuid.uuid4().hex}.{fmt}"
    written = 0
    try:
        with target.open("wb") as out:
            while block := source.read(1 << 20):
                written += len(block)
                if written > max_bytes:
                    raise d.RuleViolation(
                        f"The file is larger than the {max_bytes} bytes allowed "
                        "(GISGW_ACCOUNTS_IMPORT_MAX_BYTES).",
                        rule="max_size",
                    )
                out.write(block)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return target


async def queue_import(
    *,
    session: AsyncSession,
    principal: Principal,
    organisation_id: uuid.UUID,
    path: Path,
    fmt: ImportFormat,
    filename: str | None,
) -> Operation:
    """Queue the import of a stored upload; the operation's result is the import report."""
    principal.require_org(organisation_id)
    if await session.get(Organisation, organisation_id) is None:
        raise d.NotFoundError(f"Organisation {organisation_id} not found.")
    op = await ops.create(
        session=session,
        principal=principal,
        kind=IMPORT_JOB,
        organisation_id=organisation_id,
        params={
            "path": str(path),
            "format": fmt,
            "filename": filename,
            "organisation_id": str(organisation_id),
        },
    )
    await audit.record(
        session=session,
        principal=principal,
        action="accounts.import.queue",
        resource_type="operation",
        resource_id=op.id,
        organisation_id=organisation_id,
        details={"format": fmt, "bytes": path.stat().st_size},
    )
    return op


@ops.job(IMPORT_JOB)
async def run_import_job(op: Operation, progress: ops.Progress, ctx: Any) -> dict[str, Any]:
    """Run a queued import (idempotent: a re-run after a crash re-applies the same upserts)."""
    params = op.params or {}
    path = Path(params["path"])
    if not path.is_file():
        raise d.NotFoundError("The uploaded file is gone; upload it again.")
    report = await import_file(
        sessionmaker=ctx.sessionmaker,
        path=path,
        fmt=params.get("format", "jsonl"),
        organisation_id=uuid.UUID(params["organisation_id"]),
        progress=progress,
    )
    async with ctx.sessionmaker() as session, session.begin():
        await audit.record(
            session=session,
            principal=SYSTEM,
            action="accounts.import.finish",
            resource_type="operation",
            resource_id=op.id,
            organisation_id=op.organisation_id,
            details={k: v for k, v in report.as_dict().items() if k != "rejected_rows"},
        )
    # Delete the upload only once its report is safe: a crash before this line re-runs the import.
    path.unlink(missing_ok=True)
    return report.as_dict()
