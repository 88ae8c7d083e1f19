"""Fixtures shared by the domain tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.engine import create_engine, create_sessionmaker


@pytest.fixture
async def db(fresh_database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """A session factory on a fresh, migrated database (tests that commit)."""
    engine = create_engine(fresh_database_url)
    yield create_sessionmaker(engine)
    await engine.dispose()
