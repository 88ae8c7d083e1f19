"""What the ledger benchmarks share: the `--pg` switch, a fresh migrated database, and seeding helpers.

Without `--pg` the database is a SQLite file in a new temporary folder; with it, a new database on the server
named by `GISGW_TEST_DATABASE_URL` (run under `scripts/with-postgres.sh`).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db.migrate import upgrade
from app.db.models.accounts import Account, AccountLedger, AccountPremises, House, Premises


def add_pg_argument(parser: argparse.ArgumentParser) -> None:
    """The `--pg` switch every ledger benchmark takes."""
    parser.add_argument("--pg", action="store_true", help="use GISGW_TEST_DATABASE_URL (with-postgres.sh)")


async def fresh_database(pg: bool, name: str, folder: Path | None = None) -> str:
    """A new database migrated to head; `name` names the SQLite file (in `folder`, or a new temporary one)."""
    if pg:
        from tests.conftest import _create_pg_database

        url = await _create_pg_database(os.environ["GISGW_TEST_DATABASE_URL"])
    else:
        url = f"sqlite+aiosqlite:///{(folder or Path(tempfile.mkdtemp())) / f'{name}.db'}"
    await asyncio.to_thread(upgrade, url)
    return url


def months_before(on: date, n: int) -> list[date]:
    """The first days of the `n` months before `on`'s month, newest first."""
    out, y, m = [], on.year, on.month
    for _ in range(n):
        m -= 1
        if m == 0:
            y, m = y - 1, 12
        out.append(date(y, m, 1))
    return out


async def insert_ledger_rows(
    engine: AsyncEngine,
    houses: list[dict[str, Any]],
    flats: list[dict[str, Any]],
    accounts: list[dict[str, Any]],
    links: list[dict[str, Any]],
    ledger: list[dict[str, Any]],
) -> None:
    """One seeding chunk in one transaction: houses, premises, accounts, their links and their ledgers."""
    async with engine.begin() as conn:
        await conn.execute(insert(House), houses)
        await conn.execute(insert(Premises), flats)
        await conn.execute(insert(Account), accounts)
        await conn.execute(insert(AccountPremises), links)
        await conn.execute(insert(AccountLedger), ledger)
