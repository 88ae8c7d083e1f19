"""monitoring: pre-court notices through GIS ZhKKh (house-management news, DeptsInforming) and their actions

Revision ID: 0020_notices_gis
Revises: 0019_gis_premises_counts
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db.base

revision: str = "0020_notices_gis"
down_revision: str | None = "0019_gis_premises_counts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _notice_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("gis_status", sa.String(length=20), nullable=True),
        sa.Column("gis_notification_guid", sa.Uuid(), nullable=True),
        sa.Column("gis_error", sa.String(length=2000), nullable=True),
        sa.Column("gis_shipped_on", sa.Date(), nullable=True),
        sa.Column("gis_recalled_on", sa.Date(), nullable=True),
    ]


def upgrade() -> None:
    for column in _notice_columns():
        op.add_column("notices", column)
    op.create_index("ix_notices_gis_status", "notices", ["gis_status"], unique=False)
    op.create_table(
        "notice_gis_items",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("notice_id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("operation_id", sa.Uuid(), nullable=True),
        sa.Column("exchange_id", sa.Uuid(), nullable=True),
        sa.Column("phase", sa.String(length=10), nullable=False),
        sa.Column("result", sa.String(length=10), nullable=False),
        sa.Column("delivered_on_placement", sa.Boolean(), nullable=False),
        sa.Column("notification_guid", sa.Uuid(), nullable=True),
        sa.Column("error_code", sa.String(length=40), nullable=True),
        sa.Column("error_text", sa.String(length=2000), nullable=True),
        sa.Column("created_at", app.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", app.db.base.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["notice_id"],
            ["notices.id"],
            name=op.f("fk_notice_gis_items_notice_id_notices"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["operation_id"],
            ["operations.id"],
            name=op.f("fk_notice_gis_items_operation_id_operations"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_notice_gis_items_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notice_gis_items")),
    )
    op.create_index("ix_notice_gis_items_exchange", "notice_gis_items", ["exchange_id"], unique=False)
    op.create_index("ix_notice_gis_items_result", "notice_gis_items", ["result"], unique=False)
    op.create_index(op.f("ix_notice_gis_items_notice_id"), "notice_gis_items", ["notice_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_notice_gis_items_notice_id"), table_name="notice_gis_items")
    op.drop_index("ix_notice_gis_items_result", table_name="notice_gis_items")
    op.drop_index("ix_notice_gis_items_exchange", table_name="notice_gis_items")
    op.drop_table("notice_gis_items")
    op.drop_index("ix_notices_gis_status", table_name="notices")
    with op.batch_alter_table("notices") as batch:
        for column in reversed(_notice_columns()):
            batch.drop_column(column.name)
