"""The exchange journal: every envelope sent to and received from GIS, for support and disputes.

The XML holds personal data (SNILS, names in answers): it is stored here, never logged, and the API shows it
only to keys with both `admin` and `pii` (metadata alone needs `admin`). This is the write side (the engine's
hooks and the retention cleanup); reading with access checks is the domain's (`app.domain.exchanges`).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, delete, insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.base import utcnow
from app.db.models.exchange import JournalEntry

OUT, IN = "out", "in"

_JOURNAL: Table = JournalEntry.__table__  # type: ignore[assignment]


def clip(data: bytes, max_bytes: int) -> tuple[str, bool]:
    """Decode envelope bytes for storage, cut to `max_bytes`; return (text, truncated)."""
    truncated = len(data) > max_bytes
    # errors="replace": a cut may split a UTF-8 sequence; the journal is for reading, not for resending.
    return data[:max_bytes].decode("utf-8", errors="replace"), truncated


def entry_values(
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
    at: datetime | None = None,
) -> dict[str, Any]:
    """Return the column values of one journal entry (for `write_entries`)."""
    text, truncated = clip(data, max_bytes) if data is not None else (None, False)
    return {
        "exchange_id": exchange_id,
        "direction": direction,
        "operation": operation,
        "organisation_id": organisation_id,
        "message_guid": message_guid,
        "http_status": http_status,
        "duration_ms": duration_ms,
        "size_bytes": len(data) if data is not None else 0,
        "xml": text,
        "truncated": truncated,
        "error": error[:200] if error else None,
        "at": at or utcnow(),
    }


async def write_entries(session: AsyncSession, entries: list[dict[str, Any]]) -> None:
    """Insert journal entries (from `entry_values`) in order: one Core statement, the caller's transaction."""
    if entries:
        await session.execute(insert(_JOURNAL), entries)


def add_entry(session: AsyncSession, *, max_bytes: int, **values: Any) -> JournalEntry:
    """Add one journal entry to the session as an ORM object (committed with the caller's transaction)."""
    entry = JournalEntry(**entry_values(max_bytes=max_bytes, **values))
    session.add(entry)
    return entry


async def cleanup(session: AsyncSession, *, retention_days: int, now: datetime | None = None) -> int:
    """Delete journal entries older than the retention period; return how many went."""
    cutoff = (now or utcnow()) - timedelta(days=retention_days)
    result = await session.execute(delete(JournalEntry).where(JournalEntry.at < cutoff))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
