"""monitoring_effect: the effect of the month's measures stored with each monitoring snapshot

Revision ID: 0021_monitoring_effect
Revises: 0020_notices_gis
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021_monitoring_effect"
down_revision: str | None = "0020_notices_gis"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the effect column (none on snapshots computed before; a re-computation fills it)."""
    with op.batch_alter_table("monitoring_snapshots") as batch:
        batch.add_column(sa.Column("effect", sa.JSON(), nullable=True))


def downgrade() -> None:
    """Drop the effect column."""
    with op.batch_alter_table("monitoring_snapshots") as batch:
        batch.drop_column("effect")
