"""Debt monitoring: monthly snapshots per organisation, stored so history survives a ledger re-import.

A snapshot is one organisation's month; its rows break it down by house and consumer category. A snapshot is
recomputed only on an explicit request (its `version` counts the computations, each one journaled).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, TimestampMixin, UtcDateTime, utcnow

AMOUNT = Numeric(16, 2)


class MonitoringSnapshot(TimestampMixin, Base):
    """One organisation's debt at the end of one month, with totals and the top debtors."""

    __tablename__ = "monitoring_snapshots"
    __table_args__ = (UniqueConstraint("organisation_id", "month"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    #: First day of the month.
    month: Mapped[date] = mapped_column(Date)
    #: 1 for the first computation, +1 for every explicit re-computation.
    version: Mapped[int] = mapped_column(Integer, default=1)
    operation_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("operations.id", ondelete="SET NULL"))
    #: The organisation-wide figures (same keys as a row's, as decimal strings) and the debtor minimum used.
    totals: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: The largest debts: account id, account number (not personal data), debt, months overdue.
    top_debtors: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    #: The effect of the month's measures, one dict per kind (app.domain.monitoring.effect); none on
    #: snapshots computed before it existed (a re-computation adds it).
    effect: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)


class MonitoringSnapshotRow(Base):
    """A snapshot's figures for one house and consumer category."""

    __tablename__ = "monitoring_snapshot_rows"

    snapshot_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("monitoring_snapshots.id", ondelete="CASCADE"), primary_key=True
    )
    # No foreign key: a snapshot is history and outlives a house removed from the registry.
    house_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    category: Mapped[str] = mapped_column(String(20), primary_key=True)
    accounts: Mapped[int] = mapped_column(Integer)
    debtors: Mapped[int] = mapped_column(Integer)
    charged: Mapped[Decimal] = mapped_column(AMOUNT)
    paid: Mapped[Decimal] = mapped_column(AMOUNT)
    debt: Mapped[Decimal] = mapped_column(AMOUNT)
    age_1: Mapped[Decimal] = mapped_column(AMOUNT)
    age_2_3: Mapped[Decimal] = mapped_column(AMOUNT)
    age_4_6: Mapped[Decimal] = mapped_column(AMOUNT)
    age_7_12: Mapped[Decimal] = mapped_column(AMOUNT)
    age_13_36: Mapped[Decimal] = mapped_column(AMOUNT)
    age_over_36: Mapped[Decimal] = mapped_column(AMOUNT)


