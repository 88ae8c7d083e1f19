"""Break-it suite at a small size (issue #19): two gateway replicas on one PostgreSQL, the stand injecting
EXP001000, HTTP 503 and dropped connections, one replica killed with SIGKILL mid-send, PostgreSQL stopped
and started; every answer reaches GIS exactly once and no request to the survivor is a 500.

Most of its minute is the exchange lease of the killed replica (connect + read timeout + 30 s): rows it held
are taken over only when the lease runs out. Figures: docs/benchmarks.md "## Chaos".
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import GatewayProcess, KeyFiles, StandHandle, admin_token, gateway_settings

pytestmark = [pytest.mark.chaos, pytest.mark.e2e]

#: Answers sent; the long run sets GISGW_CHAOS_N (docs/benchmarks.md "## Chaos").
N = int(os.environ.get("GISGW_CHAOS_N", "40"))
STORM = {"exp001000": 0.3, "http503": 0.1, "drop": 0.05, "seed": 19}
PG_CTL = os.environ.get("GISGW_TEST_PG_CTL")


def _peak_rss_mb(pid: int) -> int | None:
    """The process's peak resident set (VmHWM) in MB, where /proc has it."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text(encoding="ascii").splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) // 1024
    except OSError:
        return None
    return None


def _pg(action: str) -> None:
    assert PG_CTL is not None
    subprocess.run([PG_CTL, action], check=True, capture_output=True, timeout=60)  # noqa: S603


async def _poll(
    client: httpx.AsyncClient, path: str, statuses: list[int], **params: Any
) -> httpx.Response | None:
    """GET through a replica that may be waiting for its database; record every status seen."""
    try:
        resp = await client.get(path, params=params)
    except httpx.HTTPError as exc:
        statuses.append(type(exc).__name__)  # type: ignore[arg-type]
        return None
    statuses.append(resp.status_code)
    return resp if resp.status_code == 200 else None


async def _wait_op(
    client: httpx.AsyncClient, op_id: str, statuses: list[int], timeout: float = 60
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        resp = await _poll(client, f"/api/v1/operations/{op_id}", statuses)
        if resp is not None and resp.json()["status"] in ("succeeded", "failed"):
            data: dict[str, Any] = resp.json()
            assert data["status"] == "succeeded", data
            return data
        await asyncio.sleep(0.1)
    raise AssertionError(f"operation {op_id} did not finish")


@pytest.mark.skipif(PG_CTL is None, reason="needs the throwaway PostgreSQL of scripts/with-postgres.sh")
async def test_two_replicas_kill_and_database_outage_answer_each_request_once(
    fresh_database_url: str,
    stand: StandHandle,
    e2e_keys: KeyFiles,
    gateway_process: Callable[[dict[str, Any]], GatewayProcess],
) -> None:
    assert fresh_database_url.startswith("postgresql"), "run with GISGW_TEST_DB=postgresql"
    started = time.monotonic()
    marks: dict[str, float] = {}
    token = await admin_token(fresh_database_url)
    values = gateway_settings(
        fresh_database_url,
        stand.base_url,
        e2e_keys,
        # Short timeouts keep the exchange lease (connect + read + 30 s) the killed replica leaves short.
        gis_connect_timeout=0.5,
        gis_read_timeout=1.5,
        debt_send_batch_size=10,
    )
    first, second = gateway_process(values), gateway_process(values)
    await asyncio.gather(first.ready(), second.ready())
    headers = {"Authorization": f"Bearer {token}"}
    statuses: list[int] = []
    async with (
        httpx.AsyncClient(base_url=first.base_url, headers=headers, timeout=30) as one,
        httpx.AsyncClient(base_url=second.base_url, headers=headers, timeout=30) as two,
    ):
        org = (
            await one.post(
                "/api/v1/organisations",
                json={
                    "name": "ООО «УК Хаос»",
                    "inn": "7701234567",
                    "org_type": "management_company",
                    "ppa_guid": "6d2f3a8b-1e9f-4b5c-8d6e-3f2a1b0c9d8e",
                    "executor_guid": "7e3a4b9c-2f0a-4c6d-9e7f-4a3b2c1d0e9f",
                },
            )
        ).json()
        await stand.seed(ppa_guid=org["ppa_guid"], cert_pem=e2e_keys.cert_pem, subrequests=N, accounts=N)
        await stand.admin.put("/stand/admin/faults", json=STORM)
        base = f"/api/v1/organisations/{org['id']}/debt-requests"
        fetched = await _wait_op(two, (await two.post(f"{base}/fetch", json={})).json()["id"], statuses)
        assert fetched["result"]["new"] == N, fetched
        mass = await one.post(
            "/api/v1/debt-requests/answers/no-debt",
            json={"filter": {"organisation_id": org["id"], "status": ["received"]}},
        )
        assert mass.json()["prepared"] == N
        # Slow calls on top of the storm, so the kill lands while messages are in flight.
        await stand.admin.put("/stand/admin/faults", json={**STORM, "slow": 0.5, "slow_seconds": 0.3})
        assert (await one.post(f"{base}/send", json={})).status_code == 202
        deadline = time.monotonic() + 30
        while not 0 < (await stand.answer_stats(org["ppa_guid"]))["by_status"].get("Sent", 0) < N:
            assert time.monotonic() < deadline, "nothing was sent"
            await asyncio.sleep(0.05)
        marks["send started"] = time.monotonic() - started
        first.kill()
        _pg("stop")
        outage = [await _poll(two, "/api/v1/organisations", statuses) for _ in range(5)]
        assert outage == [None] * 5 and statuses[-5:] == [503] * 5, statuses[-5:]

        await asyncio.sleep(1)
        _pg("start")
        marks["database back"] = time.monotonic() - started
        await stand.admin.put("/stand/admin/faults", json=STORM)
        deadline = time.monotonic() + 60 + N / 10  # the long run has more messages to finish
        while True:
            stats = await stand.answer_stats(org["ppa_guid"])
            open_left = await _poll(
                two, "/api/v1/debt-requests", statuses, organisation_id=org["id"], status="prepared", limit=1
            )
            if (
                stats["by_status"].get("Sent", 0) == N
                and open_left is not None
                and not open_left.json()["items"]
            ):
                break
            assert time.monotonic() < deadline, f"not everything sent after the kill and the outage: {stats}"
            await asyncio.sleep(0.5)
        faults = (await stand.admin.get("/stand/admin/faults")).json()
        peak = _peak_rss_mb(second.proc.pid)
    assert stats["send_count_histogram"] == {"1": N}, stats
    assert 500 not in statuses, "a request to the surviving replica answered 500"
    print(  # noqa: T201 - the suite's figures, for docs/benchmarks.md
        f"chaos: {N} answers once; faults after the outage {faults['counts']}; marks {marks}; "
        f"survivor's peak RSS {peak} MB; {time.monotonic() - started:.1f} s"
    )
