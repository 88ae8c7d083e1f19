"""SQLite through aiosqlite with one thread hop per statement (SQLAlchemy's adapter makes three or four).

aiosqlite runs every call on the connection's own thread; SQLAlchemy's adapter awaits a cursor, the statement,
the rows and the cursor's close one by one, and each hop is a queue put, a thread wake-up and a loop wake-up
(≈ 50 µs of CPU on a 2-core machine, more than most of our statements cost in SQLite itself). The cursor here
runs all four in one function on that thread and keeps what SQLAlchemy reads afterwards (description, rows,
rowcount, lastrowid). No maintained driver does this: aiosqlite's own API is one await per call, and
SQLAlchemy has no hook for it, so the adapter classes are subclassed; SQLAlchemy and aiosqlite are pinned to
the minor versions this was written against (pyproject.toml), and the whole suite runs through it on SQLite.
Server-side (streaming) cursors keep SQLAlchemy's own class: they fetch in batches by design.
"""

from __future__ import annotations

import collections
import sqlite3
from collections.abc import Sequence
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util import EMPTY_DICT

_Outcome = tuple[Any, list[Any] | None, int, int | None]


def _run(connection: aiosqlite.Connection, operation: str, parameters: Any, many: bool) -> _Outcome:
    """Run one statement on the aiosqlite thread: execute, fetch every row, read the counts, close."""
    cursor = connection._conn.cursor()  # noqa: SLF001 - aiosqlite's sqlite3 connection, on its own thread
    try:
        if many:
            cursor.executemany(operation, parameters)
        elif parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        description = cursor.description
        rows = cursor.fetchall() if description is not None else None
        # rowcount after the rows: with RETURNING, SQLite counts the changed rows as they are stepped.
        return description, rows, cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


class OneHopCursor(AsyncAdapt_aiosqlite_cursor):
    """A buffered cursor that runs each statement (with its rows) in one call on the aiosqlite thread."""

    __slots__ = ("_description", "_rowcount", "_lastrowid")
    _awaitable_cursor_close = False

    def __init__(self, adapt_connection: Any) -> None:
        # No aiosqlite cursor is made (that is a hop of its own): the statement makes and closes one.
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._cursor = None  # type: ignore[assignment]
        self._soft_closed_memoized = EMPTY_DICT
        self._rows = collections.deque()
        self._description: Any = None
        self._rowcount = -1
        self._lastrowid: int | None = None

    @property
    def description(self) -> Any:
        return self._description

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self) -> int:
        return self._lastrowid  # type: ignore[return-value]

    @property
    def arraysize(self) -> int:
        return 1

    @arraysize.setter
    def arraysize(self, value: int) -> None:  # pragma: no cover - SQLAlchemy never sets it on SQLite
        pass

    def close(self) -> None:
        self._rows.clear()

    async def _execute_async(self, operation: Any, parameters: Any) -> Any:
        return await self._run(operation, parameters, many=False)

    async def _executemany_async(self, operation: Any, seq_of_parameters: Sequence[Any]) -> Any:
        return await self._run(operation, seq_of_parameters, many=True)

    async def _run(self, operation: Any, parameters: Any, *, many: bool) -> None:
        async with self._adapt_connection._execute_mutex:
            outcome: _Outcome = await self._connection._execute(
                _run, self._connection, operation, parameters, many
            )
        self._description, rows, self._rowcount, self._lastrowid = outcome
        self._rows = collections.deque(rows) if rows is not None else collections.deque()


class OneHopConnection(AsyncAdapt_aiosqlite_connection):
    """SQLAlchemy's aiosqlite connection whose (non-streaming) cursors are OneHopCursor."""

    __slots__ = ()
    _cursor_cls = OneHopCursor

    def _idle(self) -> bool:
        # sqlite3 reports whether a transaction is open without touching the database (a flag of the
        # connection, readable from any thread); with none open, commit and rollback do nothing in SQLite,
        # so the hop is skipped. The pool rolls back every connection it gets back: most are idle by then.
        raw: sqlite3.Connection | None = self._connection._connection  # noqa: SLF001
        return raw is not None and not raw.in_transaction

    def rollback(self) -> None:
        if not self._idle():
            super().rollback()

    def commit(self) -> None:
        if not self._idle():
            super().commit()


class OneHopDbapi(AsyncAdapt_aiosqlite_dbapi):
    """The DBAPI module given to create_async_engine(module=...) for sqlite+aiosqlite URLs."""

    def connect(self, *arg: Any, **kw: Any) -> OneHopConnection:
        adapted = super().connect(*arg, **kw)
        return OneHopConnection(self, adapted._connection)


def one_hop_dbapi() -> OneHopDbapi:
    """Return a fresh DBAPI module object for one engine."""
    return OneHopDbapi(aiosqlite, sqlite3)
