"""penalty amnesty campaigns and their participants

Revision ID: 0012_amnesty
Revises: 0011_writeoff
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db.base

revision: str = "0012_amnesty"
down_revision: str | None = "0011_writeoff"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MONEY = sa.Numeric(precision=14, scale=2)


def upgrade() -> None:
    op.create_table(
        "amnesty_campaigns",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("pay_by", sa.Date(), nullable=False),
        sa.Column("house_ids", sa.JSON(), nullable=True),
        sa.Column("payer_kind", sa.String(length=20), nullable=True),
        sa.Column("min_principal", MONEY, nullable=False),
        sa.Column("launched_on", sa.Date(), nullable=True),
        sa.Column("finished_on", sa.Date(), nullable=True),
        sa.Column("created_at", app.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_amnesty_campaigns_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_amnesty_campaigns")),
    )
    op.create_table(
        "amnesty_participants",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("campaign_id", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("principal", MONEY, nullable=False),
        sa.Column("penalties", MONEY, nullable=False),
        sa.Column("months", sa.JSON(), nullable=False),
        sa.Column("forgiven_on", sa.Date(), nullable=True),
        sa.Column("act_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["amnesty_campaigns.id"],
            name=op.f("fk_amnesty_participants_campaign_id_amnesty_campaigns"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_amnesty_participants")),
    )
    op.create_index(op.f("ix_amnesty_participants_campaign_id"), "amnesty_participants", ["campaign_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_amnesty_participants_campaign_id"), table_name="amnesty_participants")
    op.drop_table("amnesty_participants")
    op.drop_table("amnesty_campaigns")
