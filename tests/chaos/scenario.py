"""The break-it scenario of issue #19: `tests/chaos/` runs it small, `bench/bench_chaos.py` large.

Two gateway replicas on one PostgreSQL database; the stand answering 30 % of calls with EXP001000, 10 % with
HTTP 503 and dropping 5 % of connections (plus 50 % slow calls of 0.3 s during the send); replica one killed
with SIGKILL while the answers are in flight; PostgreSQL stopped and started. In *calm* mode (the floor of the
benchmark; `GISGW_CHAOS_CALM=1` for the test) the same N answers go through the same two replicas with no
fault, no kill and no outage.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.harness import GatewayProcess, KeyFiles, StandHandle, admin_token, gateway_settings, peak_rss_mb

STORM = {"exp001000": 0.3, "http503": 0.1, "drop": 0.05, "seed": 19}
CALM = {"exp001000": 0.0, "http503": 0.0, "drop": 0.0, "slow": 0.0, "seed": 19}
_RETRIES = re.compile(r"^gisgw_gis_retries_total\{[^}]*reason=\"([^\"]+)\"[^}]*\} ([0-9.e+]+)$", re.MULTILINE)


def calm_from_env() -> bool:
    """Whether `GISGW_CHAOS_CALM=1` asks for the calm run (no faults, no kill, no outage)."""
    return os.environ.get("GISGW_CHAOS_CALM", "") not in ("", "0")


@dataclass
class ChaosRun:
    """What one run saw: statuses of every API call, the stand's counts, marks, memory, retries."""

    n: int
    calm: bool
    statuses: list[int | str] = field(default_factory=list)
    marks: dict[str, float] = field(default_factory=dict)
    faults: Counter[str] = field(default_factory=Counter)
    retries: Counter[str] = field(default_factory=Counter)
    peak_rss_mb: dict[str, int | None] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def answered_once(self) -> int:
        """Answers the stand received exactly once."""
        return int(self.stats.get("send_count_histogram", {}).get("1", 0))


def _pg(pg_ctl: str, action: str) -> None:
    subprocess.run([pg_ctl, action], check=True, capture_output=True, timeout=60)  # noqa: S603


async def _poll(client: httpx.AsyncClient, path: str, run: ChaosRun, **params: Any) -> httpx.Response | None:
    """GET through a replica that may be waiting for its database; record every status seen."""
    try:
        resp = await client.get(path, params=params)
    except httpx.HTTPError as exc:
        run.statuses.append(type(exc).__name__)
        return None
    run.statuses.append(resp.status_code)
    return resp if resp.status_code == 200 else None


