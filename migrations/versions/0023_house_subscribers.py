"""Change-feed webhook subscribers registered through the API

`house_webhook_subscriptions`: per organisation a URL and the secret its deliveries are signed with
(issue #17: billing systems subscribe through the API instead of asking the operator to edit settings).

Revision ID: 0023_house_subscribers
Revises: 0021_monitoring_effect
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db.base

revision: str = "0023_house_subscribers"
down_revision: str | None = "0021_monitoring_effect"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "house_webhook_subscriptions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("secret", sa.String(length=256), nullable=False),
        sa.Column("created_at", app.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_house_webhook_subscriptions_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_house_webhook_subscriptions")),
        sa.UniqueConstraint(
            "organisation_id", "url", name=op.f("uq_house_webhook_subscriptions_organisation_id_url")
        ),
    )


def downgrade() -> None:
    op.drop_table("house_webhook_subscriptions")
