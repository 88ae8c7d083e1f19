"""The `make run` demo shows every area working: regions right, a court table, ready debtors."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy import select

from app.db.engine import create_engine, create_sessionmaker
from app.db.models.accounts import House
from app.demo import DEMO_COURTS_FILE, DEMO_SNAPSHOT_MONTHS, seed_all
from app.main import create_app
from tests.conftest import make_settings, new_database

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


async def test_demo_has_regions_courts_and_ready_debtors(tmp_path: Path) -> None:
    url = await new_database(tmp_path)
    stand_url = await new_database(tmp_path, migrate=False)
    settings = make_settings(url, stand_database_url=stand_url, court_courts_file=DEMO_COURTS_FILE)
    token = await seed_all(settings)
    engine = create_engine(url)
    try:
        async with create_sessionmaker(engine)() as session:
            houses = (await session.execute(select(House.address, House.region))).all()
    finally:
        await engine.dispose()
    for address, region in houses:
        if "Казань" in address:
            assert region == "16", address
        if "Санкт-Петербург" in address:
            assert region == "78", address
    assert {region for _, region in houses} != {"77"}
    app = create_app(settings)
    async with (
        LifespanManager(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://gw",
            headers={"Authorization": f"Bearer {token}"},
        ) as client,
    ):
        org = (await client.get("/api/v1/organisations")).json()["items"][0]
        trend = await client.get("/api/v1/monitoring/snapshots", params={"organisation_id": org["id"]})
        assert len(trend.json()) == DEMO_SNAPSHOT_MONTHS, trend.text  # the dashboard's charts have data
        run = await client.post(
            "/api/v1/court-orders/readiness", json={"organisation_id": org["id"], "account_ids": "all"}
        )
        assert run.status_code in (200, 202), run.text
        body = run.json()["run"]
        if run.status_code == 202:
            pytest.skip(
                "readiness ran as an operation"
            )  # the demo's 600 accounts stay under the inline limit
        assert body["ready"] > 0, body
        assert "jurisdiction" not in (body["blockers"] or {}), body["blockers"]
        cases = (await client.get("/api/v1/court-cases", params={"organisation_id": org["id"]})).json()
        assert len(cases["items"]) == 1 and cases["items"][0]["status"] == "draft", cases
