"""Background workers inside `gisgw serve`: the operation runner and the loops app.main hands in."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Mapping
from typing import Any

from app.context import AppContext
from app.domain.kernel import audit
from app.domain.kernel import operations as ops
from app.domain.kernel.access import SYSTEM
from app.domain.kernel.area import Loop
from app.domain.kernel.operations import JobHandler
from app.gis_client.errors import GisFaultError

log = logging.getLogger(__name__)


async def run_operations(
    ctx: AppContext, stop: asyncio.Event, *, jobs: Mapping[str, JobHandler], interval: float = 0.5
) -> None:
    """Claim and run queued operations of the given kinds until `stop` is set."""
    kinds = sorted(jobs)
    while not stop.is_set():
        ran = False
        if kinds:
            try:
                ran = await _run_one(ctx, jobs, kinds)
            except Exception:
                log.exception("operation runner failed; retrying")
        if not ran:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval)


async def _run_one(ctx: AppContext, jobs: Mapping[str, JobHandler], kinds: list[str]) -> bool:
    sessionmaker = ctx.sessionmaker
    async with sessionmaker() as session, session.begin():
        op = await ops.claim_next(session=session, kinds=kinds)
    if op is None:
        return False
    log.info("operation %s (%s) started", op.id, op.kind)
    handler = jobs[op.kind]
    try:
        result = await handler(op, ops.Progress(sessionmaker, op.id, op.kind), ctx)
        error = None
    except asyncio.CancelledError:
        # Graceful shutdown: hand the job back (pending, no lease) so the next process resumes it at once;
        # jobs are idempotent. After a hard crash the lease simply expires instead.
        await asyncio.shield(_park(ctx, op.id))
        log.info("operation %s parked at shutdown", op.id)
        raise
    except GisFaultError as exc:
        # An expected GIS refusal (AUT011000 unknown organisation, FMT001300, ...): one line with the code,
        # no traceback; the operation and the audit journal carry it.
        log.warning("operation %s (%s) refused by GIS: %s", op.id, op.kind, exc.code or "fault")
        result, error = None, f"{type(exc).__name__}: {exc}"
    except Exception as exc:
        log.exception("operation %s failed", op.id)
        result, error = None, f"{type(exc).__name__}: {exc}"
    async with sessionmaker() as session, session.begin():
        await ops.finish(op.id, session=session, result=result, error=error)
        if error is not None:
            await audit.record(
                session=session,
                principal=SYSTEM,
                action=f"operation.{op.kind}",
                resource_type="operation",
                resource_id=op.id,
                organisation_id=op.organisation_id,
                outcome="error",
                details={"error": error[:500]},
            )
    log.info("operation %s (%s) finished: %s", op.id, op.kind, "failed" if error else "succeeded")
    return True


async def _park(ctx: AppContext, operation_id: Any) -> None:
    try:
        async with ctx.sessionmaker() as session, session.begin():
            await ops.park(operation_id, session=session)
    except Exception:
        log.exception("could not park operation %s; its lease will expire", operation_id)


@contextlib.asynccontextmanager
async def running_workers(
    ctx: AppContext,
    *,
    jobs: Mapping[str, JobHandler],
    loops: Mapping[str, Loop],
    interval: float = 0.5,
) -> AsyncIterator[asyncio.Event]:
    """Start the operation runner and the loops; on exit, stop them and wait (graceful shutdown)."""
    stop = asyncio.Event()
    tasks = [asyncio.create_task(run_operations(ctx, stop, jobs=jobs, interval=interval), name="operations")]
    tasks += [asyncio.create_task(factory(ctx, stop), name=name) for name, factory in loops.items()]
    try:
        yield stop
    finally:
        stop.set()
        done, pending = await asyncio.wait(tasks, timeout=10)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        for task in done:
            if not task.cancelled() and task.exception() is not None:
                log.error("worker %s ended with %r", task.get_name(), task.exception())
