"""Bench the GIS stand: seeding speed (accounts/s) and a faulty 1,000-subrequest fetch-and-answer run.

Run: `.venv/bin/python bench/bench_stand.py [--accounts 100000] [--subrequests 1000]` (SQLite in a temp dir).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from app.gis_client.crypto.openssl_setup import configure_openssl

configure_openssl()

import httpx  # noqa: E402

from app.gis_client.crypto.backend import generate_test_key, get_backend  # noqa: E402
from app.gis_client.crypto.signer import LocalKeySigner  # noqa: E402
from app.gis_client.wire.envelope import new_guid  # noqa: E402
from app.gis_stand.app import create_stand_app  # noqa: E402
from app.gis_stand.config import StandConfig  # noqa: E402
from app.gis_stand.driver import Driver, fetch_and_answer  # noqa: E402
from app.gis_stand.seed import seed  # noqa: E402
from app.gis_stand.server import free_port, serving  # noqa: E402


async def main(accounts: int, subrequests: int) -> None:
    """Seed, then run fetch-and-answer with 30 % EXP001000 and 10 % HTTP 503."""
    with tempfile.TemporaryDirectory() as tmp:
        config = StandConfig(
            database_url=f"sqlite+aiosqlite:///{Path(tmp) / 'stand.db'}", state_delays=(0.0, 0.0)
        )
        app = create_stand_app(config)
        rt = app.state.stand
        await rt.create_tables()
        key, cert = generate_test_key()
        ppa = new_guid()
        started = time.perf_counter()
        summary = await seed(
            rt.engine, accounts=accounts, subrequests=subrequests, org_ppa_guid=ppa, cert_pem=cert.decode()
        )
        took = time.perf_counter() - started
        print(f"seed: {summary.accounts} accounts, {summary.subrequests} subrequests in {took:.1f} s "
              f"({summary.accounts / took:,.0f} accounts/s)")  # fmt: skip  # noqa: T201
        rt.faults.update(exp001000=0.3, http503=0.1, seed=1)
        port = free_port()
        async with (
            serving(app, "127.0.0.1", port),
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http,
        ):
            driver = Driver(http, ppa, LocalKeySigner(key, cert, get_backend("auto")))
            started = time.perf_counter()
            stats = await fetch_and_answer(driver)
            took = time.perf_counter() - started
        line = (
            f"fetch-and-answer with 30 % EXP001000 + 10 % HTTP 503: {stats.fetched} fetched, "
            f"{stats.answered} answered once, {stats.calls} calls, {stats.retries} retries, {took:.1f} s"
        )
        print(line)  # noqa: T201


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--subrequests", type=int, default=1000)
    args = parser.parse_args()
    asyncio.run(main(args.accounts, args.subrequests))
