"""Personal-account registry: houses, premises, accounts with their payer, account ↔ premises, ledgers.

Ids of houses, premises and accounts are deterministic (uuid5 of their natural keys, see
`app.domain.accounts.rows`), so a bulk import can compute every id client-side and upsert without
lookups.
"""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from sqlalchemy import Boolean, Date, ForeignKey, Index, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, TimestampMixin

PREMISES_KINDS = ("apartment", "non_residential", "room", "house_block")
PAYER_KINDS = ("person", "organisation")


class House(TimestampMixin, Base):
    """A building, known by its FIAS house GUID and (once synced) by its GIS house-management object GUID."""

    __tablename__ = "houses"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    # Unique among non-null values (SQLite and PostgreSQL both let several NULLs through a unique index).
    fias_house_guid: Mapped[uuid.UUID | None] = mapped_column(unique=True)
    hm_object_guid: Mapped[uuid.UUID | None] = mapped_column(index=True)
    address: Mapped[str | None] = mapped_column(String(1000))
    region: Mapped[str | None] = mapped_column(String(2))


class Premises(TimestampMixin, Base):
    """A flat, non-residential premises, room or house block inside a house."""

    __tablename__ = "premises"
    __table_args__ = (UniqueConstraint("house_id", "number_norm"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    house_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("houses.id", ondelete="CASCADE"))
    number_raw: Mapped[str] = mapped_column(String(100))
    #: `app.domain.accounts.premises.normalize_premises(number_raw)`: the matching key.
    number_norm: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))
    residential: Mapped[bool] = mapped_column(Boolean)
    cadastral_number: Mapped[str | None] = mapped_column(String(40))
    gis_premises_guid: Mapped[uuid.UUID | None] = mapped_column(index=True)


class Account(TimestampMixin, Base):
    """A personal account (лицевой счёт) of an organisation with its payer (personal data)."""

    __tablename__ = "accounts"
    __table_args__ = (
        UniqueConstraint("organisation_id", "account_number"),
        Index("ix_accounts_payer_name", "payer_name_key", "birth_date"),
        # Keys bound to every organisation search by number without an organisation filter.
        Index("ix_accounts_account_number", "account_number"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    account_number: Mapped[str] = mapped_column(String(30))
    #: ЕЛС, the unified account number GIS assigns (10 characters).
    els: Mapped[str | None] = mapped_column(String(10), index=True)
    #: ЖКУ identifier (ServiceID, 13 characters).
    zhku_id: Mapped[str | None] = mapped_column(String(13), index=True)
    gis_account_guid: Mapped[uuid.UUID | None] = mapped_column(index=True)
    opened_on: Mapped[date | None] = mapped_column(Date)
    closed_on: Mapped[date | None] = mapped_column(Date)
    closed: Mapped[bool] = mapped_column(Boolean, default=False)
    # Court-case flags: a disputed claim or a debtor in bankruptcy excludes a court order (ГПК 125,
    # Пленум ВС № 62 п. 12).
    dispute: Mapped[bool] = mapped_column(Boolean, default=False)
    bankruptcy: Mapped[bool] = mapped_column(Boolean, default=False)

    payer_kind: Mapped[str] = mapped_column(String(20))
    last_name: Mapped[str | None] = mapped_column(String(100))
    first_name: Mapped[str | None] = mapped_column(String(100))
    middle_name: Mapped[str | None] = mapped_column(String(100))
    #: Case- and ё-folded "last first" for name search (SQLite's lower() ignores Cyrillic).
    payer_name_key: Mapped[str | None] = mapped_column(String(201))
    payer_middle_key: Mapped[str | None] = mapped_column(String(100))
    birth_date: Mapped[date | None] = mapped_column(Date)
    birth_place: Mapped[str | None] = mapped_column(String(500))
    snils: Mapped[str | None] = mapped_column(String(11), index=True)
    id_doc_type: Mapped[str | None] = mapped_column(String(20))
    id_doc_series: Mapped[str | None] = mapped_column(String(20))
    id_doc_number: Mapped[str | None] = mapped_column(String(40))
    inn: Mapped[str | None] = mapped_column(String(12))
    org_name: Mapped[str | None] = mapped_column(String(500))
    org_ogrn: Mapped[str | None] = mapped_column(String(15))
    #: owner, social_tenant, legal_entity, management_company or unknown: the municipal reports' breakdown.
    consumer_category: Mapped[str] = mapped_column(String(20), default="unknown", server_default="unknown")
    #: Contacts for notice lists (personal data: masked without the `pii` scope, never logged): a Russian
    #: mobile number as +7XXXXXXXXXX and an e-mail address.
    phone: Mapped[str | None] = mapped_column(String(16))
    email: Mapped[str | None] = mapped_column(String(254))


class AccountPremises(Base):
    """Which premises an account covers, with the payer's share in percent."""

    __tablename__ = "account_premises"
    # No foreign keys to accounts and premises (migration 0008): their two checks per link, each also locking
    # the referenced row FOR KEY SHARE, cost two thirds of the bulk import's COPY of links (22 → 7 µs an
    # account on a 100k import). Integrity is kept instead by (1) the writer: links are written only by the
    # accounts import (`app.db.bulk_accounts`), in the same transaction that writes (and so locks)
    # their account and premises, with ids derived from the same validated row; and (2) triggers on accounts
    # and premises (`trg_accounts_delete_links`, `trg_premises_delete_links`) that delete the links of a
    # deleted account or premises, also through the organisation's and the house's ON DELETE CASCADE.
    account_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    premises_id: Mapped[uuid.UUID] = mapped_column(primary_key=True, index=True)
    share_percent: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))


class AccountLedger(Base):
    """The billing months of an account (charged, paid, due date): debt and ages follow from these."""

    __tablename__ = "account_ledgers"

    # One row per account, not per month (migration 0007): see `app.domain.accounts.ledger`, which writes and
    # reads `months`. No foreign key to accounts (migration 0006): its per-row check was ~70 % of the bulk
    # import's ledger upsert. Integrity is kept instead by (1) the writer: ledgers are written only by the
    # accounts import (`app.db.bulk_accounts`), in the same transaction as their account, with the
    # account id derived from the same validated row, so a rejected or rolled-back row leaves neither; and (2)
    # a trigger on accounts (`trg_accounts_delete_ledger`, migrations 0006 and 0007) that deletes an account's
    # ledger when the account goes, also through the organisation's ON DELETE CASCADE.
    account_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    #: The months as compact JSON text, sorted by period (`app.domain.accounts.ledger.encode_months`).
    months: Mapped[str] = mapped_column(Text)
