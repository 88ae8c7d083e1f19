"""nsi_elements: classifier elements (NSI 95, NSI 358) loaded from GIS instead of sample settings

Revision ID: 0017_nsi_elements
Revises: 0016_houses
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db.base

revision: str = "0017_nsi_elements"
down_revision: str | None = "0016_houses"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the classifier table."""
    op.create_table(
        "nsi_elements",
        sa.Column("registry_number", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("guid", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=1000), nullable=True),
        sa.Column("is_actual", sa.Boolean(), nullable=False),
        sa.Column("loaded_at", app.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("registry_number", "code", name=op.f("pk_nsi_elements")),
    )


def downgrade() -> None:
    """Drop the classifier table."""
    op.drop_table("nsi_elements")
