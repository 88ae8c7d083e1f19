"""account_contacts: accounts' phone and e-mail; notice runs as resumable operations with contact lists

Revision ID: 0025_account_contacts
Revises: 0024_key_write_rates
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025_account_contacts"
down_revision: str | None = "0024_key_write_rates"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the contact columns (personal data) and the notice run's state, cursor, templates and counts."""
    # Plain ALTERs, no batch: a batch rebuild of accounts on SQLite would drop its triggers.
    op.add_column("accounts", sa.Column("phone", sa.String(length=16), nullable=True))
    op.add_column("accounts", sa.Column("email", sa.String(length=254), nullable=True))
    with op.batch_alter_table("notice_runs") as batch:
        # Runs made before this migration were computed in their request: done.
        batch.add_column(sa.Column("status", sa.String(length=20), server_default="done", nullable=False))
        batch.add_column(sa.Column("operation_id", sa.Uuid(), nullable=True))
        batch.add_column(sa.Column("cursor", sa.String(length=30), nullable=True))
        batch.add_column(sa.Column("templates", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("contacts", sa.JSON(), nullable=True))


def downgrade() -> None:
    """Drop the columns."""
    with op.batch_alter_table("notice_runs") as batch:
        for name in ("contacts", "templates", "cursor", "operation_id", "status"):
            batch.drop_column(name)
    # SQLite ≥ 3.35 drops a column in place (no rebuild, so the triggers on accounts stay).
    op.drop_column("accounts", "email")
    op.drop_column("accounts", "phone")