async def _wait_op(client: httpx.AsyncClient, op_id: str, run: ChaosRun, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        resp = await _poll(client, f"/api/v1/operations/{op_id}", run)
        if resp is not None and resp.json()["status"] in ("succeeded", "failed"):
            data: dict[str, Any] = resp.json()
            assert data["status"] == "succeeded", data
            return data
        await asyncio.sleep(0.1)
    raise AssertionError(f"operation {op_id} did not finish")


async def _set_faults(stand: StandHandle, run: ChaosRun, faults: dict[str, Any]) -> None:
    """Switch the stand's faults, keeping the counts of the ones switched off (the stand restarts them)."""
    run.faults.update((await stand.admin.get("/stand/admin/faults")).json()["counts"])
    await stand.admin.put("/stand/admin/faults", json=faults)


async def _count_retries(client: httpx.AsyncClient, run: ChaosRun) -> None:
    """Add a replica's resent messages by reason (its /metrics) to the run's count."""
    try:
        text = (await client.get("/metrics")).text
    except httpx.HTTPError:
        return
    for reason, value in _RETRIES.findall(text):
        run.retries[reason] += int(float(value))


async def two_replicas_answer_each_once(
    *,
    database_url: str,
    stand: StandHandle,
    keys: KeyFiles,
    start_gateway: Callable[[dict[str, Any]], GatewayProcess],
    n: int,
    pg_ctl: str | None,
    calm: bool = False,
) -> ChaosRun:
    """Fetch N subrequests, answer them all "no debt" and send them through two replicas (see the module)."""
    assert database_url.startswith("postgresql"), "the chaos scenario runs on PostgreSQL"
    assert calm or pg_ctl is not None, "the storm stops PostgreSQL: it needs pg_ctl"
    run = ChaosRun(n=n, calm=calm)
    token = await admin_token(database_url)
    values = gateway_settings(
        database_url,
        stand.base_url,
        keys,
        # Short timeouts keep the exchange lease (connect + read + 30 s) the killed replica leaves short.
        gis_connect_timeout=0.5,
        gis_read_timeout=1.5,
        debt_send_batch_size=10,
    )
    first, second = start_gateway(values), start_gateway(values)
    await asyncio.gather(first.ready(), second.ready())
    started = time.monotonic()
    headers = {"Authorization": f"Bearer {token}"}
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
        await stand.seed(ppa_guid=org["ppa_guid"], cert_pem=keys.cert_pem, subrequests=n, accounts=n)
        await _set_faults(stand, run, CALM if calm else STORM)
        run.marks["seeded"] = time.monotonic() - started
        base = f"/api/v1/organisations/{org['id']}/debt-requests"
        fetch = (await two.post(f"{base}/fetch", json={})).json()["id"]
        fetched = await _wait_op(two, fetch, run, timeout=60 + n / 10)
        assert fetched["result"]["new"] == n, fetched
        run.marks["fetched"] = time.monotonic() - started
        mass = await one.post(
            "/api/v1/debt-requests/answers/no-debt",
            json={"filter": {"organisation_id": org["id"], "status": ["received"]}},
        )
        assert mass.json()["prepared"] == n
        if not calm:
            # Slow calls on top of the storm, so the kill lands while messages are in flight.
            await _set_faults(stand, run, {**STORM, "slow": 0.5, "slow_seconds": 0.3})
        assert (await one.post(f"{base}/send", json={})).status_code == 202
        deadline = time.monotonic() + 30
        while not 0 < (await stand.answer_stats(org["ppa_guid"]))["by_status"].get("Sent", 0) < n:
            assert time.monotonic() < deadline, "nothing was sent"
            await asyncio.sleep(0.05)
        run.marks["send started"] = time.monotonic() - started
        if not calm:
            assert pg_ctl is not None
            await _count_retries(one, run)
            run.peak_rss_mb["killed replica"] = peak_rss_mb(first.proc.pid)
            first.kill()
            _pg(pg_ctl, "stop")
            outage = [await _poll(two, "/api/v1/organisations", run) for _ in range(5)]
            assert outage == [None] * 5 and run.statuses[-5:] == [503] * 5, run.statuses[-5:]
            await asyncio.sleep(1)
            _pg(pg_ctl, "start")
            run.marks["database back"] = time.monotonic() - started
            await _set_faults(stand, run, STORM)
        deadline = time.monotonic() + 60 + n / 10
        while True:
            run.stats = await stand.answer_stats(org["ppa_guid"])
            open_left = await _poll(
                two, "/api/v1/debt-requests", run, organisation_id=org["id"], status="prepared", limit=1
            )
            all_sent = run.stats["by_status"].get("Sent", 0) == n
            if all_sent and open_left is not None and not open_left.json()["items"]:
                break
            assert time.monotonic() < deadline, f"not everything sent: {run.stats}"
            await asyncio.sleep(0.5)
        run.seconds = time.monotonic() - started
        run.faults.update((await stand.admin.get("/stand/admin/faults")).json()["counts"])
        await _count_retries(two, run)
        if calm:
            await _count_retries(one, run)
            run.peak_rss_mb["replica one"] = peak_rss_mb(first.proc.pid)
        run.peak_rss_mb["survivor" if not calm else "replica two"] = peak_rss_mb(second.proc.pid)
    return run
