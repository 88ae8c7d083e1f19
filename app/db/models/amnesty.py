"""Penalty amnesty campaigns and the debtors taking part in them."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, TimestampMixin

MONEY = Numeric(14, 2)

# Campaign statuses: draft (simulate, edit) → running (launched: participants fixed) → finished.
CAMPAIGN_DRAFT, CAMPAIGN_RUNNING, CAMPAIGN_FINISHED = "draft", "running", "finished"
# Participant statuses: waiting for the principal to be paid, forgiven, or lapsed (not paid by the date).
WAITING, FORGIVEN, LAPSED = "waiting", "forgiven", "lapsed"


class AmnestyCampaign(TimestampMixin, Base):
    """A campaign forgiving penalties to debtors who pay their principal in full by a date (ГК РФ ст. 415)."""

    __tablename__ = "amnesty_campaigns"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default=CAMPAIGN_DRAFT)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    #: The condition: every month due before the launch paid in full by this date.
    pay_by: Mapped[date] = mapped_column(Date)
    house_ids: Mapped[list[str] | None] = mapped_column(JSON)
    payer_kind: Mapped[str | None] = mapped_column(String(20))
    min_principal: Mapped[Decimal] = mapped_column(MONEY)
    launched_on: Mapped[date | None] = mapped_column(Date)
    finished_on: Mapped[date | None] = mapped_column(Date)


class AmnestyParticipant(Base):
    """A debtor selected at launch: the principal to pay and the penalties that paying it would forgive."""

    __tablename__ = "amnesty_participants"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    campaign_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("amnesty_campaigns.id", ondelete="CASCADE"), index=True
    )
    account_id: Mapped[uuid.UUID] = mapped_column()
    status: Mapped[str] = mapped_column(String(20), default=WAITING)
    principal: Mapped[Decimal] = mapped_column(MONEY)
    penalties: Mapped[Decimal] = mapped_column(MONEY)
    #: [[period, due date, penalty in kopecks], …] of the months the principal is owed for.
    months: Mapped[list[Any]] = mapped_column(JSON)
    forgiven_on: Mapped[date | None] = mapped_column(Date)
    act_id: Mapped[uuid.UUID | None] = mapped_column()
