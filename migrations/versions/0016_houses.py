"""GIS house data: monthly snapshots of houses, premises and accounts, the change feed, webhook deliveries

Tables of `app.domain.houses` (issue #17): gis_houses, gis_premises and gis_house_accounts hold what
exportHouseData / exportAccountData showed per organisation and month; house_changes is the month-to-month
change feed (ids are the webhook event ids); webhook_deliveries is the delivery log. Chained after
0009_fair_queue_and_fetch_resume.

Revision ID: 0016_houses
Revises: 0015_monitoring_restriction
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db.base

revision: str = "0016_houses"
down_revision: str | None = "0015_monitoring_restriction"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "gis_house_accounts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("fias_house_guid", sa.Uuid(), nullable=False),
        sa.Column("account_guid", sa.Uuid(), nullable=False),
        sa.Column("els", sa.String(length=10), nullable=False),
        sa.Column("zhku_id", sa.String(length=13), nullable=True),
        sa.Column("account_number", sa.String(length=30), nullable=True),
        sa.Column("premises_guid", sa.Uuid(), nullable=True),
        sa.Column("closed", sa.Boolean(), nullable=False),
        sa.Column("total_area", sa.Numeric(precision=14, scale=4), nullable=True),
        sa.Column("payer_hash", sa.String(length=64), nullable=False),
        sa.Column("seen_at", app.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("billing_account_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_gis_house_accounts_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gis_house_accounts")),
        sa.UniqueConstraint(
            "organisation_id",
            "month",
            "account_guid",
            name=op.f("uq_gis_house_accounts_organisation_id_month_account_guid"),
        ),
    )
    with op.batch_alter_table("gis_house_accounts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_gis_house_accounts_house", ["organisation_id", "month", "fias_house_guid"], unique=False
        )

    op.create_table(
        "gis_houses",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("fias_house_guid", sa.Uuid(), nullable=False),
        sa.Column("house_guid", sa.Uuid(), nullable=True),
        sa.Column("unique_number", sa.String(length=40), nullable=True),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("cadastral_number", sa.String(length=255), nullable=True),
        sa.Column("total_area", sa.Numeric(precision=14, scale=4), nullable=True),
        sa.Column("residential_area", sa.Numeric(precision=14, scale=4), nullable=True),
        sa.Column("non_residential_area", sa.Numeric(precision=14, scale=4), nullable=True),
        sa.Column("used_year", sa.Integer(), nullable=True),
        sa.Column("floor_count", sa.String(length=20), nullable=True),
        sa.Column("underground_floor_count", sa.String(length=20), nullable=True),
        sa.Column("entrances", sa.Integer(), nullable=False),
        sa.Column("premises_count", sa.Integer(), nullable=False),
        sa.Column("accounts_count", sa.Integer(), nullable=False),
        sa.Column("gis_modified_at", app.db.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("seen_at", app.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("operation_id", sa.Uuid(), nullable=True),
        sa.Column("billing_house_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_gis_houses_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gis_houses")),
        sa.UniqueConstraint(
            "organisation_id",
            "month",
            "fias_house_guid",
            name=op.f("uq_gis_houses_organisation_id_month_fias_house_guid"),
        ),
    )
    op.create_table(
        "gis_premises",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("fias_house_guid", sa.Uuid(), nullable=False),
        sa.Column("premises_guid", sa.Uuid(), nullable=False),
        sa.Column("unique_number", sa.String(length=60), nullable=True),
        sa.Column("number_raw", sa.String(length=255), nullable=True),
        sa.Column("number_norm", sa.String(length=100), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("cadastral_number", sa.String(length=255), nullable=True),
        sa.Column("total_area", sa.Numeric(precision=14, scale=4), nullable=True),
        sa.Column("gross_area", sa.Numeric(precision=14, scale=4), nullable=True),
        sa.Column("entrance", sa.String(length=255), nullable=True),
        sa.Column("floor", sa.String(length=40), nullable=True),
        sa.Column("account_area", sa.Numeric(precision=14, scale=4), nullable=True),
        sa.Column("seen_at", app.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("billing_premises_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_gis_premises_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gis_premises")),
        sa.UniqueConstraint(
            "organisation_id",
            "month",
            "premises_guid",
            name=op.f("uq_gis_premises_organisation_id_month_premises_guid"),
        ),
    )
    with op.batch_alter_table("gis_premises", schema=None) as batch_op:
        batch_op.create_index(
            "ix_gis_premises_house", ["organisation_id", "month", "fias_house_guid"], unique=False
        )

    op.create_table(
        "house_changes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("previous_month", sa.Date(), nullable=False),
        sa.Column("fias_house_guid", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("object_guid", sa.Uuid(), nullable=False),
        sa.Column("premises_number", sa.String(length=255), nullable=True),
        sa.Column("els", sa.String(length=10), nullable=True),
        sa.Column("account_number", sa.String(length=30), nullable=True),
        sa.Column("old_value", sa.String(length=255), nullable=True),
        sa.Column("new_value", sa.String(length=255), nullable=True),
        sa.Column("detected_at", app.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_house_changes_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_house_changes")),
    )
    with op.batch_alter_table("house_changes", schema=None) as batch_op:
        batch_op.create_index(
            "ix_house_changes_org_month", ["organisation_id", "month", "fias_house_guid"], unique=False
        )

    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", app.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", app.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", app.db.base.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_webhook_deliveries_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
        sa.UniqueConstraint("event_id", "url", name=op.f("uq_webhook_deliveries_event_id_url")),
    )
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.create_index("ix_webhook_deliveries_due", ["status", "next_attempt_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_webhook_deliveries_event_id"), ["event_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_webhook_deliveries_event_id"))
        batch_op.drop_index("ix_webhook_deliveries_due")

    op.drop_table("webhook_deliveries")
    with op.batch_alter_table("house_changes", schema=None) as batch_op:
        batch_op.drop_index("ix_house_changes_org_month")

    op.drop_table("house_changes")
    with op.batch_alter_table("gis_premises", schema=None) as batch_op:
        batch_op.drop_index("ix_gis_premises_house")

    op.drop_table("gis_premises")
    op.drop_table("gis_houses")
    with op.batch_alter_table("gis_house_accounts", schema=None) as batch_op:
        batch_op.drop_index("ix_gis_house_accounts_house")

    op.drop_table("gis_house_accounts")
