"""The stand's own tables (its emulated GIS state): not the gateway's schema, created with `create_all`."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from app.db.base import UtcDateTime

# An integer key that is BIGINT on PostgreSQL and still the rowid alias (autoincrement) on SQLite.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class StandBase(DeclarativeBase):
    """Declarative base of the stand, with its own metadata (the gateway's migrations never see it)."""

    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


class Org(StandBase):
    """An information provider known to GIS (orgPPAGUID) or a social-protection body sending requests."""

    __tablename__ = "stand_orgs"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ppa_guid: Mapped[str] = mapped_column(String(36), unique=True)
    root_guid: Mapped[str] = mapped_column(String(36))
    name: Mapped[str] = mapped_column(String(500))
    inn: Mapped[str | None] = mapped_column(String(12))
    ogrn: Mapped[str | None] = mapped_column(String(15))
    kind: Mapped[str] = mapped_column(String(20), default="uo")
    tel: Mapped[str | None] = mapped_column(String(40))


class Cert(StandBase):
    """A certificate registered for an organisation (GIS identifies the IS by it)."""

    __tablename__ = "stand_certs"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("stand_orgs.id", ondelete="CASCADE"), index=True)
    pem: Mapped[str] = mapped_column(Text)
    thumbprint: Mapped[str] = mapped_column(String(64))


class House(StandBase):
    """A house in the GIS housing-fund registry with its FIAS GUID."""

    __tablename__ = "stand_houses"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    guid: Mapped[str] = mapped_column(String(36), unique=True)
    fias_guid: Mapped[str] = mapped_column(String(36), index=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("stand_orgs.id"), index=True)
    address: Mapped[str] = mapped_column(String(1000))
    #: apartment_building (ApartmentHouse) or living_house (LivingHouse: a detached or terraced individual
    #: house; its premises rows are the blocks of a terraced house, kind `house_block`).
    kind: Mapped[str] = mapped_column(String(20), default="apartment_building")
    # Characteristics served by exportHouseData (app/gis_stand/houses.py); null on houses seeded before them.
    unique_number: Mapped[str | None] = mapped_column(String(40))
    cadastral_number: Mapped[str | None] = mapped_column(String(40))
    used_year: Mapped[int | None] = mapped_column(Integer)
    floor_count: Mapped[int | None] = mapped_column(Integer)
    underground_floors: Mapped[int | None] = mapped_column(Integer)
    total_area: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    entrances: Mapped[int | None] = mapped_column(Integer)
    modified_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class Premises(StandBase):
    """A flat or a non-residential premises in a house."""

    __tablename__ = "stand_premises"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    guid: Mapped[str] = mapped_column(String(36), unique=True)
    house_id: Mapped[int] = mapped_column(ForeignKey("stand_houses.id"), index=True)
    number: Mapped[str] = mapped_column(String(20))
    total_area: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    # exportHouseData (app/gis_stand/houses.py): residential or non_residential, the cadastral number (often
    # missing, as in GIS), living area, entrance and floor; `terminated_on` marks premises removed from GIS.
    kind: Mapped[str] = mapped_column(String(20), default="residential")
    cadastral_number: Mapped[str | None] = mapped_column(String(40))
    gross_area: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    entrance: Mapped[int | None] = mapped_column(Integer)
    floor: Mapped[int | None] = mapped_column(Integer)
    terminated_on: Mapped[date | None] = mapped_column(Date)


class Account(StandBase):
    """A personal account with ЕЛС (UnifiedAccountNumber) and ЖКУ id (ServiceID) and its payer."""

    __tablename__ = "stand_accounts"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    guid: Mapped[str] = mapped_column(String(36), unique=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("stand_orgs.id"), index=True)
    house_id: Mapped[int] = mapped_column(ForeignKey("stand_houses.id"), index=True)
    premises_id: Mapped[int | None] = mapped_column(ForeignKey("stand_premises.id"))
    account_number: Mapped[str] = mapped_column(String(30))
    unified_number: Mapped[str] = mapped_column(String(10), unique=True)
    service_id: Mapped[str] = mapped_column(String(13), unique=True)
    kind: Mapped[str] = mapped_column(String(20), default="isUOAccount")
    creation_date: Mapped[date] = mapped_column(Date)
    living_persons: Mapped[int] = mapped_column(Integer)
    total_square: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    surname: Mapped[str] = mapped_column(String(255))
    first_name: Mapped[str] = mapped_column(String(255))
    patronymic: Mapped[str | None] = mapped_column(String(255))
    sex: Mapped[str] = mapped_column(String(1))
    birth_date: Mapped[date] = mapped_column(Date)
    snils: Mapped[str] = mapped_column(String(11))
    monthly_charge: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    debt: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=0)


