"""operations.priority (deadline work first in the fair queue); organisations.fetch_resume (unfinished fetch)

A fetch that a fault storm stops keeps its pages and records where each of its windows stopped, so the next
run resumes from the failed page instead of starting over. Operations carry a priority (work for debt
requests near their 5-working-day deadline goes ahead) and are claimed round robin between organisations.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ALTER TABLE, not a batch: on SQLite a batch copies and drops the table, and dropping
    # `organisations` would cascade to every row that references it.
    op.add_column("organisations", sa.Column("fetch_resume", sa.JSON(), nullable=True))
    op.add_column("operations", sa.Column("priority", sa.Integer(), server_default="0", nullable=False))


def downgrade() -> None:
    # SQLite ≥ 3.35 drops a column in place.
    op.drop_column("operations", "priority")
    op.drop_column("organisations", "fetch_resume")
