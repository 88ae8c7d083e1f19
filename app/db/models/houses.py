"""GIS house and premises data: monthly snapshots of houses, premises and accounts, the change feed, webhooks.

A snapshot row is keyed by (organisation, month, GIS object): the latest sync within a month overwrites that
month's rows, and the change feed compares a month with the latest earlier month (`app.domain.houses`).
Payers are kept only as a keyed hash, never in clear.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, UtcDateTime

AREA = Numeric(14, 4)  # premises-base:PremisesAreaType allows four decimals


class GisHouse(Base):
    """A house as GIS showed it in a month (exportHouseData), matched to billing's house by FIAS GUID."""

    __tablename__ = "gis_houses"
    __table_args__ = (UniqueConstraint("organisation_id", "month", "fias_house_guid"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    #: First day of the snapshot's month.
    month: Mapped[date] = mapped_column(Date)
    fias_house_guid: Mapped[uuid.UUID]
    house_guid: Mapped[uuid.UUID | None]
    unique_number: Mapped[str | None] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(30))
    cadastral_number: Mapped[str | None] = mapped_column(String(255))
    total_area: Mapped[Decimal | None] = mapped_column(AREA)
    residential_area: Mapped[Decimal | None] = mapped_column(AREA)
    non_residential_area: Mapped[Decimal | None] = mapped_column(AREA)
    used_year: Mapped[int | None] = mapped_column(Integer)
    floor_count: Mapped[str | None] = mapped_column(String(20))
    underground_floor_count: Mapped[str | None] = mapped_column(String(20))
    entrances: Mapped[int] = mapped_column(Integer, default=0)
    premises_count: Mapped[int] = mapped_column(Integer, default=0)
    accounts_count: Mapped[int] = mapped_column(Integer, default=0)
    gis_modified_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    seen_at: Mapped[datetime] = mapped_column(UtcDateTime)
    #: The sync operation that wrote the row: a resumed operation skips the houses it has done.
    operation_id: Mapped[uuid.UUID | None]
    billing_house_id: Mapped[uuid.UUID | None]
    # SHA-256 of the snapshot's premises and account rows (app.domain.houses.snapshot.snapshot_hash): a house
    # whose digest equals the previous month's has no changes, and its rows need not be read back to tell.
    content_hash: Mapped[str | None] = mapped_column(String(64))


class GisPremises(Base):
    """A premises as GIS showed it in a month, with the area placed with its accounts and billing's match."""

    __tablename__ = "gis_premises"
    __table_args__ = (
        UniqueConstraint("organisation_id", "month", "premises_guid"),
        Index("ix_gis_premises_house", "organisation_id", "month", "fias_house_guid"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    month: Mapped[date] = mapped_column(Date)
    fias_house_guid: Mapped[uuid.UUID]
    premises_guid: Mapped[uuid.UUID]
    unique_number: Mapped[str | None] = mapped_column(String(60))
    number_raw: Mapped[str | None] = mapped_column(String(255))
    #: `app.domain.accounts.premises.normalize_premises(number_raw)`: the key matched with billing's premises.
    number_norm: Mapped[str | None] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))
    cadastral_number: Mapped[str | None] = mapped_column(String(255))
    total_area: Mapped[Decimal | None] = mapped_column(AREA)
    gross_area: Mapped[Decimal | None] = mapped_column(AREA)
    entrance: Mapped[str | None] = mapped_column(String(255))
    floor: Mapped[str | None] = mapped_column(String(40))
    #: Sum of TotalSquare of the open GIS accounts on the premises: the area the supplier placed in GIS.
    account_area: Mapped[Decimal | None] = mapped_column(AREA)
    seen_at: Mapped[datetime] = mapped_column(UtcDateTime)
    billing_premises_id: Mapped[uuid.UUID | None]


class GisHouseAccount(Base):
    """A GIS account of a house in a month (exportAccountData by FIAS house); the payer only as a hash."""

    __tablename__ = "gis_house_accounts"
    __table_args__ = (
        UniqueConstraint("organisation_id", "month", "account_guid"),
        Index("ix_gis_house_accounts_house", "organisation_id", "month", "fias_house_guid"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    month: Mapped[date] = mapped_column(Date)
    fias_house_guid: Mapped[uuid.UUID]
    account_guid: Mapped[uuid.UUID]
    els: Mapped[str] = mapped_column(String(10))
    zhku_id: Mapped[str | None] = mapped_column(String(13))
    account_number: Mapped[str | None] = mapped_column(String(30))
    premises_guid: Mapped[uuid.UUID | None]
    closed: Mapped[bool] = mapped_column(Boolean, default=False)
    total_area: Mapped[Decimal | None] = mapped_column(AREA)
    #: HMAC-SHA256 (keyed by the organisation) of the payer's normalised name, birth date, SNILS, document.
    payer_hash: Mapped[str] = mapped_column(String(64))
    seen_at: Mapped[datetime] = mapped_column(UtcDateTime)
    billing_account_id: Mapped[uuid.UUID | None]


class HouseChange(Base):
    """One change between two months' snapshots; its id is the webhook event id (stable across re-syncs)."""

    __tablename__ = "house_changes"
    __table_args__ = (Index("ix_house_changes_org_month", "organisation_id", "month", "fias_house_guid"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    month: Mapped[date] = mapped_column(Date)
    previous_month: Mapped[date] = mapped_column(Date)
    fias_house_guid: Mapped[uuid.UUID]
    kind: Mapped[str] = mapped_column(String(30))
    object_guid: Mapped[uuid.UUID]
    premises_number: Mapped[str | None] = mapped_column(String(255))
    els: Mapped[str | None] = mapped_column(String(10))
    account_number: Mapped[str | None] = mapped_column(String(30))
    old_value: Mapped[str | None] = mapped_column(String(255))
    new_value: Mapped[str | None] = mapped_column(String(255))
    detected_at: Mapped[datetime] = mapped_column(UtcDateTime)


class WebhookDelivery(Base):
    """One change event to one subscriber URL: attempts, back-off and the last answer (the delivery log)."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("event_id", "url"),
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    event_id: Mapped[uuid.UUID] = mapped_column(index=True)
    url: Mapped[str] = mapped_column(String(2000))
    #: pending → delivered | failed (attempts exhausted).
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class WebhookSubscription(Base):
    """A change-feed subscriber an organisation registered through the API (beside `GISGW_HOUSES_WEBHOOKS`).

    The secret is kept because every delivery is signed with it; the API never shows it again.
    """

    __tablename__ = "house_webhook_subscriptions"
    __table_args__ = (UniqueConstraint("organisation_id", "url"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(String(2000))
    secret: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
