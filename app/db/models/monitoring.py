"""Debt monitoring: monthly snapshots per organisation, stored so history survives a ledger re-import.

A snapshot is one organisation's month; its rows break it down by house and consumer category. A snapshot is
recomputed only on an explicit request (its `version` counts the computations, each one journaled).
"""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Integer, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, TimestampMixin

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