class Debt(StandBase):
    """A record of the registry of court-confirmed debts (debts service)."""

    __tablename__ = "stand_debts"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    guid: Mapped[str] = mapped_column(String(36), unique=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("stand_orgs.id"), index=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("stand_accounts.id"))
    house_id: Mapped[int | None] = mapped_column(ForeignKey("stand_houses.id"), index=True)
    premises_id: Mapped[int | None] = mapped_column(ForeignKey("stand_premises.id"), index=True)
    surname: Mapped[str] = mapped_column(String(255))
    first_name: Mapped[str] = mapped_column(String(255))
    patronymic: Mapped[str | None] = mapped_column(String(255))
    snils: Mapped[str | None] = mapped_column(String(11))
    inn: Mapped[str | None] = mapped_column(String(12))
    act_number: Mapped[str] = mapped_column(String(255))
    act_date: Mapped[date] = mapped_column(Date)
    act_pronounced: Mapped[date | None] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    status: Mapped[str] = mapped_column(String(10), default="PUBLISHED")
    repayment_status: Mapped[str] = mapped_column(String(6), default="UNPAID")
    repayment_date: Mapped[date | None] = mapped_column(Date)
    repayment_info: Mapped[str | None] = mapped_column(String(1000))
    first_published: Mapped[date] = mapped_column(Date)
    last_published: Mapped[date] = mapped_column(Date)
    annulment_date: Mapped[date | None] = mapped_column(Date)
    annulment_code: Mapped[str | None] = mapped_column(String(10))
    annulment_guid: Mapped[str | None] = mapped_column(String(36))
    annulment_text: Mapped[str | None] = mapped_column(String(1000))
    additional_info: Mapped[str | None] = mapped_column(String(2000))
    #: JSON list of attachments {kind, name, description, guid, hash}.
    attachments: Mapped[str] = mapped_column(Text, default="[]")


class DebtRequest(StandBase):
    """A debt request from a social-protection body (the parent of subrequests)."""

    __tablename__ = "stand_requests"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    guid: Mapped[str] = mapped_column(String(36), unique=True)
    number: Mapped[str] = mapped_column(String(30), index=True)
    sender_root_guid: Mapped[str] = mapped_column(String(36))
    sender_name: Mapped[str] = mapped_column(String(500))
    sender_tel: Mapped[str | None] = mapped_column(String(40))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    executor_guid: Mapped[str] = mapped_column(String(36))
    executor_fio: Mapped[str] = mapped_column(String(255))


