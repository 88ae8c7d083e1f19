"""The exchange journal: every envelope sent to and received from GIS, for support and disputes.

The XML holds personal data (SNILS, names in answers): it is stored here, never logged, and the API shows it
only to keys with both `admin` and `pii` (metadata alone needs `admin`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.base import utcnow
from app.db.models.exchange import Exchange, JournalEntry
from app.domain.kernel.access import Principal
from app.domain.kernel.errors import NotFoundError

OUT, IN = "out", "in"


def clip(data: bytes, max_bytes: int) -> tuple[str, bool]:
    """Decode envelope bytes for storage, cut to `max_bytes`; return (text, truncated)."""
    truncated = len(data) > max_bytes
    # errors="replace": a cut may split a UTF-8 sequence; the journal is for reading, not for resending.
    return data[:max_bytes].decode("utf-8", errors="replace"), truncated


def add_entry(
    session: AsyncSession,
    *,
    direction: str,
    operation: str,
    data: bytes | None,
    max_bytes: int,
    exchange_id: uuid.UUID | None = None,
    organisation_id: uuid.UUID | None = None,
    message_guid: str | None = None,
    http_status: int | None = None,
    duration_ms: int | None = None,
    error: str | None = None,
) -> JournalEntry:
    """Add one journal entry to the session (committed with the caller's transaction)."""
    text, truncated = clip(data, max_bytes) if data is not None else (None, False)
    entry = JournalEntry(
        exchange_id=exchange_id,
        direction=direction,
        operation=operation,
        organisation_id=organisation_id,
        message_guid=message_guid,
        http_status=http_status,
        duration_ms=duration_ms,
        size_bytes=len(data) if data is not None else 0,
        xml=text,
        truncated=truncated,
        error=error[:200] if error else None,
        at=utcnow(),
    )
    session.add(entry)
    return entry


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


async def cleanup(session: AsyncSession, *, retention_days: int, now: datetime | None = None) -> int:
    """Delete journal entries older than the retention period; return how many went."""
    cutoff = (now or utcnow()) - timedelta(days=retention_days)
    result = await session.execute(delete(JournalEntry).where(JournalEntry.at < cutoff))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


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
