"""gis_premises_counts: residential premises placed in GIS per organisation and month (court experiment)

Revision ID: 0019_gis_premises_counts
Revises: 0017_nsi_elements
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db.base

revision: str = "0019_gis_premises_counts"
down_revision: str | None = "0017_nsi_elements"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the monthly premises counts."""
    op.create_table(
        "court_premises_counts",
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("month", sa.Integer(), nullable=False),
        sa.Column("gis_premises", sa.Integer(), nullable=False),
        sa.Column("gis_accounts", sa.Integer(), nullable=False),
        sa.Column("payment_documents", sa.Integer(), nullable=False),
        sa.Column("billing_premises", sa.Integer(), nullable=True),
        sa.Column("houses", sa.Integer(), nullable=False),
        sa.Column("operation_id", sa.Uuid(), nullable=True),
        sa.Column("counted_at", app.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_court_premises_counts_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("organisation_id", "year", "month", name=op.f("pk_court_premises_counts")),
    )
    op.create_index(
        op.f("ix_court_premises_counts_operation_id"),
        "court_premises_counts",
        ["operation_id"],
        unique=False,
    )


def downgrade() -> None:
    """Drop the monthly premises counts."""
    op.drop_index(op.f("ix_court_premises_counts_operation_id"), table_name="court_premises_counts")
    op.drop_table("court_premises_counts")
