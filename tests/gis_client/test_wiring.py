"""The app's wiring of the exchange engine: the areas' completion hooks and the audit of every exchange."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.engine import create_engine, create_sessionmaker
from app.db.models.core import AuditEvent
from app.db.models.exchange import DONE
from app.domain.debt_requests.common import REF_KIND
from app.domain.debt_requests.gateway import on_batch_finished
from app.domain.exchanges.audit import record_finished_exchange
from app.main import COMPLETION_HOOKS
from tests.gis_client.exchange_support import export_payload, make_engine, new_org
from tests.gis_client.scripted_gis import ScriptedGis

Sessionmaker = async_sessionmaker[AsyncSession]


@pytest.fixture
async def sm(fresh_database_url: str) -> AsyncIterator[tuple[str, Sessionmaker]]:
    engine = create_engine(fresh_database_url)
    try:
        yield fresh_database_url, create_sessionmaker(engine)
    finally:
        await engine.dispose()


def test_app_wires_the_debt_batch_hook() -> None:
    assert COMPLETION_HOOKS[REF_KIND] is on_batch_finished


async def test_audit_records_a_finished_exchange_in_its_transaction(sm: tuple[str, Sessionmaker]) -> None:
    url, maker = sm
    async with ScriptedGis() as gis:
        engine = make_engine(url, gis.url, hooks=COMPLETION_HOOKS, audit=record_finished_exchange)
        try:
            org_id = await new_org(maker)
            outcome = await engine.run(
                maker, organisation_id=org_id, operation="exportDebtSubrequests", payload=export_payload()
            )
        finally:
            await engine.transport.aclose()
    assert outcome.status == DONE
    async with maker() as session:
        events = (await session.scalars(select(AuditEvent).where(AuditEvent.organisation_id == org_id))).all()
    assert [(e.action, e.resource_type, e.outcome) for e in events] == [
        ("gis.exchange.done", "gis_exchange", "ok")
    ]
    assert events[0].details["operation"] == "exportDebtSubrequests"
    assert events[0].details["error_code"] is None
