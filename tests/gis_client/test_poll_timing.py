"""The first getState follows how fast GIS answered, within the official bounds (unit and over HTTP)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.engine import create_engine, create_sessionmaker
from app.db.models.exchange import ACKED, DONE, Exchange
from app.gis_client.exchange_rows import submit
from app.gis_client.poll_timing import FirstPoll
from tests.gis_client.exchange_support import export_payload, make_engine, new_org
from tests.gis_client.scripted_gis import ScriptedGis

Sessionmaker = async_sessionmaker[AsyncSession]
OFFICIAL = [10.0, 60.0, 300.0, 900.0, 1800.0]


def test_starts_at_the_official_minimum_and_rises_when_gis_was_slow() -> None:
    first = FirstPoll(OFFICIAL)
    assert first.delay("exportHouseData") == 10.0
    first.observe("exportHouseData", polls_before=1, elapsed=70.0)  # missed at 10 s, found at 70 s
    assert first.delay("exportHouseData") == 60.0  # never later than the second official poll
    assert first.delay("exportAccountData") == 10.0  # per operation
    first.observe("exportHouseData", polls_before=0, elapsed=60.0)  # ready at the first poll: probe lower
    assert first.delay("exportHouseData") == 45.0
    first.observe("exportHouseData", polls_before=1, elapsed=50.0)
    assert first.delay("exportHouseData") == 50.0


def test_a_single_interval_schedule_never_moves() -> None:
    first = FirstPoll([0.02])
    first.observe("x", polls_before=3, elapsed=5.0)
    assert first.delay("x") == 0.02


@given(
    st.lists(
        st.tuples(st.integers(min_value=0, max_value=5), st.floats(min_value=0, max_value=1e6)), max_size=50
    )
)
def test_the_delay_always_stays_within_the_official_bounds(events: list[tuple[int, float]]) -> None:
    first = FirstPoll(OFFICIAL)
    for polls_before, elapsed in events:
        first.observe("op", polls_before=polls_before, elapsed=elapsed)
        assert 10.0 <= first.delay("op") <= 60.0


@pytest.fixture
async def db(fresh_database_url: str) -> AsyncIterator[tuple[str, Sessionmaker]]:
    engine = create_engine(fresh_database_url)
    try:
        yield fresh_database_url, create_sessionmaker(engine)
    finally:
        await engine.dispose()


@pytest.fixture
async def gis() -> AsyncIterator[ScriptedGis]:
    async with ScriptedGis() as server:
        yield server


async def test_engine_schedules_the_next_first_poll_from_the_last_answer(
    db: tuple[str, Sessionmaker], gis: ScriptedGis
) -> None:
    url, sm = db
    engine = make_engine(url, gis.url, gis_poll_schedule=[0.01, 0.3, 0.01])
    org_id = await new_org(sm)
    operation = "exportDebtSubrequests"
    # The scripted GIS is not ready twice (RequestState 1, 2, then 3): found after the second interval.
    await engine.run(sm, organisation_id=org_id, operation=operation, payload=export_payload(), timeout=10)
    assert engine.first_poll.delay(operation) == pytest.approx(0.3)

    gis.states = (3,)
    async with sm() as session, session.begin():
        row = await submit(session, organisation_id=org_id, operation=operation, payload=export_payload())
    assert await engine.claim(sm, only=row.id)
    await engine.step(sm, row.id)  # send: acked, first getState scheduled
    async with sm() as session:
        acked = await session.get(Exchange, row.id)
        assert acked is not None and acked.status == ACKED
        assert acked.next_at is not None and acked.acked_at is not None
        assert (acked.next_at - acked.acked_at).total_seconds() == pytest.approx(0.3, abs=0.005)
    outcome = await engine.wait(sm, row.id, timeout=10)
    assert outcome.status == DONE
    assert [r.operation for r in gis.requests].count("getState") == 3 + 1  # ready at its first poll
    assert engine.first_poll.delay(operation) == pytest.approx(0.225)  # and the estimate probes lower
    await engine.transport.aclose()
