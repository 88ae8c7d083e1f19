"""The exchange journal: every envelope sent to and received from GIS, for support and disputes.

The XML holds personal data (SNILS, names in answers): it is stored here, never logged, and the API shows it
only to keys with both `admin` and `pii` (metadata alone needs `admin`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.base import utcnow
from app.db.models.exchange import JournalEntry

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
