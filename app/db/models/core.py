"""Organisations served by the gateway, API keys, the audit journal and long-running operations."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Double, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db.base import Base, TimestampMixin, UtcDateTime, utcnow


class Organisation(TimestampMixin, Base):
    """An organisation (УК, РСО, РЦ, regional operator) whose exchanges the gateway carries."""

    __tablename__ = "organisations"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(500))
    inn: Mapped[str] = mapped_column(String(12))
    ogrn: Mapped[str | None] = mapped_column(String(15))
    org_type: Mapped[str] = mapped_column(String(40))
    ppa_guid: Mapped[uuid.UUID] = mapped_column(unique=True)
    executor_guid: Mapped[uuid.UUID | None]
    region_code: Mapped[str | None] = mapped_column(String(2))
    address: Mapped[str | None] = mapped_column(String(1000))
    signing_key_ref: Mapped[str | None] = mapped_column(String(500))
    last_fetch_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_fetch_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_send_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    #: An unfinished fetch's plan and where each window stopped (app/domain/debt_requests/fetch.py).
    fetch_resume: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class ApiKey(TimestampMixin, Base):
    """An API key: the secret is shown once and only its SHA-256 is stored."""

    __tablename__ = "api_keys"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    scopes: Mapped[list[str]] = mapped_column(JSON)
    all_organisations: Mapped[bool] = mapped_column(Boolean, default=False)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    organisations: Mapped[list[ApiKeyOrganisation]] = relationship(
        cascade="all, delete-orphan", lazy="selectin"
    )


class ApiKeyOrganisation(Base):
    """Which organisations a key may act for."""

    __tablename__ = "api_key_organisations"

    key_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("api_keys.id", ondelete="CASCADE"), primary_key=True)
    organisation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True
    )


class AuditEvent(Base):
    """Who did what, when, and how it ended: every change and every GIS exchange."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_org_at", "organisation_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    key_id: Mapped[uuid.UUID | None]
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(100), index=True)
    resource_type: Mapped[str] = mapped_column(String(60))
    resource_id: Mapped[str | None] = mapped_column(String(200))
    organisation_id: Mapped[uuid.UUID | None]
    outcome: Mapped[str] = mapped_column(String(20))
    exchange_id: Mapped[uuid.UUID | None]
    request_id: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class Operation(TimestampMixin, Base):
    """A long-running job (fetch, import, send, package export) that clients poll."""

    __tablename__ = "operations"
    __table_args__ = (Index("ix_operations_status_kind", "status", "kind"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    kind: Mapped[str] = mapped_column(String(40))
    organisation_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE")
    )
    status: Mapped[str] = mapped_column(String(20), default="pending")
    progress_done: Mapped[int] = mapped_column(Integer, default=0)
    progress_total: Mapped[int | None] = mapped_column(Integer)
    params: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    key_id: Mapped[uuid.UUID | None]
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    #: Higher first (work for debt requests near their deadline); then round robin between organisations.
    priority: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class KeyWriteRate(Base):
    """The write-rate token bucket of one API key, shared by every gateway replica on the database."""

    __tablename__ = "key_write_rates"

    key_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("api_keys.id", ondelete="CASCADE"), primary_key=True)
    tokens: Mapped[float] = mapped_column(Double)
    #: Seconds since the Unix epoch, a number rather than a timestamp: the refill is then the same plain
    #: arithmetic inside one statement on PostgreSQL and SQLite (app/domain/kernel/write_rate.py).
    updated_at: Mapped[float] = mapped_column(Double)
