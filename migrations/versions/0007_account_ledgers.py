"""account_ledgers: an account's ledger months in one row (compact JSON text) instead of ledger_entries

One row per account-month made the bulk import COPY 12 rows per account with their primary-key entries, the
largest part of its database time (35 of 90 µs of statement time an account on a 100k import); one text
value per account costs 8 µs. The format and why text: `app.domain.accounts.ledger`. Like ledger_entries since
0006, the table has no foreign key to accounts; the delete trigger of 0006 now deletes from it.

The existing months move over in the stored form: `[["2025-01-01","1234.50","1000.00","2025-02-10"],…]`,
sorted by period, amounts with two decimals; the downgrade moves them back.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The JSON text is assembled by hand, not with json_agg / json_group_array: those put a space after each comma
# (PostgreSQL) and cannot order their input (SQLite before 3.44), and the import writes the compact form,
# which its re-import merge compares textually (a different spelling would only cost one rewrite).
_PG_MOVE = """
INSERT INTO account_ledgers (account_id, months)
SELECT account_id,
       '[' || string_agg(
           '["' || period::text || '","' || charged::text || '","' || paid::text || '","' || due_date::text
           || '"]', ',' ORDER BY period) || ']'
FROM ledger_entries GROUP BY account_id
"""
# SQLite keeps numeric(14,2) values as integers or floats: printf gives them their two decimals back (+ 0.0
# turns a stored -0.0 into 0.0). A window aggregate is the way to order group_concat before SQLite 3.44.
_SQLITE_MOVE = """
INSERT INTO account_ledgers (account_id, months)
SELECT DISTINCT account_id,
       '[' || group_concat(month, ',') OVER (
           PARTITION BY account_id ORDER BY period ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
       ) || ']'
FROM (
    SELECT account_id, period,
           '["' || period || '","' || printf('%.2f', charged + 0.0) || '","' || printf('%.2f', paid + 0.0)
           || '","' || due_date || '"]' AS month
    FROM ledger_entries
)
"""
_PG_MOVE_BACK = """
INSERT INTO ledger_entries (account_id, period, charged, paid, due_date)
SELECT l.account_id, (m->>0)::date, (m->>1)::numeric, (m->>2)::numeric, (m->>3)::date
FROM account_ledgers l CROSS JOIN LATERAL json_array_elements(l.months::json) AS m
"""
_SQLITE_MOVE_BACK = """
INSERT INTO ledger_entries (account_id, period, charged, paid, due_date)
SELECT l.account_id, json_extract(m.value, '$[0]'), json_extract(m.value, '$[1]'),
       json_extract(m.value, '$[2]'), json_extract(m.value, '$[3]')
FROM account_ledgers l, json_each(l.months) AS m
"""

_PG_FUNCTION = """
CREATE OR REPLACE FUNCTION accounts_delete_ledger() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM {table} l USING gone g WHERE l.account_id = g.id;
    RETURN NULL;
END $$
"""
_SQLITE_TRIGGER = (
    "CREATE TRIGGER trg_accounts_delete_ledger AFTER DELETE ON accounts FOR EACH ROW "
    "BEGIN DELETE FROM {table} WHERE account_id = OLD.id; END"
)


def _retarget_trigger(table: str) -> None:
    """Point the delete trigger of migration 0006 (statement-level on PostgreSQL) at `table`."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_FUNCTION.format(table=table))
    else:
        op.execute("DROP TRIGGER trg_accounts_delete_ledger")
        op.execute(_SQLITE_TRIGGER.format(table=table))


def upgrade() -> None:
    op.create_table(
        "account_ledgers",
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("months", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_account_ledgers")),
    )
    postgresql = op.get_bind().dialect.name == "postgresql"
    op.execute(_PG_MOVE if postgresql else _SQLITE_MOVE)
    _retarget_trigger("account_ledgers")
    op.drop_table("ledger_entries")


def downgrade() -> None:
    # ledger_entries as 0006 left it: no foreign key to accounts.
    op.create_table(
        "ledger_entries",
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("period", sa.Date(), nullable=False),
        sa.Column("charged", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("paid", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("account_id", "period", name=op.f("pk_ledger_entries")),
    )
    postgresql = op.get_bind().dialect.name == "postgresql"
    op.execute(_PG_MOVE_BACK if postgresql else _SQLITE_MOVE_BACK)
    _retarget_trigger("ledger_entries")
    op.drop_table("account_ledgers")
