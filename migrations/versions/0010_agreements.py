"""repayment agreements and their instalments

Revision ID: 0010_agreements
Revises: 0009
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db.base

revision: str = "0010_agreements"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MONEY = sa.Numeric(precision=14, scale=2)


def upgrade() -> None:
    op.create_table(
        "agreements",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.String(length=50), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("signed_on", sa.Date(), nullable=False),
        sa.Column("covered_through", sa.Date(), nullable=False),
        sa.Column("principal", MONEY, nullable=False),
        sa.Column("penalties", MONEY, nullable=False),
        sa.Column("penalty_mode", sa.String(length=20), nullable=False),
        sa.Column("total", MONEY, nullable=False),
        sa.Column("baseline_paid", MONEY, nullable=False),
        sa.Column("paid", MONEY, nullable=False),
        sa.Column("breached_on", sa.Date(), nullable=True),
        sa.Column("completed_on", sa.Date(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", app.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_agreements_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_agreements_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agreements")),
    )
    op.create_index(op.f("ix_agreements_account_id"), "agreements", ["account_id"], unique=False)
    op.create_index(
        "ix_agreements_organisation_id_status", "agreements", ["organisation_id", "status"], unique=False
    )
    op.create_table(
        "agreement_instalments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("agreement_id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("paid", MONEY, nullable=False),
        sa.Column("paid_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["agreement_id"],
            ["agreements.id"],
            name=op.f("fk_agreement_instalments_agreement_id_agreements"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agreement_instalments")),
        sa.UniqueConstraint(
            "agreement_id", "number", name=op.f("uq_agreement_instalments_agreement_id_number")
        ),
    )


def downgrade() -> None:
    op.drop_table("agreement_instalments")
    op.drop_index("ix_agreements_organisation_id_status", table_name="agreements")
    op.drop_index(op.f("ix_agreements_account_id"), table_name="agreements")
    op.drop_table("agreements")