class NoticeRun(TimestampMixin, Base):
    """One selection of debtors for pre-court notices, with the rules it applied (domain-rules §12)."""

    __tablename__ = "notice_runs"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    on_date: Mapped[date] = mapped_column(Date)
    #: The selection rules as given (validated), so a run can be explained later.
    rules: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: Payment details printed on the notices (payee, bank, account, purpose).
    payment_details: Mapped[dict[str, Any]] = mapped_column(JSON)
    total: Mapped[int] = mapped_column(Integer, default=0)
    #: Why accounts were left out: rule → count.
    excluded: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: pending (queued as an operation), running, done or failed; the operation that computes it.
    status: Mapped[str] = mapped_column(String(20), default="pending", server_default="done")
    operation_id: Mapped[uuid.UUID | None]
    #: The last account number processed: a restarted operation goes on after it (notices and cursor are
    #: committed together, so none is created twice).
    cursor: Mapped[str | None] = mapped_column(String(30))
    #: The SMS and e-mail texts with their placeholders (app.domain.monitoring.contact_lists).
    templates: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: Notices with and without a phone and an e-mail at the time of the run.
    contacts: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class Notice(TimestampMixin, Base):
    """A notice to one debtor and its delivery state (sent, delivered, returned, refused)."""

    __tablename__ = "notices"
    __table_args__ = (
        Index("ix_notices_run", "run_id"),
        Index("ix_notices_account", "organisation_id", "account_id"),
        # The GIS loop looks for drafted notices twice a second.
        Index("ix_notices_gis_status", "gis_status"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    run_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("notice_runs.id", ondelete="CASCADE"))
    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    # No foreign key: a notice is a legal record and outlives the account.
    account_id: Mapped[uuid.UUID]
    #: Sequence number inside the run (the register's line).
    seq: Mapped[int] = mapped_column(Integer)
    account_number: Mapped[str] = mapped_column(String(30))
    debt: Mapped[Decimal] = mapped_column(AMOUNT)
    penalties: Mapped[Decimal] = mapped_column(AMOUNT)
    months_overdue: Mapped[int] = mapped_column(Integer)
    #: The unpaid months: [{"period", "amount", "months_overdue", "penalty"}].
    months: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    #: created, sent, delivered, returned, refused.
    status: Mapped[str] = mapped_column(String(20), default="created")
    sent_on: Mapped[date | None] = mapped_column(Date)
    delivered_on: Mapped[date | None] = mapped_column(Date)
    returned_on: Mapped[date | None] = mapped_column(Date)
    refused_on: Mapped[date | None] = mapped_column(Date)
    channel: Mapped[str | None] = mapped_column(String(20))
    #: Delivery through GIS ZhKKh (house-management news, DeptsInforming): None (not sent there), drafting,
    #: drafted, shipping, shipped, recalling, recalled or error; see app/domain/monitoring/gis_notices.py.
    gis_status: Mapped[str | None] = mapped_column(String(20))
    gis_notification_guid: Mapped[uuid.UUID | None]
    gis_error: Mapped[str | None] = mapped_column(String(2000))
    gis_shipped_on: Mapped[date | None] = mapped_column(Date)
    gis_recalled_on: Mapped[date | None] = mapped_column(Date)


class NoticeGisItem(Base):
    """One action of a notice in an importNotificationData message: its TransportGUID and GIS's result."""

    __tablename__ = "notice_gis_items"
    __table_args__ = (
        Index("ix_notice_gis_items_exchange", "exchange_id"),
        Index("ix_notice_gis_items_result", "result"),
    )

    #: The action's TransportGUID.
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    notice_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("notices.id", ondelete="CASCADE"), index=True)
    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    operation_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("operations.id", ondelete="SET NULL"))
    # No foreign key: the exchange journal is pruned on its own schedule; the results stay here.
    exchange_id: Mapped[uuid.UUID | None]
    #: create (the draft news), ship (IsShipOff) or recall (RecallNotification).
    phase: Mapped[str] = mapped_column(String(10))
    #: pending, ok, error, or uncertain (the message may have reached GIS before a crash: sent again).
    result: Mapped[str] = mapped_column(String(10), default="pending")
    #: A shipped notice also counts as delivered on the placement date (the setting when it was queued).
    delivered_on_placement: Mapped[bool] = mapped_column(Boolean, default=True)
    notification_guid: Mapped[uuid.UUID | None]
    error_code: Mapped[str | None] = mapped_column(String(40))
    error_text: Mapped[str | None] = mapped_column(String(2000))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class NoticeEvent(Base):
    """One entry of the delivery journal: what happened to a notice, when, by which channel, from where."""

    __tablename__ = "notice_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    notice_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("notices.id", ondelete="CASCADE"), index=True)
    event: Mapped[str] = mapped_column(String(20))
    on_date: Mapped[date] = mapped_column(Date)
    channel: Mapped[str | None] = mapped_column(String(20))
    #: api, csv or email.
    source: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class RestrictionCase(TimestampMixin, Base):
    """One debtor's timeline towards restriction and suspension of one utility (ПП 354 п. 117–120)."""

    __tablename__ = "restriction_cases"
    __table_args__ = (Index("ix_restriction_cases_account", "organisation_id", "account_id", "utility"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    # No foreign key: the timeline is a legal record and outlives the account.
    account_id: Mapped[uuid.UUID]
    account_number: Mapped[str] = mapped_column(String(30))
    utility: Mapped[str] = mapped_column(String(20))
    apartment_building: Mapped[bool] = mapped_column(Boolean, default=True)
    #: Debt and monthly charge when the case was opened, and how the charge was computed.
    debt: Mapped[Decimal] = mapped_column(AMOUNT)
    monthly_charge: Mapped[Decimal] = mapped_column(AMOUNT)
    charge_method: Mapped[str] = mapped_column(String(30))
    #: candidate, warned, restricted, suspension_noticed, suspended, resumed, stopped.
    status: Mapped[str] = mapped_column(String(20), default="candidate")
    warning_notice_id: Mapped[uuid.UUID | None]
    warning_delivered_on: Mapped[date | None] = mapped_column(Date)
    restriction_allowed_from: Mapped[date | None] = mapped_column(Date)
    restricted_on: Mapped[date | None] = mapped_column(Date)
    restriction_impossible: Mapped[bool] = mapped_column(Boolean, default=False)
    suspension_allowed_from: Mapped[date | None] = mapped_column(Date)
    suspension_notice_delivered_on: Mapped[date | None] = mapped_column(Date)
    suspended_on: Mapped[date | None] = mapped_column(Date)
    debt_paid_on: Mapped[date | None] = mapped_column(Date)
    resume_by: Mapped[date | None] = mapped_column(Date)
    resumed_on: Mapped[date | None] = mapped_column(Date)
    stopped_reason: Mapped[str | None] = mapped_column(String(30))


class RestrictionEvent(Base):
    """One recorded fact of a restriction timeline."""

    __tablename__ = "restriction_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("restriction_cases.id", ondelete="CASCADE"), index=True
    )
    event: Mapped[str] = mapped_column(String(40))
    on_date: Mapped[date] = mapped_column(Date)
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
