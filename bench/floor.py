"""Shared pieces of the "floor" measurements: gisgw and the least work the same job needs, timed side by side.

Every benchmark of `bench/` measures its job twice in one run: once through gisgw, once as its floor (the
same bytes or the same SQL handled by the bare libraries: lxml, libxml2's XSD, OpenSSL's GOST, the database
driver, a bare HTTP server). The two are interleaved (A B A B …) so that the load of the shared machine hits
both alike, and the ratio is taken pair by pair, then the median of those ratios is reported. The last line
of every benchmark is `ratio_line(...)`: `<name>: gisgw <value>, floor <value>, ratio <r>`.

Only the standard library is used here (`time.perf_counter`, `statistics`): pyperf or pytest-benchmark would
spawn worker processes or calibrate loops on their own schedule, which cannot interleave two callables pair
by pair within one process and would add a dependency for forty lines of arithmetic.
"""

from __future__ import annotations

import inspect
import shutil
import sqlite3
import statistics
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

__all__ = [
    "Pairs",
    "SqlLog",
    "bare_http_server",
    "copy_sqlite",
    "interleave",
    "interleave_async",
    "ratio_line",
    "replay_failures",
    "replay_sqlite",
]


@dataclass
class Pairs:
    """Timings of gisgw and its floor taken in alternation (same index = same pair), in milliseconds."""

    gisgw: list[float] = field(default_factory=list)
    floor: list[float] = field(default_factory=list)

    def add(self, gisgw_ms: float, floor_ms: float) -> None:
        """Record one pair."""
        self.gisgw.append(gisgw_ms)
        self.floor.append(floor_ms)

    @property
    def gisgw_median(self) -> float:
        """Median of the gisgw timings."""
        return statistics.median(self.gisgw)

    @property
    def floor_median(self) -> float:
        """Median of the floor timings."""
        return statistics.median(self.floor)

    @property
    def ratio(self) -> float:
        """Median of the pair-by-pair ratios gisgw/floor (noise that hits one pair cancels)."""
        return statistics.median(g / f for g, f in zip(self.gisgw, self.floor, strict=True) if f > 0)

    def line(self, name: str, unit: str = "ms") -> str:
        """Return the ratio line of these pairs (medians, pair-by-pair ratio)."""
        return format_ratio(name, self.gisgw_median, self.floor_median, unit, ratio=self.ratio)


