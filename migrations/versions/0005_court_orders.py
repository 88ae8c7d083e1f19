"""court orders: readiness runs, cases and their history, court-confirmed debts

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db.base

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "court_cases",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=True),
        sa.Column("account_ids", sa.JSON(), nullable=False),
        sa.Column("package_operation_id", sa.Uuid(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("debtor", sa.JSON(), nullable=False),
        sa.Column("court", sa.JSON(), nullable=True),
        sa.Column("months", sa.JSON(), nullable=False),
        sa.Column("period_from", sa.Date(), nullable=False),
        sa.Column("period_to", sa.Date(), nullable=False),
        sa.Column("on_date", sa.Date(), nullable=False),
        sa.Column("principal", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("penalties", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("duty", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("total", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("claim", sa.JSON(), nullable=False),
        sa.Column("case_number", sa.String(length=100), nullable=True),
        sa.Column("submitted_on", sa.Date(), nullable=True),
        sa.Column("issued_on", sa.Date(), nullable=True),
        sa.Column("received_on", sa.Date(), nullable=True),
        sa.Column("objection_deadline", sa.Date(), nullable=True),
        sa.Column("in_force_on", sa.Date(), nullable=True),
        sa.Column("cancelled_on", sa.Date(), nullable=True),
        sa.Column("enforcement_on", sa.Date(), nullable=True),
        sa.Column("returned_on", sa.Date(), nullable=True),
        sa.Column("act_number", sa.String(length=255), nullable=True),
        sa.Column("act_date", sa.Date(), nullable=True),
        sa.Column("act_pronouncing_date", sa.Date(), nullable=True),
        sa.Column("act_file_name", sa.String(length=255), nullable=True),
        sa.Column("act_file", sa.LargeBinary(), nullable=True),
        sa.Column("act_file_hash", sa.String(length=64), nullable=True),
        sa.Column("act_file_guid", sa.String(length=36), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", app.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_court_cases_account_id_accounts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_court_cases_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_court_cases")),
    )
    with op.batch_alter_table("court_cases", schema=None) as batch_op:
        batch_op.create_index("ix_court_cases_account", ["account_id"], unique=False)
        batch_op.create_index("ix_court_cases_org_status", ["organisation_id", "status"], unique=False)
        batch_op.create_index("ix_court_cases_package_operation", ["package_operation_id"], unique=False)

    op.create_table(
        "court_readiness_runs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("operation_id", sa.Uuid(), nullable=True),
        sa.Column("on_date", sa.Date(), nullable=False),
        sa.Column("group_by", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("params", sa.JSON(), nullable=True),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("ready", sa.Integer(), nullable=False),
        sa.Column("blocked", sa.Integer(), nullable=False),
        sa.Column("blockers", sa.JSON(), nullable=True),
        sa.Column("finished_at", app.db.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("created_at", app.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["operation_id"],
            ["operations.id"],
            name=op.f("fk_court_readiness_runs_operation_id_operations"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_court_readiness_runs_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_court_readiness_runs")),
    )
    with op.batch_alter_table("court_readiness_runs", schema=None) as batch_op:
        batch_op.create_index(
            "ix_court_readiness_runs_org_created", ["organisation_id", "created_at"], unique=False
        )

    op.create_table(
        "court_case_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("at", app.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("type", sa.String(length=30), nullable=False),
        sa.Column("on_date", sa.Date(), nullable=True),
        sa.Column("from_status", sa.String(length=20), nullable=True),
        sa.Column("to_status", sa.String(length=20), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("details", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["court_cases.id"],
            name=op.f("fk_court_case_events_case_id_court_cases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_court_case_events")),
    )
    with op.batch_alter_table("court_case_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_court_case_events_case_id"), ["case_id"], unique=False)

    op.create_table(
        "court_confirmed_debts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=True),
        sa.Column("account_id", sa.Uuid(), nullable=True),
        sa.Column("last_name", sa.String(length=100), nullable=False),
        sa.Column("first_name", sa.String(length=100), nullable=False),
        sa.Column("middle_name", sa.String(length=100), nullable=True),
        sa.Column("snils", sa.String(length=11), nullable=True),
        sa.Column("inn", sa.String(length=12), nullable=True),
        sa.Column("id_doc_type", sa.String(length=20), nullable=True),
        sa.Column("id_doc_series", sa.String(length=20), nullable=True),
        sa.Column("id_doc_number", sa.String(length=40), nullable=True),
        sa.Column("fias_house_guid", sa.Uuid(), nullable=True),
        sa.Column("house_guid", sa.Uuid(), nullable=True),
        sa.Column("premise_guid", sa.Uuid(), nullable=True),
        sa.Column("act_number", sa.String(length=255), nullable=False),
        sa.Column("act_date", sa.Date(), nullable=False),
        sa.Column("act_pronouncing_date", sa.Date(), nullable=False),
        sa.Column("period_from", sa.Date(), nullable=True),
        sa.Column("period_to", sa.Date(), nullable=True),
        sa.Column("principal", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("penalties", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("duty", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("additional_info", sa.Text(), nullable=True),
        sa.Column("placement", sa.String(length=20), nullable=False),
        sa.Column("gis_debt_guid", sa.String(length=36), nullable=True),
        sa.Column("gis_status", sa.String(length=20), nullable=True),
        sa.Column("repayment_status", sa.String(length=20), nullable=False),
        sa.Column("repaid_on", sa.Date(), nullable=True),
        sa.Column("annulled_on", sa.Date(), nullable=True),
        sa.Column("annulment_reason", sa.String(length=500), nullable=True),
        sa.Column("last_exchange_id", sa.Uuid(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("gis_synced_at", app.db.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("created_at", app.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_court_confirmed_debts_account_id_accounts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["court_cases.id"],
            name=op.f("fk_court_confirmed_debts_case_id_court_cases"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_court_confirmed_debts_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_court_confirmed_debts")),
        sa.UniqueConstraint("case_id", name=op.f("uq_court_confirmed_debts_case_id")),
        sa.UniqueConstraint("gis_debt_guid", name=op.f("uq_court_confirmed_debts_gis_debt_guid")),
    )
    with op.batch_alter_table("court_confirmed_debts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_court_confirmed_debts_org_account", ["organisation_id", "account_id"], unique=False
        )

    op.create_table(
        "court_readiness_results",
        sa.Column("run_id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("account_ids", sa.JSON(), nullable=False),
        sa.Column("ready", sa.Boolean(), nullable=False),
        sa.Column("principal", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("penalties", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("duty", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("total", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("months_claimed", sa.Integer(), nullable=False),
        sa.Column("verdict", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["court_readiness_runs.id"],
            name=op.f("fk_court_readiness_results_run_id_court_readiness_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("run_id", "seq", name=op.f("pk_court_readiness_results")),
    )
    with op.batch_alter_table("court_readiness_results", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_court_readiness_results_account_id"), ["account_id"], unique=False
        )
        batch_op.create_index(
            "ix_court_readiness_results_run_ready", ["run_id", "ready", "seq"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("court_readiness_results", schema=None) as batch_op:
        batch_op.drop_index("ix_court_readiness_results_run_ready")
        batch_op.drop_index(batch_op.f("ix_court_readiness_results_account_id"))

    op.drop_table("court_readiness_results")
    with op.batch_alter_table("court_confirmed_debts", schema=None) as batch_op:
        batch_op.drop_index("ix_court_confirmed_debts_org_account")

    op.drop_table("court_confirmed_debts")
    with op.batch_alter_table("court_case_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_court_case_events_case_id"))

    op.drop_table("court_case_events")
    with op.batch_alter_table("court_readiness_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_court_readiness_runs_org_created")

    op.drop_table("court_readiness_runs")
    with op.batch_alter_table("court_cases", schema=None) as batch_op:
        batch_op.drop_index("ix_court_cases_package_operation")
        batch_op.drop_index("ix_court_cases_org_status")
        batch_op.drop_index("ix_court_cases_account")

    op.drop_table("court_cases")
