"""Long-running operations (fetch, import, send, package export): a row clients poll, run by a worker."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

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


@dataclass
class QueueLimits:
    """Caps on pending operations (GISGW_OPERATIONS_MAX_PENDING_PER_*); 0 switches a cap off."""

    per_key: int = 100
    per_organisation: int = 200
    #: Seconds a refused caller is asked to wait (one typical operation).
    retry_after: int = 30


#: The process's caps; the app factory sets them from the settings.
LIMITS = QueueLimits()


async def _pending(session: AsyncSession, *where: Any) -> int:
    return int(
        await session.scalar(
            select(func.count()).select_from(Operation).where(Operation.status == PENDING, *where)
        )
        or 0
    )


async def _check_caps(session: AsyncSession, principal: Principal, organisation_id: uuid.UUID | None) -> None:
    # One key queued thousands of operations and starved every organisation (issue #19): past a cap the
    # caller waits, it does not grow the queue.
    limits = LIMITS
    if limits.per_key and principal.key_id is not None:
        if await _pending(session, Operation.key_id == principal.key_id) >= limits.per_key:
            raise d.TooManyRequests(
                f"This API key has {limits.per_key} operations waiting; retry when some have run.",
                rule="pending_operations_per_key",
                retry_after=limits.retry_after,
            )
    if limits.per_organisation and organisation_id is not None:
        if await _pending(session, Operation.organisation_id == organisation_id) >= limits.per_organisation:
            raise d.TooManyRequests(
                f"The organisation has {limits.per_organisation} operations waiting; retry later.",
                rule="pending_operations_per_organisation",
                retry_after=limits.retry_after,
            )


async def create(
    *,
    session: AsyncSession,
    principal: Principal,
    kind: str,
    organisation_id: uuid.UUID | None,
    params: dict[str, Any] | None = None,
    total: int | None = None,
    priority: int = 0,
) -> Operation:
    """Queue an operation; a worker picks it up (also after a restart).

    The same operation (kind, organisation and parameters) submitted again while one is still pending
    returns the pending one: a client retrying a request does not queue the work twice.
    """
    if organisation_id is not None and await session.get(Organisation, organisation_id) is None:
        # Keys bound to every organisation pass the access check for ids that do not exist; say so plainly.
        raise d.NotFoundError(f"Organisation {organisation_id} not found.", rule="organisation_exists")
    params = params or {}
    same = await session.scalars(
        select(Operation)
        .where(
            Operation.status == PENDING,
            Operation.kind == kind,
            Operation.organisation_id == organisation_id
            if organisation_id is not None
            else Operation.organisation_id.is_(None),
        )
        .order_by(Operation.created_at)
        .limit(LIMITS.per_organisation or 1000)
    )
    for pending in same:
        if (pending.params or {}) == params:
            if priority > pending.priority:
                pending.priority = priority
            return pending
    await _check_caps(session, principal, organisation_id)
    op = Operation(
        kind=kind,
        organisation_id=organisation_id,
        status=PENDING,
        params=params,
        progress_total=total,
        key_id=principal.key_id,
        priority=priority,
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
    """Claim one pending (or abandoned) operation; safe with several gateway processes.

    Fair between organisations: higher priority first (deadline work), then the organisation whose last
    operation started longest ago (round robin: one organisation's thousand queued jobs take turns with
    everyone else's single one), then first come first served within it.
    """
    now = utcnow()
    earlier = aliased(Operation)
    last_started = (
        select(func.max(earlier.started_at))
        .where(earlier.organisation_id == Operation.organisation_id)
        .correlate(Operation)
        .scalar_subquery()
    )
    stmt = (
        select(Operation)
        .where(Operation.kind.in_(kinds))
        .where(
            or_(
                Operation.status == PENDING,
                (Operation.status == RUNNING) & (Operation.lease_until < now),
            )
        )
        .order_by(Operation.priority.desc(), last_started.asc().nulls_first(), Operation.created_at)
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
