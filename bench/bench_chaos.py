"""Bench the break-it scenario of issue #19 at size: the storm against a calm run of the same N answers.

The scenario is `tests/chaos/scenario.py` (the chaos suite runs it at N = 40): two `gisgw serve` replicas on
one throwaway PostgreSQL database, the stand (SQLite, in this process) with 30 % EXP001000, 10 % HTTP 503 and
5 % dropped connections, replica one killed with SIGKILL mid-send, PostgreSQL stopped and started. The calm
run (the floor) sends the same N answers through two replicas with no fault, no kill and no outage.

Run: `scripts/with-postgres.sh .venv/bin/python bench/bench_chaos.py [--n 1000] [--modes storm,calm]`
Last line: `chaos: gisgw <storm s>, floor <calm s>, ratio <r>`. Figures: docs/benchmarks.md "## Chaos".
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from app.gis_client.crypto.openssl_setup import configure_openssl

configure_openssl()

from app.db.migrate import upgrade  # noqa: E402
from tests.chaos.scenario import ChaosRun, two_replicas_answer_each_once  # noqa: E402
from tests.conftest import _create_pg_database  # noqa: E402
from tests.harness import GatewayProcess, make_keys, run_stand, start_gateway_process  # noqa: E402


async def one_run(folder: Path, base_url: str, pg_ctl: str | None, n: int, *, calm: bool) -> ChaosRun:
    """Run the scenario once on a new database and a new stand; stop every replica afterwards."""
    mode = "calm" if calm else "storm"
    database_url = await _create_pg_database(base_url)
    await asyncio.to_thread(upgrade, database_url)
    keys = make_keys(folder)
    started: list[GatewayProcess] = []

    def start(values: dict[str, Any]) -> GatewayProcess:
        handle = start_gateway_process(values, folder / f"{mode}-gateway-{len(started)}.log")
        started.append(handle)
        return handle

    try:
        async with run_stand(f"sqlite+aiosqlite:///{folder / f'{mode}-stand.db'}") as stand:
            return await two_replicas_answer_each_once(
                database_url=database_url,
                stand=stand,
                keys=keys,
                start_gateway=start,
                n=n,
                pg_ctl=pg_ctl,
                calm=calm,
            )
    finally:
        for handle in started:
            handle.kill()


def report(run: ChaosRun) -> None:
    """Print one run's figures."""
    mode = "calm" if run.calm else "storm"
    fives = sum(1 for status in run.statuses if isinstance(status, int) and status >= 500 and status != 503)
    outage = sum(1 for status in run.statuses if status == 503)
    marks = ", ".join(f"{name} {at:.1f} s" for name, at in run.marks.items())
    print(  # noqa: T201
        f"{mode}: {run.stats['by_status'].get('Sent', 0)} answers in GIS, {run.answered_once} exactly once "
        f"(send-count histogram {run.stats['send_count_histogram']}); {run.seconds:.1f} s ({marks})\n"
        f"{mode}: faults injected {dict(run.faults)}; retries by the gateway {dict(run.retries)}; "
        f"API calls {len(run.statuses)} (503 during the outage {outage}, other 5xx {fives}); "
        f"peak RSS {run.peak_rss_mb} MB",
        flush=True,
    )


async def main(n: int, modes: list[str]) -> int:
    """Run the storm and the calm floor; return 0 when every answer reached GIS exactly once."""
    base_url = os.environ.get("GISGW_TEST_DATABASE_URL")
    pg_ctl = os.environ.get("GISGW_TEST_PG_CTL")
    if not base_url or ("storm" in modes and not pg_ctl):
        hint = "run under scripts/with-postgres.sh (it sets the throwaway PostgreSQL and its pg_ctl)"
        print(hint, file=sys.stderr)  # noqa: T201
        return 2
    runs: dict[str, ChaosRun] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for mode in modes:
            folder = Path(tmp) / mode
            folder.mkdir()
            runs[mode] = await one_run(folder, base_url, pg_ctl, n, calm=mode == "calm")
            report(runs[mode])
    failed = [
        mode
        for mode, run in runs.items()
        if run.stats["send_count_histogram"] != {"1": n} or 500 in run.statuses
    ]
    for mode in failed:
        failure = f"FAILED: {mode} did not answer each of {n} exactly once without a 500"
        print(failure, file=sys.stderr)  # noqa: T201
    if "storm" in runs and "calm" in runs:
        storm, calm = runs["storm"].seconds, runs["calm"].seconds
        print(f"chaos: gisgw {storm:.1f} s, floor {calm:.1f} s, ratio {storm / calm:.2f}")  # noqa: T201
    return 1 if failed else 0


if __name__ == "__main__":
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=raw)
    parser.add_argument("--n", type=int, default=1000, help="subrequests fetched, answered and sent")
    parser.add_argument("--modes", default="storm,calm", help="runs in order: storm, calm or both")
    ns = parser.parse_args()
    chosen = [mode.strip() for mode in ns.modes.split(",") if mode.strip()]
    raise SystemExit(asyncio.run(main(ns.n, chosen)))
