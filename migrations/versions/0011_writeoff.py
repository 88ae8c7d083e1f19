"""write-off: impossibilities of collection, acts and their lines

Revision ID: 0011_writeoff
Revises: 0010_agreements
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db.base

revision: str = "0011_writeoff"
down_revision: str | None = "0010_agreements"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MONEY = sa.Numeric(precision=14, scale=2)


def _stamps() -> list[sa.Column[object]]:
    return [
        sa.Column("created_at", app.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.db.base.UtcDateTime(timezone=True), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "collection_impossibilities",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("ground", sa.String(length=30), nullable=False),
        sa.Column("act_date", sa.Date(), nullable=False),
        sa.Column("document", sa.String(length=255), nullable=True),
        *_stamps(),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_collection_impossibilities_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_collection_impossibilities_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_collection_impossibilities")),
    )
    op.create_index(
        op.f("ix_collection_impossibilities_account_id"), "collection_impossibilities", ["account_id"]
    )
    op.create_table(
        "write_off_acts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("on_date", sa.Date(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("principal", MONEY, nullable=False),
        sa.Column("penalties", MONEY, nullable=False),
        sa.Column("duty", MONEY, nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("approved_by", sa.String(length=200), nullable=True),
        sa.Column("approved_at", app.db.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("posted_by", sa.String(length=200), nullable=True),
        sa.Column("posted_at", app.db.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("cancelled_by", sa.String(length=200), nullable=True),
        *_stamps(),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_write_off_acts_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_write_off_acts")),
    )
    op.create_table(
        "write_off_lines",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("act_id", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("period", sa.Date(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("ground", sa.String(length=30), nullable=False),
        sa.Column("principal", MONEY, nullable=False),
        sa.Column("penalties", MONEY, nullable=False),
        sa.Column("duty", MONEY, nullable=False),
        sa.ForeignKeyConstraint(
            ["act_id"],
            ["write_off_acts.id"],
            name=op.f("fk_write_off_lines_act_id_write_off_acts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_write_off_lines")),
    )
    op.create_index(op.f("ix_write_off_lines_act_id"), "write_off_lines", ["act_id"])
    op.create_index("ix_write_off_lines_account_id_period", "write_off_lines", ["account_id", "period"])


def downgrade() -> None:
    op.drop_index("ix_write_off_lines_account_id_period", table_name="write_off_lines")
    op.drop_index(op.f("ix_write_off_lines_act_id"), table_name="write_off_lines")
    op.drop_table("write_off_lines")
    op.drop_table("write_off_acts")
    op.drop_index(op.f("ix_collection_impossibilities_account_id"), table_name="collection_impossibilities")
    op.drop_table("collection_impossibilities")
