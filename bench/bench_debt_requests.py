"""Bench the debt-request cycle against the stand: fetch, match, mass 'no debt', send, for N subrequests.

Run: `.venv/bin/python bench/bench_debt_requests.py [--n 10000] [--delay 0] [--database-url URL]`.
The stand runs as a separate process (`gisgw stand serve`) so the CPU measured here is the gateway's own
(API, workers, signing, XSD validation, database). `--delay` is the stand's seconds in RequestState 2, i.e.
how long each getState waits before the result is ready.

`--faults` turns the stand's fault injection on for every GIS call (by default `--exp001000 0.3 --http503 0.1
--drop 0.02`) and the gateway's back-off down to 0.05..0.5 s (40 attempts); the run then also waits for the
reconcile jobs of dropped imports and reports the injected faults, the retries counted by the gateway and
whether every subrequest was answered exactly once.

Floor (SQLite gateway database only): every SQL statement the gateway sent during the cycle, recorded as
the driver received it, replayed with the stdlib sqlite3 driver on a copy of the database taken just before
the cycle. It is the database's share alone (no XML, no signing, no HTTP), so the ratio overstates the
distance; it compares the gateway's CPU per subrequest with the replay's time per subrequest. The last line
is the ratio line. `BENCH_PROFILE=file` writes a cProfile of the cycle (gateway process) to `file`.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.gis_client.crypto.openssl_setup import configure_openssl  # noqa: E402

configure_openssl()

import httpx  # noqa: E402

from app import metrics  # noqa: E402
from app.gis_stand.server import free_port, serving  # noqa: E402
from app.main import create_app  # noqa: E402
from app.settings import Settings  # noqa: E402
from bench.floor import SqlLog, copy_sqlite, format_ratio, replay_failures, replay_sqlite  # noqa: E402
from bench.stand_process import prepare_gateway, start_stand, wait_http, wait_op  # noqa: E402


class Phase:
    """Wall time and gateway CPU of one step."""

    def __init__(self, results: dict[str, dict[str, float]], name: str) -> None:
        self.results, self.name = results, name

    def __enter__(self) -> None:
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def __exit__(self, *exc: object) -> None:
        self.results[self.name] = {
            "wall_s": round(time.perf_counter() - self.wall, 2),
            "cpu_s": round(time.process_time() - self.cpu, 2),
        }


def _retries() -> dict[str, float]:
    """Return the gateway's retry counter (in this process) by reason."""
    counts: dict[str, float] = {}
    for family in metrics.GIS_RETRIES.collect():
        for sample in family.samples:
            if sample.name.endswith("_total"):
                reason = sample.labels["reason"]
                counts[reason] = counts.get(reason, 0) + sample.value
    return counts


