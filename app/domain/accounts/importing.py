"""The accounts import as a job: a file of rows in chunks, one transaction per chunk, and its operation.

Format: docs/accounts-import.md; the row: `accounts.rows`; the readers: `accounts.readers`; the writes:
`app.db.bulk_accounts.write_accounts`. A row is either applied as a whole (account + premises + ledger, in one
transaction with its chunk) or rejected with its row number, field paths and reasons. Re-running an import
(e.g. after a crash) is harmless: every write is an upsert keyed by deterministic ids. An account's ledger is
one row (`accounts.ledger`): a re-import replaces the months the row carries and keeps the account's other
months.

On PostgreSQL, JSON Lines are encoded as COPY text (`encode_jsonl_chunk`, with the msgspec fast path of
`app.domain.accounts.import_fast`); an initial load's chunks are COPYed straight into the tables, other
chunks go through temporary staging tables and `INSERT … ON CONFLICT DO UPDATE`, two chunks at a time
(`app.db.bulk_accounts`). Elsewhere (SQLite, CSV) the chunks go through executemany upserts.
"""

from __future__ import annotations

import asyncio
import collections
import functools
import itertools
import logging
import multiprocessing
import os
import uuid
from collections.abc import Awaitable, Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, BinaryIO

import asyncpg
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.bulk_accounts import Probes, write_accounts
from app.db.models.core import Operation, Organisation
from app.domain.accounts.import_fast import EncodedChunk, chunk_of_lines, encode_jsonl_chunk
from app.domain.accounts.ledger import merge_months
from app.domain.accounts.readers import iter_rows
from app.domain.accounts.rows import (
    DEFAULT_MAX_REPORTED,
    AccountIn,
    ImportChunk,
    ImportFormat,
    ImportReport,
    ParsedRow,
    RowProblem,
    add_row,
)
from app.domain.kernel import audit
from app.domain.kernel import errors as d
from app.domain.kernel import operations as ops
from app.domain.kernel.access import SYSTEM, Principal, require_organisation

log = logging.getLogger(__name__)

DEFAULT_CHUNK = 5000

#: True checks for existing accounts and premises before every direct COPY from an import's first chunk on
#: (tests; see `app.db.bulk_accounts.Probes`).
PROBE_FIRST = False


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

    def parse_chunk() -> tuple[ImportChunk, list[tuple[int, list[RowProblem], str | None]], int, int]:
        chunk, rejected, seen, superseded = ImportChunk(), [], 0, 0
        for row_no, acc, problems, number in source:
            seen += 1
            if acc is None:
                rejected.append((row_no, problems, number))
            elif add_row(chunk, organisation_id, row_no, acc):
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


async def _flush(
    sessionmaker: async_sessionmaker[AsyncSession], chunk: ImportChunk, report: ImportReport
) -> None:
    try:
        async with sessionmaker() as session, session.begin():
            await write_accounts(await session.connection(), chunk, merge_ledger=merge_months)
    except Exception as exc:  # noqa: BLE001 - any database refusal: isolate the offending rows
        log.warning(
            "import chunk of %d rows refused (%s); retrying row by row", len(chunk), type(exc).__name__
        )
        await _retry_rows(sessionmaker, chunk, report)
        return
    _count(report, chunk)


async def _retry_rows(
    sessionmaker: async_sessionmaker[AsyncSession], chunk: ImportChunk, report: ImportReport
) -> None:
    """Apply a refused chunk account by account, rejecting only the rows the database refuses."""
    for account_id in list(chunk.accounts):
        single = chunk.single(account_id)
        try:
            async with sessionmaker() as session, session.begin():
                await write_accounts(await session.connection(), single, merge_ledger=merge_months)
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


def _count(report: ImportReport, chunk: ImportChunk) -> None:
    report.applied += len(chunk.accounts)
    report.ledger_months += sum(chunk.months.values())


#: Chunks written at once on PostgreSQL, each on its own connection (see `app.db.bulk_accounts`): one
#: writes the shared rows of its chunk while the next one writes its accounts and ledger.
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

        probes = Probes(accounts=PROBE_FIRST, premises=PROBE_FIRST)
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
                # account with a chunk being written waits for it (see bulk_accounts' two phases).
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
    probes: Probes | None = None,
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
                    await write_accounts(
                        await session.connection(), enc, merge_ledger=merge_months, after=after, probes=probes
                    )
            except asyncpg.UniqueViolationError as exc:
                # A direct COPY met existing rows (not checked for, see Probes, or written by a concurrent
                # import of the same accounts or premises since the check): the staged upsert handles that
                # (a real refusal falls through to the row-by-row retry).
                if probes is not None:
                    probes.failed(exc.table_name)
                async with sessionmaker() as session, session.begin():
                    await write_accounts(
                        await session.connection(), enc, merge_ledger=merge_months, direct=False, after=after
                    )
        except Exception as exc:  # noqa: BLE001 - any database refusal: isolate the offending rows
            log.warning(
                "import chunk of %d rows refused (%s); retrying row by row", enc.accounts, type(exc).__name__
            )
            chunk = (await asyncio.to_thread(chunk_of_lines, lines, enc.start, organisation_id))[0]
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


async def upsert_accounts(
    *, session: AsyncSession, organisation_id: uuid.UUID, rows: Iterable[AccountIn | dict[str, Any]]
) -> list[uuid.UUID]:
    """Upsert accounts inside the caller's transaction (seeding, tests, small pushes); return their ids."""
    chunk = ImportChunk()
    for i, row in enumerate(rows, start=1):
        acc = row if isinstance(row, AccountIn) else AccountIn.model_validate(row)
        add_row(chunk, organisation_id, i, acc)
    if len(chunk):
        await write_accounts(await session.connection(), chunk, merge_ledger=merge_months)
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
    await require_organisation(session=session, principal=principal, organisation_id=organisation_id)
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
