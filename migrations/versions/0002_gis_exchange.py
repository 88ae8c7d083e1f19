"""gis exchange: exchanges and the XML journal

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db.base

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "gis_exchanges",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("service", sa.String(length=40), nullable=False),
        sa.Column("operation", sa.String(length=60), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("ref_kind", sa.String(length=40), nullable=True),
        sa.Column("ref_id", sa.String(length=200), nullable=True),
        sa.Column("idempotency_key", sa.String(length=200), nullable=True),
        sa.Column("requester_message_guid", sa.Uuid(), nullable=True),
        sa.Column("gis_message_guid", sa.Uuid(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("poll_count", sa.Integer(), nullable=False),
        sa.Column("next_at", app.db.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("lease_until", app.db.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("locked_by", sa.String(length=100), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("error_code", sa.String(length=40), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("first_sent_at", app.db.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("acked_at", app.db.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", app.db.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("created_at", app.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_gis_exchanges_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gis_exchanges")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_gis_exchanges_idempotency_key")),
    )
    with op.batch_alter_table("gis_exchanges", schema=None) as batch_op:
        batch_op.create_index("ix_gis_exchanges_org_created", ["organisation_id", "created_at"], unique=False)
        batch_op.create_index("ix_gis_exchanges_ref", ["ref_kind", "ref_id"], unique=False)
        batch_op.create_index("ix_gis_exchanges_status_next_at", ["status", "next_at"], unique=False)

    op.create_table(
        "gis_journal",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("exchange_id", sa.Uuid(), nullable=True),
        sa.Column("direction", sa.String(length=3), nullable=False),
        sa.Column("operation", sa.String(length=60), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=True),
        sa.Column("message_guid", sa.String(length=40), nullable=True),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=True),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("xml", sa.Text(), nullable=True),
        sa.Column("truncated", sa.Boolean(), nullable=False),
        sa.Column("error", sa.String(length=200), nullable=True),
        sa.Column("at", app.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["exchange_id"],
            ["gis_exchanges.id"],
            name=op.f("fk_gis_journal_exchange_id_gis_exchanges"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gis_journal")),
    )
    with op.batch_alter_table("gis_journal", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_gis_journal_at"), ["at"], unique=False)
        batch_op.create_index("ix_gis_journal_exchange_id", ["exchange_id", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("gis_journal", schema=None) as batch_op:
        batch_op.drop_index("ix_gis_journal_exchange_id")
        batch_op.drop_index(batch_op.f("ix_gis_journal_at"))
    op.drop_table("gis_journal")
    with op.batch_alter_table("gis_exchanges", schema=None) as batch_op:
        batch_op.drop_index("ix_gis_exchanges_status_next_at")
        batch_op.drop_index("ix_gis_exchanges_ref")
        batch_op.drop_index("ix_gis_exchanges_org_created")
    op.drop_table("gis_exchanges")
