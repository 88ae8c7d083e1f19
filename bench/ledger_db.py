"""What the ledger benchmarks share: the `--pg` switch and a fresh, migrated database to seed.

Without `--pg` the database is a SQLite file in a new temporary folder; with it, a new database on the server
named by `GISGW_TEST_DATABASE_URL` (run under `scripts/with-postgres.sh`).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
from pathlib import Path

from app.db.migrate import upgrade


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
