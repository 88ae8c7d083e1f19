"""Engine and session factory for SQLite (aiosqlite) and PostgreSQL (asyncpg)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from app.db.sqlite_driver import one_hop_dbapi


def create_engine(url: str, *, echo: bool = False, pool_pre_ping: bool = False) -> AsyncEngine:
    """Create an async engine; for SQLite also create the file's folder and enable WAL and foreign keys."""
    parsed = make_url(url)
    # hide_parameters: a database error's message would otherwise carry the statement's values (names,
    # SNILS) into the log line of whoever logs it.
    kwargs: dict[str, Any] = {"echo": echo, "hide_parameters": True}
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"timeout": 30}
        if parsed.get_driver_name() == "aiosqlite":
            kwargs["module"] = one_hop_dbapi()
    else:
        # No pre-ping by default (GISGW_DATABASE_POOL_PRE_PING): it costs a round trip on every checkout, i.e.
        # on every request. Without it, a connection killed by a database restart fails the one request that
        # uses it: asyncpg raises a disconnect error and SQLAlchemy invalidates the connection (and the older
        # ones of the pool), so the next checkout reconnects.
        # pool_size covers a burst of concurrent requests in one worker: connections above it (overflow) are
        # closed when returned, so with 10 a burst of 25 reconnected 15 times (connect + asyncpg's type
        # set-up, tens of ms each: the p99 of the accounts search benchmark). At most 30 per process.
        kwargs.update(pool_size=25, max_overflow=5, pool_pre_ping=pool_pre_ping)
    engine = create_async_engine(url, **kwargs)
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets the API read while a worker writes; foreign keys are off by default in SQLite.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Return the session factory used for every request and worker."""
    return async_sessionmaker(engine, expire_on_commit=False)
