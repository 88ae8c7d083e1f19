"""A raw asyncpg pool beside the engine: the account search's fast path reads through it on PostgreSQL.

With the search's SELECT already run straight on asyncpg (`rows.fetch_rows`), what was left of the database
layer in a lookup's CPU was the checkout from SQLAlchemy's pool: the adapted connection, the pool's events
and reset-on-return (a ROLLBACK round trip) around a single autocommit SELECT. asyncpg's own pool hands out a
connection with none of that; its release does not run asyncpg's reset query (`RESET ALL`, `UNLISTEN *`, …:
one more round trip) because these reads change no session state, and rolls back only a connection left in a
transaction.

The pool connects with the engine's own connect arguments (`dialect.create_connect_args`), so host, user,
password, database and SSL follow `GISGW_DATABASE_URL`; it opens connections on demand (none at start) up to
its size, and closes connections idle for a minute. Statements are compiled by the engine's dialect (see
`RawReader`), so the SQL is the SQL SQLAlchemy would send.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine

#: Keys of the engine's connect arguments that are SQLAlchemy's own, not asyncpg's.
_SQLALCHEMY_ONLY = ("prepared_statement_cache_size", "prepared_statement_name_func", "async_creator_fn")


@dataclass(frozen=True, slots=True)
class RawReader:
    """A pooled asyncpg connection in autocommit, with the dialect that compiles statements for it."""

    driver: asyncpg.Connection
    dialect: Dialect


class RawPool:
    """asyncpg pool for reads without a transaction; `acquire()` yields a `RawReader`."""

    def __init__(self, pool: asyncpg.Pool, dialect: Dialect) -> None:
        self._pool = pool
        self._dialect = dialect

    @asynccontextmanager
    async def acquire(self) -> AsyncIterator[RawReader]:
        """Check a connection out for one read."""
        async with self._pool.acquire() as conn:
            yield RawReader(conn, self._dialect)

    async def close(self) -> None:
        """Close every connection (the app's shutdown)."""
        await self._pool.close()


async def _rollback_if_needed(conn: asyncpg.Connection) -> None:
    if conn.is_in_transaction():
        await conn.execute("ROLLBACK")


async def open_raw_pool(engine: AsyncEngine, *, size: int) -> RawPool | None:
    """Create the pool for a PostgreSQL engine (no connection is opened yet); None on other databases."""
    if engine.dialect.name != "postgresql" or size <= 0:
        return None
    args, kwargs = engine.dialect.create_connect_args(engine.url)
    connect: dict[str, Any] = {k: v for k, v in kwargs.items() if k not in _SQLALCHEMY_ONLY}
    pool = await asyncpg.create_pool(
        *args,
        min_size=0,
        max_size=size,
        max_inactive_connection_lifetime=60.0,
        reset=_rollback_if_needed,
        **connect,
    )
    assert pool is not None
    return RawPool(pool, engine.dialect)
