"""house_sync_speed: a digest of each house snapshot, so an unchanged house is compared without its rows

Revision ID: 0029_house_sync_speed
Revises: 0025_account_contacts
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0029_house_sync_speed"
down_revision: str | None = "0025_account_contacts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add gis_houses.content_hash (null on snapshots stored before it: those are compared row by row)."""
    op.add_column("gis_houses", sa.Column("content_hash", sa.String(length=64), nullable=True))


def downgrade() -> None:
    """Drop gis_houses.content_hash."""
    with op.batch_alter_table("gis_houses") as batch:
        batch.drop_column("content_hash")
