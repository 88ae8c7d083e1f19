"""Court orders: readiness runs, court cases with their history, and the local court-confirmed debts registry.

Court cases and confirmed debts are legal records: deleting an account does not delete them (the link is set
to NULL and the debtor snapshot keeps the data the application was filed with).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, TimestampMixin, UtcDateTime, utcnow

MONEY = Numeric(14, 2)

# Court-case statuses (ГПК гл. 11): filed → order issued → copy received, 10-day objection window (ст. 128)
# → cancelled on objections (ст. 129) or in force → sent for enforcement (ФССП).
DRAFT, SUBMITTED, ORDER_ISSUED, OBJECTION_WINDOW = "draft", "submitted", "order_issued", "objection_window"
CANCELLED, IN_FORCE, ENFORCEMENT, RETURNED = "cancelled", "in_force", "enforcement", "returned"
CLOSED = "closed"
CASE_STATUSES = (
    DRAFT,
    SUBMITTED,
    ORDER_ISSUED,
    OBJECTION_WINDOW,
    CANCELLED,
    IN_FORCE,
    ENFORCEMENT,
    RETURNED,
    CLOSED,
)

# Placement of a confirmed debt in the GIS registry (importDebt).
NOT_PLACED, PLACING, PLACED, PLACE_FAILED = "not_placed", "placing", "placed", "failed"


class CourtReadinessRun(TimestampMixin, Base):
    """One readiness check over a set of accounts (inline or as an operation)."""

    __tablename__ = "court_readiness_runs"
    __table_args__ = (Index("ix_court_readiness_runs_org_created", "organisation_id", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    operation_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("operations.id", ondelete="SET NULL"))
    on_date: Mapped[date] = mapped_column(Date)
    group_by: Mapped[str] = mapped_column(String(10), default="account")
    status: Mapped[str] = mapped_column(String(20), default="running")
    params: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    total: Mapped[int] = mapped_column(Integer, default=0)
    ready: Mapped[int] = mapped_column(Integer, default=0)
    blocked: Mapped[int] = mapped_column(Integer, default=0)
    #: rule → number of cases it blocks.
    blockers: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class CourtReadinessResult(Base):
    """The verdict for one account (or one debtor's accounts) in a readiness run; no personal data."""

    __tablename__ = "court_readiness_results"
    __table_args__ = (Index("ix_court_readiness_results_run_ready", "run_id", "ready", "seq"),)

    run_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("court_readiness_runs.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: The first account of the case; `account_ids` lists all of them when grouped by debtor.
    account_id: Mapped[uuid.UUID] = mapped_column(index=True)
    account_ids: Mapped[list[str]] = mapped_column(JSON)
    ready: Mapped[bool] = mapped_column(Boolean)
    principal: Mapped[Decimal] = mapped_column(MONEY)
    penalties: Mapped[Decimal] = mapped_column(MONEY)
    duty: Mapped[Decimal | None] = mapped_column(MONEY)
    total: Mapped[Decimal] = mapped_column(MONEY)
    months_claimed: Mapped[int] = mapped_column(Integer)
    #: Blocking rules with what would unblock them, warnings, excluded months (limitation, earlier orders).
    verdict: Mapped[dict[str, Any]] = mapped_column(JSON)


class CourtCase(TimestampMixin, Base):
    """An application for a court order (судебный приказ) and what the court did with it."""

    __tablename__ = "court_cases"
    __table_args__ = (
        Index("ix_court_cases_org_status", "organisation_id", "status"),
        Index("ix_court_cases_account", "account_id"),
        Index("ix_court_cases_package_operation", "package_operation_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    account_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    account_ids: Mapped[list[str]] = mapped_column(JSON)
    package_operation_id: Mapped[uuid.UUID | None]
    status: Mapped[str] = mapped_column(String(20), default=DRAFT)
    #: Debtor as filed (personal data: names, birth, identifiers, residence); masked without `pii`.
    debtor: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: Court as filed: name, district number, address, duty payee bank details.
    court: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: Billing months claimed (first days), ascending; `period_from`/`period_to` bound them.
    months: Mapped[list[str]] = mapped_column(JSON)
    period_from: Mapped[date] = mapped_column(Date)
    period_to: Mapped[date] = mapped_column(Date)
    on_date: Mapped[date] = mapped_column(Date)
    principal: Mapped[Decimal] = mapped_column(MONEY)
    penalties: Mapped[Decimal] = mapped_column(MONEY)
    duty: Mapped[Decimal] = mapped_column(MONEY)
    total: Mapped[Decimal] = mapped_column(MONEY)
    #: The claim by month with the penalty calculation (the application data set, reproducible).
    claim: Mapped[dict[str, Any]] = mapped_column(JSON)

    case_number: Mapped[str | None] = mapped_column(String(100))
    submitted_on: Mapped[date | None] = mapped_column(Date)
    issued_on: Mapped[date | None] = mapped_column(Date)
    received_on: Mapped[date | None] = mapped_column(Date)
    objection_deadline: Mapped[date | None] = mapped_column(Date)
    in_force_on: Mapped[date | None] = mapped_column(Date)
    cancelled_on: Mapped[date | None] = mapped_column(Date)
    enforcement_on: Mapped[date | None] = mapped_column(Date)
    returned_on: Mapped[date | None] = mapped_column(Date)
    act_number: Mapped[str | None] = mapped_column(String(255))
    act_date: Mapped[date | None] = mapped_column(Date)
    act_pronouncing_date: Mapped[date | None] = mapped_column(Date)
    act_file_name: Mapped[str | None] = mapped_column(String(255))
    act_file: Mapped[bytes | None] = mapped_column(LargeBinary)
    #: GOST R 34.11-94 of the file (AttachmentHASH) and its file-store GUID once uploaded.
    act_file_hash: Mapped[str | None] = mapped_column(String(64))
    act_file_guid: Mapped[str | None] = mapped_column(String(36))
    version: Mapped[int] = mapped_column(Integer, default=1)


class CourtCaseEvent(Base):
    """One step in a court case's history: who, when, from which status to which."""

    __tablename__ = "court_case_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("court_cases.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    type: Mapped[str] = mapped_column(String(30))
    on_date: Mapped[date | None] = mapped_column(Date)
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    actor: Mapped[str] = mapped_column(String(200))
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class CourtConfirmedDebt(TimestampMixin, Base):
    """A debt confirmed by a court act in force, and its record in the GIS registry (importDebt)."""

    __tablename__ = "court_confirmed_debts"
    __table_args__ = (
        UniqueConstraint("case_id"),
        UniqueConstraint("gis_debt_guid"),
        Index("ix_court_confirmed_debts_org_account", "organisation_id", "account_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    case_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("court_cases.id", ondelete="SET NULL"))
    account_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    # Debtor (personal data).
    last_name: Mapped[str] = mapped_column(String(100))
    first_name: Mapped[str] = mapped_column(String(100))
    middle_name: Mapped[str | None] = mapped_column(String(100))
    snils: Mapped[str | None] = mapped_column(String(11))
    inn: Mapped[str | None] = mapped_column(String(12))
    id_doc_type: Mapped[str | None] = mapped_column(String(20))
    id_doc_series: Mapped[str | None] = mapped_column(String(20))
    id_doc_number: Mapped[str | None] = mapped_column(String(40))
    # Debt object: the premises (or house) the debt is for.
    fias_house_guid: Mapped[uuid.UUID | None]
    house_guid: Mapped[uuid.UUID | None]
    premise_guid: Mapped[uuid.UUID | None]
    # Court act.
    act_number: Mapped[str] = mapped_column(String(255))
    act_date: Mapped[date] = mapped_column(Date)
    act_pronouncing_date: Mapped[date] = mapped_column(Date)
    period_from: Mapped[date | None] = mapped_column(Date)
    period_to: Mapped[date | None] = mapped_column(Date)
    principal: Mapped[Decimal] = mapped_column(MONEY)
    penalties: Mapped[Decimal] = mapped_column(MONEY)
    duty: Mapped[Decimal] = mapped_column(MONEY)
    amount: Mapped[Decimal] = mapped_column(MONEY)
    additional_info: Mapped[str | None] = mapped_column(Text)
    # GIS registry state.
    placement: Mapped[str] = mapped_column(String(20), default=NOT_PLACED)
    gis_debt_guid: Mapped[str | None] = mapped_column(String(36))
    gis_status: Mapped[str | None] = mapped_column(String(20))
    repayment_status: Mapped[str] = mapped_column(String(20), default="UNPAID")
    repaid_on: Mapped[date | None] = mapped_column(Date)
    annulled_on: Mapped[date | None] = mapped_column(Date)
    annulment_reason: Mapped[str | None] = mapped_column(String(500))
    last_exchange_id: Mapped[uuid.UUID | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    gis_synced_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class CourtPremisesCount(Base):
    """Residential premises placed in GIS for one organisation and month (the experiment's premises figure).

    Counted by the `court-premises-count` operation from GIS's own data: the accounts in GIS
    (exportAccountData per house) and the payment documents placed for the month (exportPaymentDocumentData):
    a residential premises counts when an account covering it has a document that month. The billing count of
    the same month is stored beside it so the difference can be shown.
    """

    __tablename__ = "court_premises_counts"
    organisation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True
    )
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    month: Mapped[int] = mapped_column(Integer, primary_key=True)
    gis_premises: Mapped[int] = mapped_column(Integer)
    gis_accounts: Mapped[int] = mapped_column(Integer)
    payment_documents: Mapped[int] = mapped_column(Integer)
    billing_premises: Mapped[int | None] = mapped_column(Integer)
    houses: Mapped[int] = mapped_column(Integer)
    operation_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    counted_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
