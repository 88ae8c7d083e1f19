"""monitoring: restriction and suspension timelines (ПП 354 п. 117-120) and their events

Revision ID: 0015_monitoring_restriction
Revises: 0014_monitoring_notices
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db.base

revision: str = "0015_monitoring_restriction"
down_revision: str | None = "0014_monitoring_notices"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DATES = (
    "warning_delivered_on",
    "restriction_allowed_from",
    "restricted_on",
    "suspension_allowed_from",
    "suspension_notice_delivered_on",
    "suspended_on",
    "debt_paid_on",
    "resume_by",
    "resumed_on",
)


def upgrade() -> None:
    op.create_table(
        "restriction_cases",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("account_number", sa.String(length=30), nullable=False),
        sa.Column("utility", sa.String(length=20), nullable=False),
        sa.Column("apartment_building", sa.Boolean(), nullable=False),
        sa.Column("debt", sa.Numeric(precision=16, scale=2), nullable=False),
        sa.Column("monthly_charge", sa.Numeric(precision=16, scale=2), nullable=False),
        sa.Column("charge_method", sa.String(length=30), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("warning_notice_id", sa.Uuid(), nullable=True),
        sa.Column("restriction_impossible", sa.Boolean(), nullable=False),
        *(sa.Column(name, sa.Date(), nullable=True) for name in _DATES),
        sa.Column("stopped_reason", sa.String(length=30), nullable=True),
        sa.Column("created_at", app.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_restriction_cases_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_restriction_cases")),
    )
    op.create_index(
        "ix_restriction_cases_account", "restriction_cases", ["organisation_id", "account_id", "utility"]
    )
    op.create_table(
        "restriction_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("event", sa.String(length=40), nullable=False),
        sa.Column("on_date", sa.Date(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=True),
        sa.Column("created_at", app.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["restriction_cases.id"],
            name=op.f("fk_restriction_events_case_id_restriction_cases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_restriction_events")),
    )
    op.create_index(op.f("ix_restriction_events_case_id"), "restriction_events", ["case_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_restriction_events_case_id"), table_name="restriction_events")
    op.drop_table("restriction_events")
    op.drop_index("ix_restriction_cases_account", table_name="restriction_cases")
    op.drop_table("restriction_cases")
