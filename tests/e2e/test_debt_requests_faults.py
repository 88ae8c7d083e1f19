"""End to end with faults: 30 % EXP001000, 10 % HTTP 503, 2 % dropped connections on every GIS call.

1,000 subrequests are fetched, answered "no debt" in one call and sent; every one must end Sent in the stand
exactly once (Send-count histogram {"1": 1000}) although ~40 % of the calls fail and are rebuilt and resent,
and a dropped import (delivery unknown) is settled by the reconcile job instead of a blind resend.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from sqlalchemy import func, select

from app import metrics
from app.db.engine import create_engine, create_sessionmaker
from app.db.models.core import Operation
from app.db.models.exchange import Exchange
from tests.e2e.conftest import GatewayHandle, StandHandle

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

N = 1000
FAULTS = {"exp001000": 0.3, "http503": 0.1, "drop": 0.05, "seed": 1}


@pytest.fixture
def gateway_overrides() -> dict[str, Any]:
    """Short back-off, and enough attempts that 40 % failing calls cannot exhaust a message (0.42^40)."""
    return {
        "gis_retry_initial_delay": 0.02,
        "gis_retry_max_delay": 0.2,
        "gis_retry_max_attempts": 40,
        "gis_retry_max_seconds": 300.0,
        "debt_send_wait_seconds": 180.0,
    }


def retries_total() -> float:
    """Return the gateway's retries counter summed over operations and reasons (same process)."""
    return sum(
        sample.value
        for family in metrics.GIS_RETRIES.collect()
        for sample in family.samples
        if sample.name.endswith("_total")
    )


async def count_status(gateway: GatewayHandle, org_id: str, status: str) -> int:
    """Count an organisation's debt requests in one status through the API."""
    count, cursor = 0, None
    while True:
        query = {"limit": 500, "organisation_id": org_id, "status": status} | (
            {"cursor": cursor} if cursor else {}
        )
        resp = await gateway.client.get("/api/v1/debt-requests", params=query)
        assert resp.status_code == 200, resp.text
        count += len(resp.json()["items"])
        cursor = resp.json()["next_cursor"]
        if cursor is None:
            return count


async def test_thousand_subrequests_answered_exactly_once_under_faults(
    gateway: GatewayHandle, stand: StandHandle
) -> None:
    org = await gateway.new_org()
    await stand.seed(ppa_guid=org["ppa_guid"], cert_pem=gateway.keys.cert_pem, subrequests=N, accounts=200)
    faults = await stand.admin.put("/stand/admin/faults", json=FAULTS)
    assert faults.status_code == 200, faults.text
    retries_before = retries_total()
    client = gateway.client
    base = f"/api/v1/organisations/{org['id']}/debt-requests"

    fetched = await gateway.wait_operation((await client.post(f"{base}/fetch", json={})).json(), timeout=120)
    assert fetched["result"]["new"] == N, fetched
    mass = await client.post(
        "/api/v1/debt-requests/answers/no-debt",
        json={"filter": {"organisation_id": org["id"], "status": ["received"]}},
    )
    assert mass.status_code == 200 and mass.json()["prepared"] == N, mass.text
    await gateway.wait_operation((await client.post(f"{base}/send", json={})).json(), timeout=240)

    # A dropped import is reconciled (and its unanswered part resent) by its own job after the send
    # operation ends, so wait for the end state rather than for the send operation's counts.
    deadline = time.monotonic() + 120
    while True:
        stats = await stand.answer_stats(org["ppa_guid"])
        if stats["by_status"].get("Sent") == N or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.5)
    assert stats["by_status"] == {"Sent": N}, stats
    assert stats["send_count_histogram"] == {"1": N}, stats
    while await count_status(gateway, org["id"], "sent") != N:
        assert time.monotonic() < deadline, "gateway did not record every answer as sent"
        await asyncio.sleep(0.5)

    injected = (await stand.admin.get("/stand/admin/faults")).json()["counts"]
    assert injected.get("exp001000", 0) > 0 and injected.get("http503", 0) > 0, injected
    # Every injected EXP001000 or 503 was answered by a rebuilt resend (drops too, except on an import).
    assert retries_total() - retries_before >= injected["exp001000"] + injected["http503"]
    engine = create_engine(gateway.settings.database.url)
    try:
        async with create_sessionmaker(engine)() as session:
            resent = await session.scalar(
                select(func.count()).select_from(Exchange).where(Exchange.attempts > 1)
            )
            open_rows = await session.scalar(
                select(func.count()).select_from(Exchange).where(Exchange.status != "done")
            )
            # A dropped import (delivery unknown) is never resent blindly: its reconcile job settles it.
            reconciles = dict(
                (
                    await session.execute(
                        select(Operation.status, func.count())
                        .where(Operation.kind == "debt-reconcile")
                        .group_by(Operation.status)
                    )
                ).all()
            )
    finally:
        await engine.dispose()
    assert resent and resent > 0
    assert open_rows == 0
    assert set(reconciles) <= {"succeeded"}, reconciles
