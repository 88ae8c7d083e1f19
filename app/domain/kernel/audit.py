"""The audit journal: who (key), what (action, resource), when, and the outcome."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models.core import AuditEvent
from app.domain.kernel.access import Principal
from app.logs import request_id_var


async def record(
    *,
    session: AsyncSession,
    principal: Principal,
    action: str,
    resource_type: str,
    resource_id: str | uuid.UUID | None = None,
    organisation_id: uuid.UUID | None = None,
    outcome: str = "ok",
    exchange_id: uuid.UUID | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add an audit event to the session (committed with the caller's transaction); no personal data here."""
    event = AuditEvent(
        key_id=principal.key_id,
        actor=principal.actor,
        action=action,
        resource_type=resource_type,
        resource_id=str(resource_id) if resource_id is not None else None,
        organisation_id=organisation_id,
        outcome=outcome,
        exchange_id=exchange_id,
        request_id=request_id_var.get(),
        details=details,
    )
    session.add(event)
    return event


async def list_events(
    *,
    session: AsyncSession,
    organisation_ids: Sequence[uuid.UUID] | None,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    key_id: uuid.UUID | None = None,
    before_id: int | None = None,
    limit: int = 100,
) -> Sequence[AuditEvent]:
    """Return audit events, newest first, keyset-paginated by id."""
    stmt = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    if organisation_ids is not None:
        stmt = stmt.where(AuditEvent.organisation_id.in_(organisation_ids))
    if action:
        stmt = stmt.where(AuditEvent.action == action)
    if since:
        stmt = stmt.where(AuditEvent.at >= since)
    if until:
        stmt = stmt.where(AuditEvent.at < until)
    if key_id:
        stmt = stmt.where(AuditEvent.key_id == key_id)
    if before_id:
        stmt = stmt.where(AuditEvent.id < before_id)
    return (await session.scalars(stmt)).all()
