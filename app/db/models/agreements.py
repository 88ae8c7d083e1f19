"""Repayment agreements (соглашения о погашении задолженности) and their instalment schedules."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from sqlalchemy import Date, ForeignKey, Index, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, TimestampMixin

MONEY = Numeric(14, 2)

# Agreement statuses: active (being repaid) → completed (every instalment paid) or breached (an instalment
# unpaid N days after its date); cancelled by the organisation before completion.
ACTIVE, BREACHED, COMPLETED, CANCELLED = "active", "breached", "completed", "cancelled"
AGREEMENT_STATUSES = (ACTIVE, BREACHED, COMPLETED, CANCELLED)
# What happens to the penalties of the covered months: part of the schedule, frozen (not charged while the
# agreement is kept), or forgiven on completion (ГК РФ ст. 415, прощение долга).
PENALTY_MODES = ("included", "frozen", "forgiven")


class Agreement(TimestampMixin, Base):
    """One repayment agreement of one account: the debt it covers and how payments have met its schedule."""

    __tablename__ = "agreements"
    __table_args__ = (Index("ix_agreements_organisation_id_status", "organisation_id", "status"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    number: Mapped[str | None] = mapped_column(String(50))
    status: Mapped[str] = mapped_column(String(20), default=ACTIVE)
    signed_on: Mapped[date] = mapped_column(Date)
    #: The last billing month covered; the agreement covers the debt of this month and every earlier one.
    covered_through: Mapped[date] = mapped_column(Date)
    principal: Mapped[Decimal] = mapped_column(MONEY)
    penalties: Mapped[Decimal] = mapped_column(MONEY)
    penalty_mode: Mapped[str] = mapped_column(String(20))
    #: What the schedule repays: the principal, plus the penalties when they are included.
    total: Mapped[Decimal] = mapped_column(MONEY)
    #: Paid on the covered months when signed; later payments on them repay the agreement.
    baseline_paid: Mapped[Decimal] = mapped_column(MONEY)
    paid: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0"))
    breached_on: Mapped[date | None] = mapped_column(Date)
    completed_on: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)


class AgreementInstalment(Base):
    """One scheduled payment of an agreement and what of it has been paid."""

    __tablename__ = "agreement_instalments"
    __table_args__ = (UniqueConstraint("agreement_id", "number"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    agreement_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agreements.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    due_on: Mapped[date] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(MONEY)
    paid: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0"))
    #: The day the matching found the instalment paid in full (the ledger carries no payment dates).
    paid_on: Mapped[date | None] = mapped_column(Date)
