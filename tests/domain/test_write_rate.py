"""The write-rate token bucket lives in the database: replicas on one database share a budget (issue #19)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.engine import create_engine, create_sessionmaker
from app.db.models.core import ApiKey
from app.domain.kernel.access import forget_authenticated_keys
from app.domain.kernel.write_rate import WriteRate, take_write_token
from app.main import create_app
from tests.conftest import make_settings
from tests.factories import bearer, make_org, make_token

RATE = WriteRate(per_minute=60, burst=3)  # one token a second, three at once
T0 = 1_800_000_000.0


async def _key(db: async_sessionmaker[AsyncSession]) -> uuid.UUID:
    async with db() as session:
        await make_token(session, all_orgs=True)
        key_id = (await session.scalars(select(ApiKey.id))).one()
        await session.commit()
    return key_id


async def _take(db: async_sessionmaker[AsyncSession], key_id: uuid.UUID, now: float) -> float:
    async with db() as session:
        wait = await take_write_token(session=session, key_id=key_id, rate=RATE, now=now)
        await session.commit()
    return wait


async def test_take_write_token_spends_the_burst_then_refuses(db: async_sessionmaker[AsyncSession]) -> None:
    key_id = await _key(db)
    waits = [await _take(db, key_id, T0) for _ in range(4)]
    assert waits[:3] == [0.0, 0.0, 0.0]
    assert waits[3] == pytest.approx(1.0)


async def test_take_write_token_refills_over_time(db: async_sessionmaker[AsyncSession]) -> None:
    key_id = await _key(db)
    for _ in range(3):
        assert await _take(db, key_id, T0) == 0.0
    assert await _take(db, key_id, T0 + 0.5) == pytest.approx(0.5)
    # A refusal spends nothing: one second after the last grant one token is back, and only one.
    assert await _take(db, key_id, T0 + 1.0) == 0.0
    assert await _take(db, key_id, T0 + 1.0) > 0
    # Refill stops at the burst, however long the key was idle.
    assert [await _take(db, key_id, T0 + 3600) for _ in range(4)][-1] > 0


async def test_take_write_token_on_a_slow_clock_refills_nothing(db: async_sessionmaker[AsyncSession]) -> None:
    key_id = await _key(db)
    for _ in range(3):
        assert await _take(db, key_id, T0) == 0.0
    # A replica whose clock is 10 s behind neither gains tokens nor moves the refill back.
    assert await _take(db, key_id, T0 - 10) > 0
    assert await _take(db, key_id, T0 + 1.0) == 0.0


async def test_take_write_token_with_no_rate_is_free(db: async_sessionmaker[AsyncSession]) -> None:
    key_id = await _key(db)
    async with db() as session:
        off = WriteRate(per_minute=0, burst=1)
        waits = [await take_write_token(session=session, key_id=key_id, rate=off) for _ in range(5)]
    assert waits == [0.0] * 5


async def test_two_engines_share_one_budget(fresh_database_url: str) -> None:
    engines = [create_engine(fresh_database_url) for _ in range(2)]
    try:
        first, second = (create_sessionmaker(engine) for engine in engines)
        key_id = await _key(first)
        # Concurrently from both "replicas", at one instant: exactly the burst is granted, not twice it.
        waits = await asyncio.gather(*(_take(db, key_id, T0) for db in (first, second) for _ in range(5)))
        assert sorted(waits)[:3] == [0.0, 0.0, 0.0]
        assert all(wait > 0 for wait in sorted(waits)[3:])
    finally:
        for engine in engines:
            await engine.dispose()


@pytest.fixture
async def two_replicas(fresh_database_url: str) -> AsyncIterator[tuple[httpx.AsyncClient, ...]]:
    """Two gateway apps, each with its own engine, on one database (as two replicas would be)."""
    settings = make_settings(fresh_database_url, write_rate_per_minute=6, write_burst=3)
    async with (
        LifespanManager(create_app(settings)) as one,
        LifespanManager(create_app(settings)) as two,
    ):
        clients = [
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=manager.app, raise_app_exceptions=False),
                base_url="http://gisgw.test",
            )
            for manager in (one, two)
        ]
        async with clients[0], clients[1]:
            yield tuple(clients)
    forget_authenticated_keys()


async def test_two_replicas_together_grant_the_rate_once(
    fresh_database_url: str, two_replicas: tuple[httpx.AsyncClient, ...]
) -> None:
    engine = create_engine(fresh_database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            org = await make_org(session)
            token = await make_token(session, all_orgs=True)
            await session.commit()
    finally:
        await engine.dispose()
    url = f"/api/v1/organisations/{org.id}"
    statuses = [
        (await client.patch(url, json={"address": f"д. {n}"}, headers=bearer(token))).status_code
        for n in range(4)
        for client in two_replicas
    ]
    # In process memory each replica granted its own burst of 3 (six 200s); one shared bucket grants 3.
    assert statuses.count(200) == 3, statuses
    assert statuses.count(429) == 5, statuses
    refused = await two_replicas[1].patch(url, json={"address": "x"}, headers=bearer(token))
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/problem+json"
    assert int(refused.headers["retry-after"]) >= 1