class Subrequest(StandBase):
    """A subrequest addressed to one organisation; its answer and deadline (responseDate)."""

    __tablename__ = "stand_subrequests"
    __table_args__ = (Index("ix_stand_subrequests_org_sent", "org_id", "sent_date"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    guid: Mapped[str] = mapped_column(String(36), unique=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("stand_requests.id"), index=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("stand_orgs.id"))
    house_id: Mapped[int] = mapped_column(ForeignKey("stand_houses.id"))
    premises_id: Mapped[int | None] = mapped_column(ForeignKey("stand_premises.id"))
    address: Mapped[str] = mapped_column(String(1000))
    address_details: Mapped[str | None] = mapped_column(String(100))
    sent_date: Mapped[date] = mapped_column(Date)
    response_date: Mapped[date] = mapped_column(Date, index=True)
    response_status: Mapped[str] = mapped_column(String(13), default="NotSent")
    #: JSON of the accepted answer (stand-internal, holds personal data of the emulated debtors).
    response: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class AnswerEvent(StandBase):
    """History of answers: every Send/Revoke applied and every AutoGenerated transition."""

    __tablename__ = "stand_answer_events"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    subrequest_id: Mapped[int] = mapped_column(ForeignKey("stand_subrequests.id"), index=True)
    action: Mapped[str] = mapped_column(String(13))
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    message_guid: Mapped[str | None] = mapped_column(String(36))
    transport_guid: Mapped[str | None] = mapped_column(String(36))
    has_debt: Mapped[bool | None] = mapped_column(Boolean)


class Message(StandBase):
    """An accepted asynchronous request: its state machine and, once processed, the signed result."""

    __tablename__ = "stand_messages"
    __table_args__ = (UniqueConstraint("org_id", "requester_guid"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    guid: Mapped[str] = mapped_column(String(36), unique=True)
    requester_guid: Mapped[str] = mapped_column(String(36))
    org_id: Mapped[int] = mapped_column(ForeignKey("stand_orgs.id"), index=True)
    service: Mapped[str] = mapped_column(String(30))
    operation: Mapped[str] = mapped_column(String(40))
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
    stuck: Mapped[bool] = mapped_column(Boolean, default=False)
    request_xml: Mapped[bytes] = mapped_column(LargeBinary)
    result_xml: Mapped[bytes | None] = mapped_column(LargeBinary)
    processed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class Notification(StandBase):
    """A news item for citizens (importNotificationData) with its DeptsInforming accounts, as GIS keeps it.

    `shipped` counts the IsShipOff actions that reached addressees (one news, however often it is shipped);
    `ship_requests` counts every IsShipOff received, so a test can see a repeated one.
    """

    __tablename__ = "stand_notifications"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    guid: Mapped[str] = mapped_column(String(36), unique=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("stand_orgs.id"), index=True)
    message_guid: Mapped[str] = mapped_column(String(36))
    transport_guid: Mapped[str] = mapped_column(String(36))
    topic: Mapped[str] = mapped_column(String(200))
    content: Mapped[str | None] = mapped_column(Text)
    #: [{"els": ЕЛС, "total_debt": "…"}] as received.
    accounts: Mapped[str] = mapped_column(Text)
    #: draft, shipped, recalled, deleted.
    status: Mapped[str] = mapped_column(String(10), default="draft")
    ship_requests: Mapped[int] = mapped_column(Integer, default=0)
    shipped_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    recalled_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    recall_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class StoredFile(StandBase):
    """A file in the file store (one or more parts)."""

    __tablename__ = "stand_files"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    guid: Mapped[str] = mapped_column(String(36), unique=True)
    context: Mapped[str] = mapped_column(String(40))
    org_id: Mapped[int] = mapped_column(ForeignKey("stand_orgs.id"), index=True)
    filename: Mapped[str] = mapped_column(String(1024))
    length: Mapped[int] = mapped_column(BigInteger)
    part_count: Mapped[int] = mapped_column(Integer)
    completed: Mapped[bool] = mapped_column(Boolean, default=False)
    gost94: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class FilePart(StandBase):
    """One uploaded part of a file (1-based number)."""

    __tablename__ = "stand_file_parts"
    __table_args__ = (UniqueConstraint("file_id", "number"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("stand_files.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class PremisesBlock(StandBase):
    """A described block of generated premises with one account each and their monthly payment documents.

    Nothing per premises is stored: house, premises, account and document GUIDs are derived from `tag` and
    the premises' index (`app/gis_stand/bills.py`), so 200,000 premises cost one row. Premises `i` lives in
    house `i // per_house`; it has a payment document in month `YYYY-MM` when `i < documents["YYYY-MM"]`.
    """

    __tablename__ = "stand_premises_blocks"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tag: Mapped[str] = mapped_column(String(8), unique=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("stand_orgs.id"), index=True)
    premises: Mapped[int] = mapped_column(Integer)
    per_house: Mapped[int] = mapped_column(Integer)
    account_kind: Mapped[str] = mapped_column(String(20), default="isRCAccount")
    #: JSON object "YYYY-MM" → how many of the block's premises (the first ones) have a document that month.
    documents: Mapped[str] = mapped_column(Text, default="{}")
    monthly_charge: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=Decimal("2500.00"))
