"""Models and migrations agree, and every migration can be undone."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection

import app.db.models  # noqa: F401
from app.db.base import Base
from app.db.engine import create_engine
from app.db.migrate import downgrade, upgrade
from tests.conftest import new_database


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
