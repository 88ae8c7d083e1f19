"""account_premises without foreign keys; delete triggers on accounts and premises remove the links

The two foreign-key checks of every account ↔ premises link (each also locking the referenced row FOR KEY
SHARE) were two thirds of the bulk import's COPY of links: 22 → 7 µs an account on a 100k import
(pg_stat_statements), 19,222 → 23,558 accounts/s (median of four alternated runs each). Links are written only
by the import, in the transaction that writes and locks their account and premises, with ids derived from the
same rows; deleting an account or a premises (directly, or by the organisation's or the house's cascade)
deletes its links through the triggers below, as ON DELETE CASCADE did.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: Referenced table → the link column pointing at it.
_LINKS = {"accounts": "account_id", "premises": "premises_id"}

_PG_FUNCTION = """
CREATE FUNCTION {table}_delete_links() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM account_premises l USING gone g WHERE l.{column} = g.id;
    RETURN NULL;
END $$
"""
# Statement-level with a transition table, like the ledger's trigger of 0006: one delete per statement.
_PG_TRIGGER = (
    "CREATE TRIGGER trg_{table}_delete_links AFTER DELETE ON {table} "
    "REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION {table}_delete_links()"
)
_SQLITE_TRIGGER = (
    "CREATE TRIGGER trg_{table}_delete_links AFTER DELETE ON {table} FOR EACH ROW "
    "BEGIN DELETE FROM account_premises WHERE {column} = OLD.id; END"
)


def upgrade() -> None:
    # On SQLite the batch copies the table: create the triggers that name it only afterwards.
    with op.batch_alter_table("account_premises", schema=None) as batch_op:
        batch_op.drop_constraint("fk_account_premises_account_id_accounts", type_="foreignkey")
        batch_op.drop_constraint("fk_account_premises_premises_id_premises", type_="foreignkey")
    postgresql = op.get_bind().dialect.name == "postgresql"
    for table, column in _LINKS.items():
        if postgresql:
            op.execute(_PG_FUNCTION.format(table=table, column=column))
            op.execute(_PG_TRIGGER.format(table=table))
        else:
            op.execute(_SQLITE_TRIGGER.format(table=table, column=column))


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for table in _LINKS:
        if postgresql:
            op.execute(f"DROP TRIGGER IF EXISTS trg_{table}_delete_links ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS {table}_delete_links()")
        else:
            op.execute(f"DROP TRIGGER IF EXISTS trg_{table}_delete_links")
    # Orphans (impossible by construction, see upgrade) would make the constraints fail: remove them first.
    op.execute(
        "DELETE FROM account_premises WHERE account_id NOT IN (SELECT id FROM accounts) "
        "OR premises_id NOT IN (SELECT id FROM premises)"
    )
    with op.batch_alter_table("account_premises", schema=None) as batch_op:
        for table, column in _LINKS.items():
            batch_op.create_foreign_key(
                f"fk_account_premises_{column}_{table}", table, [column], ["id"], ondelete="CASCADE"
            )
