"""accounts: houses, premises, accounts, payers, ledger

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db.base

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "houses",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("fias_house_guid", sa.Uuid(), nullable=True),
        sa.Column("hm_object_guid", sa.Uuid(), nullable=True),
        sa.Column("address", sa.String(length=1000), nullable=True),
        sa.Column("region", sa.String(length=2), nullable=True),
        sa.Column("created_at", app.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_houses")),
        sa.UniqueConstraint("fias_house_guid", name=op.f("uq_houses_fias_house_guid")),
    )
    with op.batch_alter_table("houses", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_houses_hm_object_guid"), ["hm_object_guid"], unique=False)

    op.create_table(
        "accounts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("account_number", sa.String(length=30), nullable=False),
        sa.Column("els", sa.String(length=10), nullable=True),
        sa.Column("zhku_id", sa.String(length=13), nullable=True),
        sa.Column("gis_account_guid", sa.Uuid(), nullable=True),
        sa.Column("opened_on", sa.Date(), nullable=True),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("closed", sa.Boolean(), nullable=False),
        sa.Column("dispute", sa.Boolean(), nullable=False),
        sa.Column("bankruptcy", sa.Boolean(), nullable=False),
        sa.Column("payer_kind", sa.String(length=20), nullable=False),
        sa.Column("last_name", sa.String(length=100), nullable=True),
        sa.Column("first_name", sa.String(length=100), nullable=True),
        sa.Column("middle_name", sa.String(length=100), nullable=True),
        sa.Column("payer_name_key", sa.String(length=201), nullable=True),
        sa.Column("payer_middle_key", sa.String(length=100), nullable=True),
        sa.Column("birth_date", sa.Date(), nullable=True),
        sa.Column("birth_place", sa.String(length=500), nullable=True),
        sa.Column("snils", sa.String(length=11), nullable=True),
        sa.Column("id_doc_type", sa.String(length=20), nullable=True),
        sa.Column("id_doc_series", sa.String(length=20), nullable=True),
        sa.Column("id_doc_number", sa.String(length=40), nullable=True),
        sa.Column("inn", sa.String(length=12), nullable=True),
        sa.Column("org_name", sa.String(length=500), nullable=True),
        sa.Column("org_ogrn", sa.String(length=15), nullable=True),
        sa.Column("created_at", app.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_accounts_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
        sa.UniqueConstraint(
            "organisation_id", "account_number", name=op.f("uq_accounts_organisation_id_account_number")
        ),
    )
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.create_index("ix_accounts_account_number", ["account_number"], unique=False)
        batch_op.create_index(batch_op.f("ix_accounts_els"), ["els"], unique=False)
        batch_op.create_index(batch_op.f("ix_accounts_gis_account_guid"), ["gis_account_guid"], unique=False)
        batch_op.create_index("ix_accounts_payer_name", ["payer_name_key", "birth_date"], unique=False)
        batch_op.create_index(batch_op.f("ix_accounts_snils"), ["snils"], unique=False)
        batch_op.create_index(batch_op.f("ix_accounts_zhku_id"), ["zhku_id"], unique=False)

    op.create_table(
        "premises",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("house_id", sa.Uuid(), nullable=False),
        sa.Column("number_raw", sa.String(length=100), nullable=False),
        sa.Column("number_norm", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("residential", sa.Boolean(), nullable=False),
        sa.Column("cadastral_number", sa.String(length=40), nullable=True),
        sa.Column("gis_premises_guid", sa.Uuid(), nullable=True),
        sa.Column("created_at", app.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["house_id"], ["houses.id"], name=op.f("fk_premises_house_id_houses"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_premises")),
        sa.UniqueConstraint("house_id", "number_norm", name=op.f("uq_premises_house_id_number_norm")),
    )
    with op.batch_alter_table("premises", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_premises_gis_premises_guid"), ["gis_premises_guid"], unique=False
        )

    op.create_table(
        "account_premises",
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("premises_id", sa.Uuid(), nullable=False),
        sa.Column("share_percent", sa.Numeric(precision=5, scale=2), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_account_premises_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["premises_id"],
            ["premises.id"],
            name=op.f("fk_account_premises_premises_id_premises"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", "premises_id", name=op.f("pk_account_premises")),
    )
    with op.batch_alter_table("account_premises", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_account_premises_premises_id"), ["premises_id"], unique=False)

    op.create_table(
        "ledger_entries",
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("period", sa.Date(), nullable=False),
        sa.Column("charged", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("paid", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_ledger_entries_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", "period", name=op.f("pk_ledger_entries")),
    )


def downgrade() -> None:
    op.drop_table("ledger_entries")
    with op.batch_alter_table("account_premises", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_account_premises_premises_id"))

    op.drop_table("account_premises")
    with op.batch_alter_table("premises", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_premises_gis_premises_guid"))

    op.drop_table("premises")
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_accounts_zhku_id"))
        batch_op.drop_index(batch_op.f("ix_accounts_snils"))
        batch_op.drop_index("ix_accounts_payer_name")
        batch_op.drop_index(batch_op.f("ix_accounts_gis_account_guid"))
        batch_op.drop_index(batch_op.f("ix_accounts_els"))
        batch_op.drop_index("ix_accounts_account_number")

    op.drop_table("accounts")
    with op.batch_alter_table("houses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_houses_hm_object_guid"))

    op.drop_table("houses")
