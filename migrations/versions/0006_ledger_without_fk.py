"""ledger_entries without the foreign key to accounts; a delete trigger on accounts removes the ledger

The per-row foreign-key check of ledger_entries.account_id (12 checks per imported account) was about 70 %
of the ledger upsert's time in the bulk import (docs/benchmarks.md "## Accounts"). Ledger rows are written
only by the import, in the same transaction as their account and with account ids derived from the same rows;
deleting an account (directly or by the organisation's cascade) deletes its ledger through the trigger below.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PG_FUNCTION = """
CREATE FUNCTION accounts_delete_ledger() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM ledger_entries l USING gone g WHERE l.account_id = g.id;
    RETURN NULL;
END $$
"""
# Statement-level with a transition table: one delete per statement, however many accounts it removed.
_PG_TRIGGER = (
    "CREATE TRIGGER trg_accounts_delete_ledger AFTER DELETE ON accounts "
    "REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION accounts_delete_ledger()"
)
_SQLITE_TRIGGER = (
    "CREATE TRIGGER trg_accounts_delete_ledger AFTER DELETE ON accounts FOR EACH ROW "
    "BEGIN DELETE FROM ledger_entries WHERE account_id = OLD.id; END"
)


def upgrade() -> None:
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.drop_constraint("fk_ledger_entries_account_id_accounts", type_="foreignkey")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_FUNCTION)
        op.execute(_PG_TRIGGER)
    else:
        op.execute(_SQLITE_TRIGGER)


def downgrade() -> None:
    op.execute(
        "DROP TRIGGER IF EXISTS trg_accounts_delete_ledger"
        + (" ON accounts" if op.get_bind().dialect.name == "postgresql" else "")
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS accounts_delete_ledger()")
    # Orphans (impossible by construction, see upgrade) would make the constraint fail: remove them first.
    op.execute("DELETE FROM ledger_entries WHERE account_id NOT IN (SELECT id FROM accounts)")
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.create_foreign_key(
            "fk_ledger_entries_account_id_accounts", "accounts", ["account_id"], ["id"], ondelete="CASCADE"
        )
