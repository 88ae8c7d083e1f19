"""A raw asyncpg pool beside the engine: the account search's fast path reads through it on PostgreSQL.

With the search's SELECT already run straight on asyncpg (`rows.fetch_rows`), what was left of the database
layer in a lookup's CPU was the checkout from SQLAlchemy's pool: the adapted connection, the pool's events
and its reset on return around a single autocommit SELECT. This pool hands out a bare asyncpg connection.

Why not `asyncpg.Pool`: its `release` runs the reset query (`RESET ALL`, `UNLISTEN *`, …: one more round trip)
unless replaced, and always shields the release in a new task, and its connections come wrapped in a proxy
that forwards every attribute; together about a tenth of a lookup's CPU (profiles in docs/benchmarks.md,
"## Ratios to the floor"). The reads this pool serves change no session state, so none of that is needed:
a connection goes back to the idle stack as it is; one left in a transaction, or that failed other than by
a database error (closed, cancelled mid-query), is terminated and not reused; when all `size` connections are
busy, waiters are served first come, first served.

The pool connects with the engine's own connect arguments (`dialect.create_connect_args`), so host, user,
password, database and SSL follow `GISGW_DATABASE_URL`; it opens connections on demand (none at start) up to
its size, and closes a connection idle for a minute. Statements are compiled by the engine's dialect (see
`RawReader`), so the SQL is the SQL SQLAlchemy would send.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import asyncpg
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine

#: Keys of the engine's connect arguments that are SQLAlchemy's own, not asyncpg's.
_SQLALCHEMY_ONLY = ("prepared_statement_cache_size", "prepared_statement_name_func", "async_creator_fn")
IDLE_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class RawReader:
    """A pooled asyncpg connection in autocommit, with the dialect that compiles statements for it."""

    driver: asyncpg.Connection
    dialect: Dialect


class RawPool:
    """Up to `size` asyncpg connections for reads without a transaction; `acquire()` yields a `RawReader`."""

    def __init__(self, connect: dict[str, Any], dialect: Dialect, size: int) -> None:
        self._connect = connect
        self._dialect = dialect
        self._size = size
        self._open = 0  # connected or connecting, idle or busy
        self._idle: list[tuple[asyncpg.Connection, float]] = []  # a stack: the warmest connection first
        self._waiters: deque[asyncio.Future[asyncpg.Connection | None]] = deque()
        self._closed = False

    def acquire(self) -> _Checkout:
        """Check a connection out for one read: `async with pool.acquire() as reader: ...`."""
        return _Checkout(self)

    async def _get(self) -> asyncpg.Connection:
        if self._closed:
            raise asyncpg.InterfaceError("the pool is closed")
        while self._idle:
            conn, _since = self._idle.pop()
            if not conn.is_closed():
                self._expire(time.monotonic())
                return conn
            self._open -= 1
        if self._open < self._size:
            self._open += 1
            try:
                conn = await asyncpg.connect(**self._connect)
            except BaseException:
                self._open -= 1
                self._wake_one(None)
                raise
            return conn
        waiter: asyncio.Future[asyncpg.Connection | None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            handed = await waiter
        except BaseException:
            if waiter.done() and not waiter.cancelled():
                # Served just as we were cancelled: pass the connection (or the free slot) on.
                if (served := waiter.result()) is not None:
                    self._put(served, ok=True)
                else:
                    self._wake_one(None)
            elif waiter in self._waiters:
                self._waiters.remove(waiter)
            raise
        return handed if handed is not None else await self._get()

    def _put(self, conn: asyncpg.Connection, *, ok: bool) -> None:
        if not ok or self._closed or conn.is_closed() or conn.is_in_transaction():
            # Not reusable as it is (this pool's readers never open a transaction: one left open means a
            # misuse, dropped rather than rolled back). Terminating is immediate, never waits on the server.
            conn.terminate()
            self._open -= 1
            self._wake_one(None)  # a waiter may now open a connection of its own
            return
        if self._wake_one(conn):
            return
        self._idle.append((conn, time.monotonic()))

    def _wake_one(self, conn: asyncpg.Connection | None) -> bool:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(conn)
                return True
        return False

    def _expire(self, now: float) -> None:
        # The coldest connection is at the bottom of the stack: close it once it has idled for a minute.
        while self._idle and now - self._idle[0][1] > IDLE_SECONDS:
            conn, _since = self._idle.pop(0)
            conn.terminate()
            self._open -= 1

    async def close(self) -> None:
        """Close the idle connections now and the busy ones when they come back (the app's shutdown)."""
        self._closed = True
        idle, self._idle = self._idle, []
        for conn, _since in idle:
            self._open -= 1
            await conn.close()
        while self._wake_one(None):  # every waiter retries and meets the closed pool
            pass


class _Checkout:
    __slots__ = ("_conn", "_pool")

    def __init__(self, pool: RawPool) -> None:
        self._pool = pool
        self._conn: asyncpg.Connection | None = None

    async def __aenter__(self) -> RawReader:
        self._conn = await self._pool._get()
        return RawReader(self._conn, self._pool._dialect)

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._conn is not None
        # A database error (bad statement, constraint, timeout answered by the server) leaves the connection
        # usable; anything else (a lost connection, a cancellation in the middle of a query) does not.
        self._pool._put(self._conn, ok=exc is None or isinstance(exc, asyncpg.PostgresError))
        self._conn = None


async def open_raw_pool(engine: AsyncEngine, *, size: int) -> RawPool | None:
    """Create the pool for a PostgreSQL engine (no connection is opened yet); None on other databases."""
    if engine.dialect.name != "postgresql" or size <= 0:
        return None
    args, kwargs = engine.dialect.create_connect_args(engine.url)
    assert not args
    connect: dict[str, Any] = {k: v for k, v in kwargs.items() if k not in _SQLALCHEMY_ONLY}
    return RawPool(connect, engine.dialect, size)
