"""Reading the GIS exchange journal: exchanges and their envelopes, with organisation access checked."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models.exchange import Exchange, JournalEntry
from app.domain.kernel.access import Principal
from app.domain.kernel.errors import NotFoundError


async def entries_of(session: AsyncSession, exchange_id: uuid.UUID) -> Sequence[JournalEntry]:
    """Return the journal entries of one exchange in order."""
    rows = await session.scalars(
        select(JournalEntry).where(JournalEntry.exchange_id == exchange_id).order_by(JournalEntry.id)
    )
    return rows.all()


async def get_entry(session: AsyncSession, exchange_id: uuid.UUID, entry_id: int) -> JournalEntry | None:
    """Return one journal entry of an exchange, or None."""
    entry = await session.get(JournalEntry, entry_id)
    if entry is None or entry.exchange_id != exchange_id:
        return None
    return entry


async def list_exchanges(
    session: AsyncSession,
    *,
    organisation_ids: Sequence[uuid.UUID] | None,
    operation: str | None = None,
    status: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    after: tuple[datetime, uuid.UUID] | None = None,
    limit: int = 50,
) -> Sequence[Exchange]:
    """Return exchanges newest first, keyset-paginated on (created_at, id) after the given position."""
    stmt = select(Exchange).order_by(Exchange.created_at.desc(), Exchange.id.desc()).limit(limit)
    if organisation_ids is not None:
        stmt = stmt.where(Exchange.organisation_id.in_(organisation_ids))
    if operation is not None:
        stmt = stmt.where(Exchange.operation == operation)
    if status is not None:
        stmt = stmt.where(Exchange.status == status)
    if since is not None:
        stmt = stmt.where(Exchange.created_at >= since)
    if until is not None:
        stmt = stmt.where(Exchange.created_at < until)
    if after is not None:
        at, last_id = after
        stmt = stmt.where(
            or_(Exchange.created_at < at, and_(Exchange.created_at == at, Exchange.id < last_id))
        )
    return (await session.scalars(stmt)).all()


async def get_exchange_or_raise(
    session: AsyncSession, exchange_id: uuid.UUID, *, principal: Principal
) -> Exchange:
    """Load an exchange the caller may see (404 for other organisations' exchanges)."""
    row = await session.get(Exchange, exchange_id)
    if row is None or not principal.may_access(row.organisation_id):
        raise NotFoundError(f"Exchange {exchange_id} not found.")
    return row