def _ms(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def interleave(
    gisgw: Callable[[], object], floor: Callable[[], object], runs: int, *, warmup: int = 1
) -> Pairs:
    """Time `runs` pairs A B A B … (the order flips every pair so neither always runs second)."""
    for _ in range(warmup):
        gisgw()
        floor()
    pairs = Pairs()
    for i in range(runs):
        if i % 2:
            f = _ms(floor)
            g = _ms(gisgw)
        else:
            g = _ms(gisgw)
            f = _ms(floor)
        pairs.add(g, f)
    return pairs


async def _ams(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    result = fn()
    if inspect.isawaitable(result):
        await result
    return (time.perf_counter() - start) * 1000


async def interleave_async(
    gisgw: Callable[[], Awaitable[object] | object],
    floor: Callable[[], Awaitable[object] | object],
    runs: int,
    *,
    warmup: int = 1,
) -> Pairs:
    """`interleave` for callables that may return awaitables (each call is awaited inside its timing)."""
    for _ in range(warmup):
        await _ams(gisgw)
        await _ams(floor)
    pairs = Pairs()
    for i in range(runs):
        if i % 2:
            f = await _ams(floor)
            g = await _ams(gisgw)
        else:
            g = await _ams(gisgw)
            f = await _ams(floor)
        pairs.add(g, f)
    return pairs


def _value(value: float, unit: str) -> str:
    if abs(value) >= 100:
        return f"{value:,.0f} {unit}"
    if abs(value) >= 10:
        return f"{value:.1f} {unit}"
    return f"{value:.2f} {unit}"


def format_ratio(name: str, gisgw: float, floor: float, unit: str, *, ratio: float | None = None) -> str:
    """Return `<name>: gisgw <value>, floor <value>, ratio <r>` (ratio = gisgw/floor unless given)."""
    r = ratio if ratio is not None else (gisgw / floor if floor else float("inf"))
    return f"{name}: gisgw {_value(gisgw, unit)}, floor {_value(floor, unit)}, ratio {r:.2f}"


def ratio_line(name: str, gisgw: float, floor: float, unit: str, *, ratio: float | None = None) -> str:
    """Print and return the ratio line; for times lower is better, for rates (req/s) higher is better."""
    line = format_ratio(name, gisgw, floor, unit, ratio=ratio)
    print(line, flush=True)  # noqa: T201
    return line


class _Handler(BaseHTTPRequestHandler):
    """Answer every POST/GET with the server's fixed bytes, reading the request body completely."""

    protocol_version = "HTTP/1.1"
    reply: bytes = b""
    content_type = "text/xml; charset=utf-8"

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        # One write for head and body: two small writes meet the peer's delayed ACK (~40 ms a request).
        head = (
            f"HTTP/1.1 200 OK\r\nContent-Type: {self.content_type}\r\n"
            f"Content-Length: {len(self.reply)}\r\n\r\n"
        )
        self.wfile.write(head.encode("ascii") + self.reply)

    do_POST = _answer  # noqa: N815 - http.server's naming
    do_GET = _answer  # noqa: N815

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - overrides the stdlib name
        """Stay quiet."""


@contextmanager
def bare_http_server(reply: bytes, content_type: str = "text/xml; charset=utf-8") -> Iterator[str]:
    """Serve `reply` to every request from a stdlib server in a thread; yield its base URL.

    The HTTP floor: no routing, no parsing of the request, no database; the same keep-alive client
    (httpx) that gisgw uses talks to it, so the difference is gisgw's own work.
    """
    handler = type("FixedReply", (_Handler,), {"reply": reply, "content_type": content_type})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    try:
        yield f"http://{host!s}:{port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# ---------------------------------------------------------------------------------------------- SQL floor
# "The same SQL": every statement gisgw sent to the database during one run (as the driver received it,
# with its parameters and commit points), replayed later through the bare driver (stdlib sqlite3), rows
# fetched and discarded. No ORM, no Core compilation, no asyncio hop per statement: what remains is the
# database's own work, which no gateway can avoid for that job.


def statement_kind(executemany: bool, parameters: Any) -> str:
    """Return "many" for a real executemany, "one" otherwise.

    SQLAlchemy's insertmanyvalues runs the rows of an ORM flush with RETURNING as single-row statements inside
    an executemany context, so the event says executemany with one row's flat parameters: replayed with
    executemany they failed ("Incorrect number of bindings") and were left out of the floor.
    """
    if not executemany:
        return "one"
    first = parameters[0] if isinstance(parameters, list | tuple) and parameters else None
    return "many" if isinstance(first, list | tuple | dict) else "one"


@dataclass
class SqlLog:
    """Statements in the order the driver saw them: ("one"|"many", sql, parameters), ("commit", "", None)."""

    items: list[tuple[str, str, Any]] = field(default_factory=list)

    def _on_execute(
        self,
        _conn: object,
        _cursor: object,
        statement: str,
        parameters: Any,
        _context: object,
        executemany: bool,
    ) -> None:
        self.items.append((statement_kind(executemany, parameters), statement, parameters))

    def _on_commit(self, _conn: object) -> None:
        self.items.append(("commit", "", None))

    @contextmanager
    def recording(self) -> Iterator[SqlLog]:
        """Record every statement of every engine of this process while the block runs."""
        from sqlalchemy import event
        from sqlalchemy.engine import Engine

        event.listen(Engine, "before_cursor_execute", self._on_execute)
        event.listen(Engine, "commit", self._on_commit)
        try:
            yield self
        finally:
            event.remove(Engine, "before_cursor_execute", self._on_execute)
            event.remove(Engine, "commit", self._on_commit)

    def writing_transactions(self) -> SqlLog:
        """Return only the transactions that wrote something (idle worker polls are not the job's work)."""
        kept = SqlLog()
        current: list[tuple[str, str, Any]] = []
        for item in self.items:
            current.append(item)
            if item[0] == "commit":
                if any(_writes(sql) for _kind, sql, _params in current):
                    kept.items += current
                current = []
        if any(_writes(sql) for _kind, sql, _params in current):
            kept.items += current
        return kept

    @property
    def statements(self) -> int:
        """Number of statements (an executemany counts once)."""
        return sum(1 for kind, _sql, _params in self.items if kind != "commit")


def copy_sqlite(source: str | Path, target: str | Path) -> None:
    """Copy a SQLite database with its WAL files (a snapshot for the next replay)."""
    for suffix in ("", "-wal", "-shm"):
        src = Path(f"{source}{suffix}")
        dst = Path(f"{target}{suffix}")
        if src.exists():
            shutil.copyfile(src, dst)
        elif dst.exists():
            dst.unlink()


_BOOKKEEPING = ("SAVEPOINT", "RELEASE", "ROLLBACK")


def _writes(sql: str) -> bool:
    head = sql.lstrip()[:7].upper()
    return head.startswith(("INSERT", "UPDATE", "DELETE", "REPLACE"))


def replay_sqlite(path: str | Path, log: SqlLog) -> int:
    """Replay a recorded run on a SQLite file with the stdlib driver and gisgw's pragmas; return rows read.

    The run's connections are replayed as one: savepoint bookkeeping is left out (savepoints of concurrent
    sessions cannot nest on one connection) and a statement that fails because of the linearisation (a write
    a concurrent session had rolled back) is counted in `replay_sqlite.failed` instead of stopping the replay.
    """
    conn = sqlite3.connect(str(path))
    failed = 0
    try:
        for pragma in ("journal_mode=WAL", "foreign_keys=ON", "synchronous=NORMAL", "busy_timeout=30000"):
            conn.execute(f"PRAGMA {pragma}")
        rows = 0
        for kind, sql, params in log.items:
            if kind == "commit":
                conn.commit()
                continue
            if sql.lstrip()[:9].upper().startswith(_BOOKKEEPING):
                continue
            try:
                if kind == "many":
                    conn.executemany(sql, params)
                else:
                    rows += len(conn.execute(sql, params or ()).fetchall())
            except sqlite3.DatabaseError:
                failed += 1
        conn.commit()
        return rows
    finally:
        conn.close()
        replay_failures.append(failed)


#: Statements that failed in each replay_sqlite call, in call order (printed by the benches).
replay_failures: list[int] = []
