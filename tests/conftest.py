"""Shared fixtures: one migrated database per run (SQLite or PostgreSQL), per-test rollback, the app."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url

try:  # OPENSSL_CONF must be set before OpenSSL initialises.
    from app.gis_client.crypto.openssl_setup import configure_openssl
except ImportError:  # pragma: no cover
    pass
else:
    configure_openssl()

import httpx
from asgi_lifespan import LifespanManager
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.api.deps import get_session
from app.db.engine import create_engine
from app.db.migrate import upgrade
from app.main import create_app
from app.settings import REPO_ROOT, Settings
from tests.factories import settings_values

DB_BACKEND = os.environ.get("GISGW_TEST_DB", "sqlite")
SCHEMA_DIR = (REPO_ROOT / ".." / "shared" / "gis-schemas" / "16.3.0.0").resolve()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the chaos tests last: they stop and start the PostgreSQL server every other test shares."""
    items.sort(key=lambda item: item.get_closest_marker("chaos") is not None)


def pytest_report_header(config: pytest.Config) -> str:  # noqa: ARG001
    """Say which database the run uses (make test runs the suite on both)."""
    return f"gisgw test database: {DB_BACKEND}"


async def _create_pg_database(base_url: str) -> str:
    import asyncpg

    url = make_url(base_url)
    name = f"gisgw_t_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(
        user=url.username, password=url.password, host=url.host, port=url.port, database=url.database
    )
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return url.set(database=name).render_as_string(hide_password=False)


async def new_database(tmp_path: Path, *, migrate: bool = True) -> str:
    """Create an empty database on the run's backend, migrated to head; return its URL."""
    if DB_BACKEND == "postgresql":
        base = os.environ.get("GISGW_TEST_DATABASE_URL")
        if not base:
            pytest.fail(
                "GISGW_TEST_DB=postgresql needs GISGW_TEST_DATABASE_URL (scripts/with-postgres.sh sets it)"
            )
        url = await _create_pg_database(base)
    else:
        url = f"sqlite+aiosqlite:///{tmp_path / f'gisgw-{uuid.uuid4().hex[:8]}.db'}"
    if migrate:
        await asyncio.to_thread(upgrade, url)
    return url


@pytest.fixture(scope="session")
def schema_dir() -> Path:
    """The official GIS ZhKKh format package."""
    return SCHEMA_DIR


@pytest.fixture(scope="session")
async def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One migrated database for the whole run."""
    return await new_database(tmp_path_factory.mktemp("db"))


@pytest.fixture
async def fresh_database_url(tmp_path: Path) -> str:
    """A database of its own for a test that needs real commits (end-to-end, workers, restarts)."""
    return await new_database(tmp_path)


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """Engine on the run's database."""
    eng = create_engine(database_url)
    yield eng
    await eng.dispose()


@pytest.fixture
async def session(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    """A session inside an outer transaction that is rolled back after the test."""
    async with engine.connect() as conn:
        trans = await conn.begin()
        sess = AsyncSession(bind=conn, expire_on_commit=False, join_transaction_mode="create_savepoint")
        try:
            yield sess
        finally:
            await sess.close()
            await trans.rollback()


def make_settings(database_url: str, **overrides: Any) -> Settings:
    """Settings for a test app: quiet, no background workers unless asked."""
    values: dict[str, Any] = {
        "env": "test",
        "database_url": database_url,
        "schema_dir": SCHEMA_DIR,
        "log_json": False,
        "workers_enabled": False,
        "fetch_interval_seconds": 0,
        "gc_tuning": False,
    }
    values.update(overrides)
    return Settings(**settings_values(values))


@pytest.fixture
def settings_factory(database_url: str) -> Callable[..., Settings]:
    """Build test settings on the run's database."""
    return lambda **kw: make_settings(kw.pop("database_url", database_url), **kw)


@pytest.fixture
async def api(session: AsyncSession, database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """HTTP client for the app, its requests sharing the test's rolled-back session."""
    app = create_app(make_settings(database_url))

    async def _session() -> AsyncIterator[AsyncSession]:
        yield session
        await session.flush()

    app.dependency_overrides[get_session] = _session
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://gisgw.test") as client:
            yield client
