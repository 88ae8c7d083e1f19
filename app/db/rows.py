"""Run a cached Core SELECT straight on the asyncpg connection: the hot read path of the account search.

A lookup's database work is one indexed SELECT (≈ 0.1 ms in PostgreSQL), yet SQLAlchemy's async execution
around it — the greenlet hop, the execution context, the cursor adapter, the result object — was a quarter of
a search request's CPU in the gateway (profiles in docs/benchmarks.md "## Accounts"). `fetch_rows` keeps the
statement a SQLAlchemy construct (compiled by SQLAlchemy's own PostgreSQL compiler, once per statement and
number of list elements) and hands only the compiled SQL and its arguments to asyncpg, which prepares it once
per connection. SQLAlchemy offers no public "compile once, execute on the driver" API, hence this module.

Only for plain column SELECTs whose column types need no result processing beyond what asyncpg returns
(uuid, text, numeric, date, boolean, timestamptz), on a connection in autocommit (no transaction for the
statement to join: SQLAlchemy begins its transactions lazily through its own cursor, which this skips).
Elsewhere, and on SQLite, it executes the statement the usual way; the rows look the same (attributes by
column label). A `RawReader` (a connection of the raw asyncpg pool, `raw_pool.py`) is always in autocommit.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection

from app.db.raw_pool import RawReader


@dataclass
class _Plan:
    stmt: Select[Any]  # held so that its id, part of the key, is never reused
    sql: str
    #: For each positional argument: the parameter's name and, for an element of a list, its index.
    args: tuple[tuple[str, int | None], ...]
    row: Any = field(default=None)  # a namedtuple class, made from the first result's column names


#: Compiled statements by (statement, lengths of its list parameters). Statements passed here are cached
#: by their callers (one per query shape), so this stays small.
_PLANS: dict[tuple[int, tuple[int, ...]], _Plan] = {}


def _plan(dialect: Dialect, stmt: Select[Any], params: dict[str, Any]) -> _Plan:
    compiled = stmt.params(**params).compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
    args: list[tuple[str, int | None]] = []
    for name in compiled.positiontup or ():
        base, _, index = name.rpartition("_")
        if index.isdigit() and isinstance(params.get(base), list | tuple):
            args.append((base, int(index) - 1))  # an element of an expanded IN list: orgs_1, orgs_2, …
        else:
            args.append((name, None))
    return _Plan(stmt=stmt, sql=compiled.string, args=tuple(args))


async def fetch_rows(
    conn: AsyncConnection | RawReader, stmt: Select[Any], params: dict[str, Any], *, autocommit: bool
) -> Sequence[Any]:
    """Return all rows of `stmt` (cached by the caller) with `params`; rows have attributes per label."""
    if isinstance(conn, RawReader):
        driver = conn.driver
    elif conn.dialect.name != "postgresql" or not autocommit:
        rows: Sequence[Any] = (await conn.execute(stmt, params)).all()
        return rows
    else:
        driver = (await conn.get_raw_connection()).driver_connection
    assert driver is not None
    lists = tuple(len(v) for v in params.values() if isinstance(v, list | tuple))
    key = (id(stmt), lists)
    plan = _PLANS.get(key)
    if plan is None:
        plan = _PLANS[key] = _plan(conn.dialect, stmt, params)
    values = [params[name] if index is None else params[name][index] for name, index in plan.args]
    records = await driver.fetch(plan.sql, *values)
    if not records:
        return []
    if plan.row is None:
        plan.row = namedtuple("Row", list(records[0].keys()))  # type: ignore[misc]
    make = plan.row._make
    return [make(r) for r in records]
