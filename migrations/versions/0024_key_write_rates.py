"""key_write_rates: the per-key write-rate token bucket, shared by the gateway replicas

Revision ID: 0024_key_write_rates
Revises: 0023_house_subscribers
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024_key_write_rates"
down_revision: str | None = "0023_house_subscribers"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the token bucket table."""
    op.create_table(
        "key_write_rates",
        sa.Column("key_id", sa.Uuid(), nullable=False),
        sa.Column("tokens", sa.Double(), nullable=False),
        sa.Column("updated_at", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(
            ["key_id"],
            ["api_keys.id"],
            name=op.f("fk_key_write_rates_key_id_api_keys"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("key_id", name=op.f("pk_key_write_rates")),
    )


def downgrade() -> None:
    """Drop the token bucket table."""
    op.drop_table("key_write_rates")
