"""Stop the gateway in the middle of sending (kill -9, or SIGTERM for a graceful shutdown); after a restart
every answer is in GIS exactly once."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import GatewayProcess, KeyFiles, StandHandle, admin_token, gateway_settings

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

N = 600


async def _wait_op(client: httpx.AsyncClient, op_id: str, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        data: dict[str, Any] = (await client.get(f"/api/v1/operations/{op_id}")).json()
        if data["status"] in ("succeeded", "failed"):
            assert data["status"] == "succeeded", data
            return data
        await asyncio.sleep(0.1)
    raise AssertionError(f"operation {op_id} did not finish")


@pytest.mark.parametrize("stop_signal", [signal.SIGKILL, signal.SIGTERM], ids=["kill-9", "sigterm"])
async def test_kill_mid_send_then_restart_sends_each_answer_once(
    stop_signal: signal.Signals,
    fresh_database_url: str,
    stand: StandHandle,
    e2e_keys: KeyFiles,
    gateway_process: Callable[[dict[str, Any]], GatewayProcess],
    tmp_path: Path,  # noqa: ARG001
) -> None:
    token = await admin_token(fresh_database_url)
    # A short read timeout keeps the exchange lease short, so rows caught mid-POST are reconciled quickly.
    values = gateway_settings(fresh_database_url, stand.base_url, e2e_keys, gis_read_timeout=3.0)
    first = gateway_process(values)
    await first.ready()
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=first.base_url, headers=headers, timeout=60) as client:
        org = (
            await client.post(
                "/api/v1/organisations",
                json={
                    "name": "ООО «УК Crash»",
                    "inn": "7701234567",
                    "org_type": "management_company",
                    "ppa_guid": "5c1e2f7a-0d8e-4a4b-9a3e-7d2f00c0ffee",
                    "executor_guid": "0b5d7c66-1f0e-4b9e-8f35-2d7b6a3c9e11",
                },
            )
        ).json()
        await stand.seed(ppa_guid=org["ppa_guid"], cert_pem=e2e_keys.cert_pem, subrequests=N, accounts=N)
        base = f"/api/v1/organisations/{org['id']}/debt-requests"
        fetched = await _wait_op(client, (await client.post(f"{base}/fetch", json={})).json()["id"])
        if fetched["result"]["new"] != N:
            ex = (await client.get("/api/v1/exchanges", params={"limit": 5})).text
            subs = (await stand.admin.get("/stand/admin/subrequests", params={"limit": 2})).text
            raise AssertionError((fetched["result"], ex[:3000], subs[:2000]))
        mass = await client.post(
            "/api/v1/debt-requests/answers/no-debt",
            json={"filter": {"organisation_id": org["id"], "status": ["received"]}},
        )
        assert mass.json()["prepared"] == N
        # Slow every GIS call down so the kill lands while messages are in flight.
        await stand.admin.put("/stand/admin/faults", json={"slow": 1.0, "slow_seconds": 0.3})
        assert (await client.post(f"{base}/send", json={})).status_code == 202
        deadline = time.monotonic() + 60
        while True:
            sent = (await stand.answer_stats(org["ppa_guid"]))["by_status"].get("Sent", 0)
            if 0 < sent < N:
                break
            assert sent < N, "the send finished before the kill; slow the stand down further"
            assert time.monotonic() < deadline, "nothing was sent"
            await asyncio.sleep(0.05)
    first.stop(stop_signal)
    await stand.admin.put("/stand/admin/faults", json={"slow": 0.0})

    second = gateway_process(values)
    await second.ready()
    async with httpx.AsyncClient(base_url=second.base_url, headers=headers, timeout=60) as client:
        deadline = time.monotonic() + 180
        while True:
            stats = await stand.answer_stats(org["ppa_guid"])
            page = await client.get(
                "/api/v1/debt-requests", params={"organisation_id": org["id"], "status": "sent", "limit": 1}
            )
            local_sent = len(page.json()["items"])
            if stats["by_status"].get("Sent", 0) == N and local_sent:
                listed = await client.get(
                    "/api/v1/debt-requests",
                    params={"organisation_id": org["id"], "status": ["received", "prepared"], "limit": 1},
                )
                if not listed.json()["items"]:
                    break
            assert time.monotonic() < deadline, f"not everything sent after the restart: {stats}"
            await asyncio.sleep(0.5)
    assert stats["send_count_histogram"] == {"1": N}, stats
