"""Write-off of uncollectable receivables: recorded impossibilities of collection, acts and their lines."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, ForeignKey, Index, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, TimestampMixin, UtcDateTime

MONEY = Numeric(14, 2)

# Act statuses: draft (reversible: cancel) → approved → posted (the months are written off).
ACT_DRAFT, ACT_APPROVED, ACT_POSTED, ACT_CANCELLED = "draft", "approved", "posted", "cancelled"
# Grounds (НК РФ ст. 266 п. 2; 229-ФЗ ст. 46 ч. 1 п. 3–4): limitation expired, enforcement ended because
# collection is impossible, completed bankruptcy of a citizen.
LIMITATION, ENFORCEMENT_CLOSED, BANKRUPTCY_COMPLETED = (
    "limitation",
    "enforcement_closed",
    "bankruptcy_completed",
)
IMPOSSIBILITY_GROUNDS = (ENFORCEMENT_CLOSED, BANKRUPTCY_COMPLETED)
# Penalties forgiven by an amnesty campaign (ГК РФ ст. 415): only penalties, the month's principal was paid.
AMNESTY = "amnesty"


class CollectionImpossibility(TimestampMixin, Base):
    """A recorded impossibility of collecting an account's debt: the bailiff's act or the bankruptcy's end."""

    __tablename__ = "collection_impossibilities"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    ground: Mapped[str] = mapped_column(String(30))
    #: The bailiff's act or the bankruptcy's completion; months due before it are uncollectable.
    act_date: Mapped[date] = mapped_column(Date)
    document: Mapped[str | None] = mapped_column(String(255))


class WriteOffAct(TimestampMixin, Base):
    """An act writing off uncollectable receivables, with who did each step and why."""

    __tablename__ = "write_off_acts"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(20), default=ACT_DRAFT)
    on_date: Mapped[date] = mapped_column(Date)
    reason: Mapped[str | None] = mapped_column(Text)
    principal: Mapped[Decimal] = mapped_column(MONEY)
    penalties: Mapped[Decimal] = mapped_column(MONEY)
    duty: Mapped[Decimal] = mapped_column(MONEY)
    created_by: Mapped[str] = mapped_column(String(200))
    approved_by: Mapped[str | None] = mapped_column(String(200))
    approved_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    posted_by: Mapped[str | None] = mapped_column(String(200))
    posted_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    cancelled_by: Mapped[str | None] = mapped_column(String(200))


class WriteOffLine(Base):
    """One written-off billing month of one account, split into principal, penalties and state duty."""

    __tablename__ = "write_off_lines"
    __table_args__ = (Index("ix_write_off_lines_account_id_period", "account_id", "period"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    act_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("write_off_acts.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[uuid.UUID] = mapped_column()
    period: Mapped[date] = mapped_column(Date)
    due_date: Mapped[date] = mapped_column(Date)
    ground: Mapped[str] = mapped_column(String(30))
    principal: Mapped[Decimal] = mapped_column(MONEY)
    penalties: Mapped[Decimal] = mapped_column(MONEY)
    duty: Mapped[Decimal] = mapped_column(MONEY)
