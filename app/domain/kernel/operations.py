"""Long-running operations (fetch, import, send, package export): a row clients poll, run by a worker."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.base import utcnow
from app.db.models.core import Operation, Organisation
from app.domain.kernel import errors as d
from app.domain.kernel.access import Principal

log = logging.getLogger(__name__)

PENDING, RUNNING, SUCCEEDED, FAILED = "pending", "running", "succeeded", "failed"


class Progress:
    """Progress reporter handed to a job: `await progress(done, total)` persists it in its own transaction."""

    #: Seconds between progress lines in the log (the row is updated on every call).
    LOG_EVERY = 5.0

    def __init__(
        self, sessionmaker: async_sessionmaker[AsyncSession], operation_id: uuid.UUID, kind: str = "job"
    ) -> None:
        self._sessionmaker = sessionmaker
        self.operation_id = operation_id
        self.kind = kind
        self._logged_at = 0.0

    async def __call__(self, done: int, total: int | None = None) -> None:
        now = time.monotonic()
        if now - self._logged_at >= self.LOG_EVERY or (total is not None and done >= total):
            self._logged_at = now
            log.info("operation %s (%s): %d of %s done", self.operation_id, self.kind, done, total or "?")
        values: dict[str, Any] = {"progress_done": done, "lease_until": utcnow() + LEASE}
        if total is not None:
            values["progress_total"] = total
        async with self._sessionmaker() as session, session.begin():
            await session.execute(update(Operation).where(Operation.id == self.operation_id).values(**values))


# A handler gets the claimed row, a progress reporter and the app context (app.context.AppContext), and
# returns the operation's JSON result. It must be idempotent: after a crash it runs again from the start.
# Areas declare theirs in their `AREA` (app.domain.kernel.area); app.main hands them to the workers.
JobHandler = Callable[[Operation, Progress, Any], Awaitable[dict[str, Any]]]

LEASE = timedelta(minutes=2)


async def create(
    *,
    session: AsyncSession,
    principal: Principal,
    kind: str,
    organisation_id: uuid.UUID | None,
    params: dict[str, Any] | None = None,
    total: int | None = None,
) -> Operation:
    """Queue an operation; a worker picks it up (also after a restart)."""
    if organisation_id is not None and await session.get(Organisation, organisation_id) is None:
        # Keys bound to every organisation pass the access check for ids that do not exist; say so plainly.
        raise d.NotFoundError(f"Organisation {organisation_id} not found.", rule="organisation_exists")
    op = Operation(
        kind=kind,
        organisation_id=organisation_id,
        status=PENDING,
        params=params or {},
        progress_total=total,
        key_id=principal.key_id,
    )
    session.add(op)
    await session.flush()
    return op


async def get_or_raise(*, session: AsyncSession, principal: Principal, operation_id: uuid.UUID) -> Operation:
    """Load an operation the caller may see."""
    op = await session.get(Operation, operation_id)
    if op is None or (op.organisation_id is not None and not principal.may_access(op.organisation_id)):
        raise d.NotFoundError(f"Operation {operation_id} not found.")
    return op


async def claim_next(*, session: AsyncSession, kinds: list[str]) -> Operation | None:
    """Claim one pending (or abandoned) operation; safe with several gateway processes."""
    now = utcnow()
    stmt = (
        select(Operation)
        .where(Operation.kind.in_(kinds))
        .where(
            or_(
                Operation.status == PENDING,
                (Operation.status == RUNNING) & (Operation.lease_until < now),
            )
        )
        .order_by(Operation.created_at)
        .limit(1)
    )
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    op = await session.scalar(stmt)
    if op is None:
        return None
    # Conditional update: on SQLite (no row locks) two workers may read the same row; only one wins here.
    claimed = await session.execute(
        update(Operation)
        .where(Operation.id == op.id, Operation.status == op.status, Operation.updated_at == op.updated_at)
        .values(status=RUNNING, lease_until=now + LEASE, started_at=op.started_at or now, updated_at=now)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        return None
    await session.refresh(op)
    return op


async def finish(
    operation_id: uuid.UUID, *, session: AsyncSession, result: dict[str, Any] | None, error: str | None
) -> None:
    """Mark an operation succeeded (with its result) or failed (with a reason)."""
    await session.execute(
        update(Operation)
        .where(Operation.id == operation_id)
        .values(
            status=FAILED if error else SUCCEEDED,
            result=result,
            error=error,
            finished_at=utcnow(),
            lease_until=None,
        )
    )


async def park(operation_id: uuid.UUID, *, session: AsyncSession) -> None:
    """Give a running operation back to the queue (graceful shutdown): pending again, without a lease."""
    await session.execute(
        update(Operation)
        .where(Operation.id == operation_id, Operation.status == RUNNING)
        .values(status=PENDING, lease_until=None)
    )