async def run(
    n: int, delay: float, database_url: str | None, faults: dict[str, float] | None = None
) -> dict[str, Any]:
    """Run the full cycle once and return the timings."""
    retry = {"retry_initial_delay": 0.05, "retry_max_delay": 0.5, "retry_max_attempts": 40} if faults else {}
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        stand, stand_url = start_stand(tmp, state_delays=(0.0, delay))
        try:
            await wait_http(stand_url, "/stand/admin/clock")
            gateway = await prepare_gateway(tmp, database_url)
            url, token, cert_pem = gateway.url, gateway.token, gateway.cert_pem
            settings = Settings(
                _env_file=None,  # type: ignore[call-arg]
                env="test",
                database={"url": url},
                gis={"base_url": stand_url, "poll_schedule": [0.1] if delay == 0 else [delay, 0.5], **retry},
                signing={"key_path": tmp / "key.pem", "cert_path": tmp / "cert.pem"},
                workers={"poll_interval": 0.02},
                debt={"fetch_interval_seconds": 0, "send_wait_seconds": 3600},
                log={"json_logs": False, "level": "WARNING"},
            )
            app = create_app(settings)
            port = free_port()
            results: dict[str, dict[str, float]] = {}
            async with serving(app, "127.0.0.1", port), httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {token}"}, timeout=600
            ) as client, httpx.AsyncClient(base_url=stand_url, timeout=600) as admin:  # fmt: skip
                org = (
                    await client.post(
                        "/api/v1/organisations",
                        json={"name": "ООО «УК Бенч»", "inn": "7701234567", "org_type": "management_company",
                              "ppa_guid": "6b0e5f58-3c4d-4e2a-9f1b-0d2c3b4a5e6f",
                              "executor_guid": "1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f"},
                    )
                ).json()  # fmt: skip
                seeded = await admin.post(
                    "/stand/admin/seed",
                    json={"org_ppa_guid": org["ppa_guid"], "cert_pem": cert_pem.decode(), "subrequests": n,
                          "accounts": n},
                )  # fmt: skip
                seeded.raise_for_status()
                if faults:
                    (await admin.put("/stand/admin/faults", json=faults)).raise_for_status()
                retries_before = _retries()
                base = f"/api/v1/organisations/{org['id']}/debt-requests"
                sqlite_path = None if database_url else tmp / "gateway.db"
                if sqlite_path is not None:
                    copy_sqlite(sqlite_path, tmp / "snapshot.db")
                log = SqlLog()
                recording = log.recording()
                recording.__enter__()
                profile = cProfile.Profile() if os.environ.get("BENCH_PROFILE") else None
                if profile is not None:
                    profile.enable()
                total_wall, total_cpu = time.perf_counter(), time.process_time()
                with Phase(results, "fetch"):
                    fetched = await wait_op(
                        client, (await client.post(f"{base}/fetch", json={})).json(), poll=0.1
                    )
                with Phase(results, "match"):
                    await wait_op(client, (await client.post(f"{base}/match", json={})).json(), poll=0.1)
                with Phase(results, "no_debt"):
                    mass = await client.post(
                        "/api/v1/debt-requests/answers/no-debt",
                        json={"filter": {"organisation_id": org["id"], "status": ["received"]}},
                    )
                    mass.raise_for_status()
                with Phase(results, "send"):
                    sent = await wait_op(
                        client, (await client.post(f"{base}/send", json={})).json(), poll=0.1
                    )
                    # Dropped imports are settled by reconcile jobs after the send operation: wait for them.
                    while True:
                        stats = (
                            await admin.get(
                                "/stand/admin/answer-stats", params={"org_ppa_guid": org["ppa_guid"]}
                            )
                        ).json()
                        if not faults or stats["by_status"].get("Sent", 0) >= n:
                            break
                        await asyncio.sleep(0.2)
                wall = time.perf_counter() - total_wall
                cpu = time.process_time() - total_cpu
                if profile is not None:
                    profile.disable()
                    profile.dump_stats(os.environ["BENCH_PROFILE"])
                recording.__exit__(None, None, None)
                injected = (await admin.get("/stand/admin/faults")).json()["counts"]
                after = _retries()
                retries = {
                    k: v - retries_before.get(k, 0) for k, v in after.items() if v > retries_before.get(k, 0)
                }
        finally:
            stand.send_signal(signal.SIGTERM)
            stand.wait(timeout=30)
        floor_s = None
        if sqlite_path is not None:
            copy_sqlite(tmp / "snapshot.db", tmp / "floor.db")
            started = time.perf_counter()
            replay_sqlite(tmp / "floor.db", log)
            floor_s = time.perf_counter() - started
    return {
        "n": n,
        "stand_delay_s": delay,
        "database": url.split(":")[0],
        "fetched": fetched["result"]["new"],
        "prepared": mass.json()["prepared"],
        "sent": sent["result"],
        "stand": stats,
        "exactly_once": stats["by_status"] == {"Sent": n} and stats["send_count_histogram"] == {"1": n},
        "faults": {"config": faults, "injected": injected, "gateway_retries": retries} if faults else None,
        "phases": results,
        "total_wall_s": round(wall, 1),
        "total_cpu_s": round(cpu, 1),
        "cpu_ms_per_subrequest": round(cpu * 1000 / max(n, 1), 2),
        "wall_ms_per_subrequest": round(wall * 1000 / max(n, 1), 2),
        "floor": None
        if floor_s is None
        else {
            "sql_statements": log.statements,
            "replay_s": round(floor_s, 2),
            "ms_per_subrequest": round(floor_s * 1000 / max(n, 1), 3),
            "failed_in_replay": replay_failures[-1],
        },  # fmt: skip
    }


def main() -> None:
    """Parse arguments, run, print JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=10_000, help="subrequests")
    parser.add_argument(
        "--delay", type=float, default=0.0, help="stand seconds in RequestState 2 per message"
    )
    parser.add_argument(
        "--database-url", default=None, help="gateway database (default: SQLite in a temp dir)"
    )
    parser.add_argument("--faults", action="store_true", help="inject faults in the stand (shares below)")
    parser.add_argument("--exp001000", type=float, default=0.3, help="share of SOAP calls failing EXP001000")
    parser.add_argument("--http503", type=float, default=0.1, help="share of calls answered HTTP 503")
    parser.add_argument("--drop", type=float, default=0.02, help="share of connections dropped mid-answer")
    parser.add_argument("--fault-seed", type=int, default=1, help="seed of the stand's fault sequence")
    args = parser.parse_args()
    faults = (
        {"exp001000": args.exp001000, "http503": args.http503, "drop": args.drop, "seed": args.fault_seed}
        if args.faults
        else None
    )
    result = asyncio.run(run(args.n, args.delay, args.database_url, faults))
    print(json.dumps(result, indent=2, ensure_ascii=False))  # noqa: T201
    floor = result["floor"]
    if floor is not None:
        name = f"debt cycle, {args.n:,} subrequests, SQLite, CPU per subrequest (floor: its SQL only)"
        line = format_ratio(name, result["cpu_ms_per_subrequest"], floor["ms_per_subrequest"], "ms")
        print(line)  # noqa: T201


if __name__ == "__main__":
    main()
