"""Bulk writers of the accounts import: houses, premises, accounts, their links and ledgers, in one chunk.

`write_accounts` is the one entry point; the caller (the import, `app.domain.accounts.importing`) owns the
transaction and the row-by-row retry. Three ways to write, all upserts keyed by the deterministic ids:

- portable (SQLite, or any other backend): executemany `INSERT … ON CONFLICT DO UPDATE`, the ledger merged
  in Python by the domain's rule (`merge_ledger`);
- PostgreSQL, rows as tuples: COPY into temporary staging tables, then set-based `INSERT … ON CONFLICT`, the
  ledger merged in SQL by the same rule;
- PostgreSQL, rows already encoded as COPY text (`CopyRows`, the import's JSON Lines fast path): COPY
  straight into the tables on an initial load, else through the staging tables as above.

Column orders (`HOUSE_COLS` …) are the tuples' and the COPY lines' layout; the domain fills them.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, func, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from app.db.base import utcnow
from app.db.models.accounts import Account, AccountLedger, AccountPremises, House, Premises

#: The ledger merge rule (stored months text or None, imported months text → stored months text).
MergeLedger = Callable[[str | None, str], str]

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
    "consumer_category",
    "phone",
    "email",
)
LINK_COLS = ("account_id", "premises_id", "share_percent")
LEDGER_COLS = ("account_id", "months")


@dataclass
class AccountRows:
    """One chunk of the import as row tuples in the `*_COLS` orders, keyed by id (a later row replaces)."""

    houses: dict[uuid.UUID, tuple[Any, ...]] = field(default_factory=dict)
    premises: dict[uuid.UUID, tuple[Any, ...]] = field(default_factory=dict)
    accounts: dict[uuid.UUID, tuple[Any, ...]] = field(default_factory=dict)
    links: dict[uuid.UUID, list[tuple[Any, ...]]] = field(default_factory=dict)
    #: The stored months text of every account of the chunk that has ledger months.
    ledger: dict[uuid.UUID, str] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.accounts)


@dataclass
class CopyRows:
    """One chunk encoded as PostgreSQL COPY text per staging table (picklable, built in any process)."""

    #: Staging table (`imp_houses`, `imp_premises`, `imp_accounts`, `imp_ledger`, `account_premises`) → data.
    copy: dict[str, bytes]
    #: The chunk's account and premises ids as PostgreSQL array literals (`{id,id,…}`): one string each
    #: pickles and binds far cheaper than thousands of UUID objects.
    account_ids: str = "{}"
    premises_ids: str = "{}"


def _dicts(cols: Sequence[str], rows: Iterable[tuple[Any, ...]]) -> list[dict[str, Any]]:
    return [dict(zip(cols, r, strict=True)) for r in rows]


async def _apply_portable(conn: AsyncConnection, chunk: AccountRows, merge_ledger: MergeLedger) -> None:
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
    ledgers = chunk.ledger
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
        merged = merge_ledger(stored.get(account_id), months)
        if merged != stored.get(account_id):  # an unchanged ledger is not rewritten
            changed.append({"account_id": account_id, "months": merged})
    if changed:
        stmt = insert(AccountLedger)
        await conn.execute(
            stmt.on_conflict_do_update(index_elements=["account_id"], set_={"months": stmt.excluded.months}),
            changed,
        )


def _coalesce(new: Any, old: Any) -> Any:
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
# (`merge_ledger` elsewhere). The merge runs inside ON CONFLICT DO UPDATE, on the
# latest committed ledger, so two imports of the same account never lose each other's months.
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


async def _apply_postgres(conn: AsyncConnection, chunk: AccountRows) -> None:
    """Upsert a chunk through COPY into temporary staging tables, then set-based INSERT … ON CONFLICT."""
    pg = await _staging(conn)
    await pg.copy_records_to_table("imp_houses", records=list(chunk.houses.values()), columns=HOUSE_COLS)
    await pg.copy_records_to_table(
        "imp_premises", records=list(chunk.premises.values()), columns=PREMISES_COLS
    )
    await pg.copy_records_to_table(
        "imp_accounts", records=list(chunk.accounts.values()), columns=ACCOUNT_COLS
    )
    await pg.copy_records_to_table("imp_ledger", records=list(chunk.ledger.items()), columns=LEDGER_COLS)
    for sql in _PG_UPSERTS:
        await pg.execute(sql)
    await pg.copy_records_to_table(
        "account_premises", records=[lnk for g in chunk.links.values() for lnk in g], columns=LINK_COLS
    )


# --- COPY text ---------------------------------------------------------------------------------------------

_COPY_ESCAPE = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def copy_value(value: Any) -> str:
    """Encode one value in PostgreSQL's COPY text format."""
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


def copy_line(row: Sequence[Any]) -> str:
    """Encode one row as a COPY text line."""
    return "\t".join(map(copy_value, row)) + "\n"


def copy_text(rows: Iterable[Sequence[Any]]) -> bytes:
    """Encode rows in PostgreSQL's COPY text format (UTF-8)."""
    return "".join(map(copy_line, rows)).encode()


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
class Probes:
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
    enc: CopyRows,
    *,
    direct: bool = True,
    after: asyncio.Event | None = None,
    probes: Probes | None = None,
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
    first (default: yes); see `Probes`.

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

    probes = probes or Probes(accounts=True, premises=True)
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


async def write_accounts(
    conn: AsyncConnection,
    rows: AccountRows | CopyRows,
    *,
    merge_ledger: MergeLedger,
    direct: bool = True,
    after: asyncio.Event | None = None,
    probes: Probes | None = None,
) -> None:
    """Write a chunk with the backend's fastest path (the caller owns the transaction).

    `merge_ledger` is the portable path's ledger rule (PostgreSQL runs the same rule in SQL); `direct`,
    `after` and `probes` concern COPY text only (see `_apply_encoded`).
    """
    if isinstance(rows, CopyRows):
        await _apply_encoded(conn, rows, direct=direct, after=after, probes=probes)
    elif conn.dialect.name == "postgresql":
        await _apply_postgres(conn, rows)
    else:
        await _apply_portable(conn, rows, merge_ledger)
