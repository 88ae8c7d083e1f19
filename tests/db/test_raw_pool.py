"""The raw asyncpg pool of the search fast path: bounded, fair to waiters, drops broken connections."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from sqlalchemy import bindparam, select

from app.db.engine import create_engine, create_sessionmaker
from app.db.models.core import Organisation
from app.db.raw_pool import RawPool, open_raw_pool
from app.db.rows import fetch_rows
from tests.factories import make_org

_STMT = select(Organisation.id, Organisation.inn).where(
    Organisation.id == bindparam("org", type_=Organisation.id.type)
)


async def test_open_raw_pool_only_on_postgresql(fresh_database_url: str) -> None:
    engine = create_engine(fresh_database_url)
    try:
        pool = await open_raw_pool(engine, size=2)
        assert (pool is not None) == (engine.dialect.name == "postgresql")
        assert await open_raw_pool(engine, size=0) is None
        if pool is not None:
            await pool.close()
    finally:
        await engine.dispose()


@pytest.fixture
async def pool(fresh_database_url: str) -> RawPool:
    engine = create_engine(fresh_database_url)
    if engine.dialect.name != "postgresql":
        await engine.dispose()
        pytest.skip("the raw pool is PostgreSQL's")
    pool = await open_raw_pool(engine, size=2)
    await engine.dispose()
    assert pool is not None
    return pool


async def test_pool_reads_bounded_and_serves_waiters(pool: RawPool, fresh_database_url: str) -> None:
    engine = create_engine(fresh_database_url)
    async with create_sessionmaker(engine)() as session, session.begin():
        org = await make_org(session)
    await engine.dispose()
    busy = 0
    most = 0

    async def read() -> str:
        nonlocal busy, most
        async with pool.acquire() as reader:
            busy += 1
            most = max(most, busy)
            rows = await fetch_rows(reader, _STMT, {"org": org.id}, autocommit=True)
            await asyncio.sleep(0.01)
            busy -= 1
            return str(rows[0].inn)

    assert await asyncio.gather(*(read() for _ in range(12))) == [org.inn] * 12
    assert most == 2 and pool._open == 2 and len(pool._idle) == 2
    await pool.close()
    with pytest.raises(asyncpg.InterfaceError):
        await read()


async def test_pool_drops_broken_and_cancelled_connections(pool: RawPool) -> None:
    # A database error leaves the connection usable: it goes back to the pool.
    with pytest.raises(asyncpg.PostgresError):
        async with pool.acquire() as reader:
            await reader.driver.fetch("SELECT 1/0")
    assert pool._open == 1 and len(pool._idle) == 1
    # A connection closed under us is not reused.
    with pytest.raises(asyncpg.InterfaceError):
        async with pool.acquire() as reader:
            reader.driver.terminate()
            await reader.driver.fetch("SELECT 1")
    assert pool._open == 0 and not pool._idle
    # A read cancelled in the middle of its query: the connection is terminated, the slot freed.
    async with pool.acquire() as first:
        slow = asyncio.create_task(_slow(pool))
        waiting = asyncio.create_task(_value(pool))
        await asyncio.sleep(0.2)
        assert pool._open == 2 and len(pool._waiters) == 1
        slow.cancel()
        with pytest.raises(asyncio.CancelledError):
            await slow
        assert await waiting == 1  # the waiter got the freed slot
        assert await first.driver.fetchval("SELECT 2") == 2
    assert pool._open == 2 and not pool._waiters
    # A waiter cancelled before being served leaves no trace.
    async with pool.acquire(), pool.acquire():
        waiter = asyncio.create_task(_value(pool))
        await asyncio.sleep(0.05)
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        assert not pool._waiters
    assert pool._open == 2 and len(pool._idle) == 2
    await pool.close()
    assert pool._open == 0


async def _slow(pool: RawPool) -> None:
    async with pool.acquire() as reader:
        await reader.driver.fetch("SELECT pg_sleep(5)")


async def _value(pool: RawPool) -> int:
    async with pool.acquire() as reader:
        return int(await reader.driver.fetchval("SELECT 1"))
