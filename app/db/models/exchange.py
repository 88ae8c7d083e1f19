"""GIS exchanges (one logical request → Ack → getState → result) and the journal of every envelope."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, TimestampMixin, UtcDateTime, utcnow

# Exchange statuses. `sending` is committed BEFORE the POST, so a crash mid-POST is visible afterwards;
# `uncertain` is an import whose POST may have reached GIS but whose Ack was never stored (see exchange.py).
PENDING, SENDING, ACKED = "pending", "sending", "acked"
DONE, FAILED, UNCERTAIN = "done", "failed", "uncertain"
OPEN_STATUSES = (PENDING, SENDING, ACKED)
FINAL_STATUSES = (DONE, FAILED, UNCERTAIN)


class Exchange(TimestampMixin, Base):
    """One logical GIS request driven through send → Ack → getState polls → result, durably."""

    __tablename__ = "gis_exchanges"
    __table_args__ = (
        Index("ix_gis_exchanges_status_next_at", "status", "next_at"),
        Index("ix_gis_exchanges_ref", "ref_kind", "ref_id"),
        Index("ix_gis_exchanges_org_created", "organisation_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    service: Mapped[str] = mapped_column(String(40))
    operation: Mapped[str] = mapped_column(String(60))
    status: Mapped[str] = mapped_column(String(20), default=PENDING)
    #: The logical request input (JSON), so every attempt can REBUILD the message (new GUID, date, signature).
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    ref_kind: Mapped[str | None] = mapped_column(String(40))
    ref_id: Mapped[str | None] = mapped_column(String(200))
    idempotency_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    requester_message_guid: Mapped[uuid.UUID | None]
    gis_message_guid: Mapped[uuid.UUID | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    #: Consecutive transient failures of the current step (drives the back-off; reset on progress).
    failures: Mapped[int] = mapped_column(Integer, default=0)
    poll_count: Mapped[int] = mapped_column(Integer, default=0)
    next_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    locked_by: Mapped[str | None] = mapped_column(String(100))
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error_code: Mapped[str | None] = mapped_column(String(40))
    error_message: Mapped[str | None] = mapped_column(Text)
    first_sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    acked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class JournalEntry(Base):
    """One envelope sent to or received from GIS. Holds personal data: API access needs `admin` + `pii`."""

    __tablename__ = "gis_journal"
    __table_args__ = (Index("ix_gis_journal_exchange_id", "exchange_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    exchange_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("gis_exchanges.id", ondelete="CASCADE"))
    direction: Mapped[str] = mapped_column(String(3))
    operation: Mapped[str] = mapped_column(String(60))
    organisation_id: Mapped[uuid.UUID | None]
    message_guid: Mapped[str | None] = mapped_column(String(40))
    http_status: Mapped[int | None]
    duration_ms: Mapped[int | None]
    size_bytes: Mapped[int] = mapped_column(Integer, default=0)
    xml: Mapped[str | None] = mapped_column(Text)
    truncated: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Error class for a failed call (transport, timeout, fault code); never the body.
    error: Mapped[str | None] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
