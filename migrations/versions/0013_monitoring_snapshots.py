"""monitoring: consumer category of accounts, monthly debt snapshots and their rows

Revision ID: 0013_monitoring
Revises: 0012_amnesty
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db.base

revision: str = "0013_monitoring"
down_revision: str | None = "0012_amnesty"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_AMOUNTS = ("charged", "paid", "debt", "age_1", "age_2_3", "age_4_6", "age_7_12", "age_13_36", "age_over_36")


def upgrade() -> None:
    # Plain ALTER TABLE, not a batch: SQLite's batch mode rebuilds the table and would drop its triggers.
    op.add_column(
        "accounts",
        sa.Column("consumer_category", sa.String(length=20), server_default="unknown", nullable=False),
    )
    op.create_table(
        "monitoring_snapshots",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("operation_id", sa.Uuid(), nullable=True),
        sa.Column("totals", sa.JSON(), nullable=False),
        sa.Column("top_debtors", sa.JSON(), nullable=False),
        sa.Column("created_at", app.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["operation_id"],
            ["operations.id"],
            name=op.f("fk_monitoring_snapshots_operation_id_operations"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_monitoring_snapshots_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitoring_snapshots")),
        sa.UniqueConstraint(
            "organisation_id", "month", name=op.f("uq_monitoring_snapshots_organisation_id_month")
        ),
    )
    op.create_table(
        "monitoring_snapshot_rows",
        sa.Column("snapshot_id", sa.Uuid(), nullable=False),
        sa.Column("house_id", sa.Uuid(), nullable=False),
        sa.Column("category", sa.String(length=20), nullable=False),
        sa.Column("accounts", sa.Integer(), nullable=False),
        sa.Column("debtors", sa.Integer(), nullable=False),
        *(sa.Column(name, sa.Numeric(precision=16, scale=2), nullable=False) for name in _AMOUNTS),
        sa.ForeignKeyConstraint(
            ["snapshot_id"],
            ["monitoring_snapshots.id"],
            name=op.f("fk_monitoring_snapshot_rows_snapshot_id_monitoring_snapshots"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "snapshot_id", "house_id", "category", name=op.f("pk_monitoring_snapshot_rows")
        ),
    )


def downgrade() -> None:
    op.drop_table("monitoring_snapshot_rows")
    op.drop_table("monitoring_snapshots")
    # SQLite ≥ 3.35 drops a column in place (no rebuild, so the triggers on accounts stay).
    op.drop_column("accounts", "consumer_category")
