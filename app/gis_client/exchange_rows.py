"""Exchange rows outside the engine: queue one (idempotently), settle an uncertain one, count open ones."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.base import utcnow
from app.db.models.exchange import DONE, OPEN_STATUSES, PENDING, UNCERTAIN, Exchange
from app.gis_client.services import get_operation

try:  # the ops engineer's Prometheus module; the engine works without it
    from app import metrics as _metrics
except ImportError:  # pragma: no cover
    _metrics = None  # type: ignore[assignment]


async def submit(
    session: AsyncSession,
    *,
    organisation_id: uuid.UUID,
    operation: str,
    payload: Mapping[str, Any] | Any,
    ref_kind: str | None = None,
    ref_id: str | None = None,
    idempotency_key: str | None = None,
) -> Exchange:
    """Add a pending exchange (committed by the caller's transaction); same idempotency key → same row."""
    exchange, _added = await submit_leased(
        session, organisation_id=organisation_id, operation=operation, payload=payload,
        ref_kind=ref_kind, ref_id=ref_id, idempotency_key=idempotency_key,
    )  # fmt: skip
    return exchange


async def submit_leased(
    session: AsyncSession,
    *,
    organisation_id: uuid.UUID,
    operation: str,
    payload: Mapping[str, Any] | Any,
    ref_kind: str | None = None,
    ref_id: str | None = None,
    idempotency_key: str | None = None,
    lease: tuple[str, datetime] | None = None,
) -> tuple[Exchange, bool]:
    """`submit`, also saying whether the row was added now (True) or found by its idempotency key.

    `lease` (driver, until): a row added now is added already leased to that driver (a found row is returned
    as it is), so the driver that submits it can send it without claiming it first.
    """
    op = get_operation(operation)
    data = dict(payload) if isinstance(payload, Mapping) else op.encode(payload)
    if idempotency_key is not None:
        existing = await session.scalar(select(Exchange).where(Exchange.idempotency_key == idempotency_key))
        if existing is not None:
            return existing, False
    exchange = Exchange(
        organisation_id=organisation_id,
        service=op.service.value,
        operation=operation,
        status=PENDING,
        payload=data,
        ref_kind=ref_kind,
        ref_id=ref_id,
        idempotency_key=idempotency_key,
        attempts=0,
        failures=0,
        poll_count=0,
        next_at=utcnow(),
        locked_by=lease[0] if lease is not None else None,
        lease_until=lease[1] if lease is not None else None,
    )
    try:
        async with session.begin_nested():
            session.add(exchange)
    except IntegrityError:
        # A concurrent submit with the same key won the race: return its row.
        if idempotency_key is None:
            raise
        existing = await session.scalar(select(Exchange).where(Exchange.idempotency_key == idempotency_key))
        if existing is None:
            raise
        return existing, False
    return exchange, True


async def resolve_uncertain(session: AsyncSession, exchange_id: uuid.UUID, *, resend: bool) -> Exchange:
    """After reconciling an `uncertain` import: resend it (rebuilt) or close it as done."""
    exchange = await session.get(Exchange, exchange_id, with_for_update=True)
    if exchange is None or exchange.status != UNCERTAIN:
        raise ValueError(f"exchange {exchange_id} is not uncertain")
    if resend:
        exchange.status, exchange.next_at, exchange.finished_at = PENDING, utcnow(), None
        exchange.error_code = exchange.error_message = None
    else:
        exchange.status = DONE
    await session.flush()
    return exchange


async def collect_pending(session: AsyncSession) -> dict[str, int]:
    """Count open exchanges by status and publish them to the pending gauge."""
    rows = await session.execute(
        select(Exchange.status, func.count())
        .where(Exchange.status.in_((*OPEN_STATUSES, UNCERTAIN)))
        .group_by(Exchange.status)
    )
    counts = dict.fromkeys((*OPEN_STATUSES, UNCERTAIN), 0)
    counts.update({status: int(n) for status, n in rows.all()})
    if _metrics is not None and hasattr(_metrics, "GIS_PENDING"):
        for status, n in counts.items():
            _metrics.GIS_PENDING.labels(status).set(n)
    return counts
