"""Models and migrations agree, and every migration can be undone."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection

import app.db.models  # noqa: F401
from app.db.base import Base, UtcDateTime, utcnow
from app.db.engine import create_engine, create_sessionmaker
from app.db.migrate import downgrade, upgrade
from app.db.models.accounts import Account, AccountLedger
from tests.conftest import new_database
from tests.factories import make_org


def _diff(connection: Connection) -> list[object]:
    ctx = MigrationContext.configure(connection, opts={"compare_type": True, "render_as_batch": True})
    return list(compare_metadata(ctx, Base.metadata))


async def test_models_match_migrations(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            diff = await conn.run_sync(_diff)
    finally:
        await engine.dispose()
    assert diff == [], f"models and migrations disagree; write a migration: {diff}"


async def test_downgrade_to_base_and_upgrade_again(tmp_path: Path) -> None:
    url = await new_database(tmp_path)
    await asyncio.to_thread(downgrade, url, "base")
    await asyncio.to_thread(upgrade, url, "head")
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            assert await conn.run_sync(_diff) == []
    finally:
        await engine.dispose()


# ledger_entries as migration 0006 left it (the model is gone since 0007).
_LEDGER_ENTRIES = sa.table(
    "ledger_entries",
    sa.column("account_id", sa.Uuid()),
    sa.column("period", sa.Date()),
    sa.column("charged", sa.Numeric(14, 2)),
    sa.column("paid", sa.Numeric(14, 2)),
    sa.column("due_date", sa.Date()),
)

# The accounts columns of revision 0006: the model has columns added by later revisions.
_ACCOUNTS_0006 = sa.table(
    "accounts",
    sa.column("id", sa.Uuid()),
    sa.column("organisation_id", sa.Uuid()),
    *(sa.column(c) for c in ("account_number", "payer_kind", "closed", "dispute", "bankruptcy")),
    sa.column("created_at", UtcDateTime()),
    sa.column("updated_at", UtcDateTime()),
)


async def test_account_ledgers_migration_moves_the_months_and_back(tmp_path: Path) -> None:
    url = await new_database(tmp_path, migrate=False)
    await asyncio.to_thread(upgrade, url, "0006")
    first, second = uuid.uuid4(), uuid.uuid4()
    months = [  # inserted out of order, amounts as billing sends them
        (first, date(2025, 3, 1), Decimal("1234.5"), Decimal("0"), date(2025, 4, 10)),
        (first, date(2025, 1, 1), Decimal("-10"), Decimal("0"), date(2025, 2, 10)),
        (first, date(2025, 2, 1), Decimal("100"), Decimal("100.25"), date(2025, 3, 20)),
        (second, date(2024, 12, 1), Decimal("999999999999.99"), Decimal("-0"), date(2025, 1, 10)),
    ]
    engine = create_engine(url)
    try:
        async with create_sessionmaker(engine)() as s, s.begin():
            org = await make_org(s)
            now = utcnow()
            for account_id in (first, second):
                values = {"id": account_id, "organisation_id": org.id, "account_number": str(account_id)[:8]}
                flags = {"payer_kind": "person", "closed": False, "dispute": False, "bankruptcy": False}
                stamps = {"created_at": now, "updated_at": now}
                await s.execute(sa.insert(_ACCOUNTS_0006).values(**values, **flags, **stamps))
            cols = ("account_id", "period", "charged", "paid", "due_date")
            await s.execute(sa.insert(_LEDGER_ENTRIES), [dict(zip(cols, m, strict=True)) for m in months])
        await asyncio.to_thread(upgrade, url, "head")
        async with engine.connect() as conn:
            stored = dict(
                (await conn.execute(sa.select(AccountLedger.account_id, AccountLedger.months))).all()
            )
        assert stored == {  # the form the import writes, sorted by period
            first: '[["2025-01-01","-10.00","0.00","2025-02-10"],'
            '["2025-02-01","100.00","100.25","2025-03-20"],'
            '["2025-03-01","1234.50","0.00","2025-04-10"]]',
            second: '[["2024-12-01","999999999999.99","0.00","2025-01-10"]]',
        }
        await asyncio.to_thread(downgrade, url, "0006")
        async with engine.begin() as conn:
            back = (await conn.execute(sa.select(_LEDGER_ENTRIES))).all()
            assert sorted(back) == sorted(months)
            # the delete trigger points at ledger_entries again
            await conn.execute(sa.delete(Account.__table__).where(Account.id == second))
            left = (await conn.execute(sa.select(_LEDGER_ENTRIES.c.account_id).distinct())).scalars().all()
            assert left == [first]
    finally:
        await engine.dispose()
