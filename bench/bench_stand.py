"""Bench the GIS stand: seeding speed (accounts/s) and a faulty 1,000-subrequest fetch-and-answer run.

Run: `.venv/bin/python bench/bench_stand.py [--accounts 100000] [--subrequests 1000] [--pairs 3]` (SQLite in a
temp dir).

Floor of the seeding: its SQL statements, recorded as the driver received them, replayed with stdlib sqlite3
driver into the same empty schema; `--pairs` seeds (each into a fresh database) interleaved with as many
replays. The fetch-and-answer run waits on injected faults and back-off, so it has no floor. The last line is
the ratio line (accounts/s, higher is better).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.gis_client.crypto.openssl_setup import configure_openssl  # noqa: E402

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
from bench.floor import Pairs, SqlLog, copy_sqlite, replay_sqlite  # noqa: E402


async def seed_floor(tmp: Path, accounts: int, subrequests: int, pairs: int) -> Pairs:
    """Seed `pairs` fresh stand databases, each followed by a sqlite3 replay of the first seeding's SQL."""
    key, cert = generate_test_key()
    log = SqlLog()
    result = Pairs()
    for i in range(pairs):
        path = tmp / f"seed-{i}.db"
        config = StandConfig(database_url=f"sqlite+aiosqlite:///{path}", state_delays=(0.0, 0.0))
        rt = create_stand_app(config).state.stand
        await rt.create_tables()
        await rt.engine.dispose()
        if i == 0:
            copy_sqlite(path, tmp / "empty.db")
        started = time.perf_counter()
        if i == 0:
            with log.recording():
                summary = await seed(rt.engine, accounts=accounts, subrequests=subrequests,
                                     org_ppa_guid=new_guid(), cert_pem=cert.decode())  # fmt: skip
        else:
            summary = await seed(rt.engine, accounts=accounts, subrequests=subrequests,
                                 org_ppa_guid=new_guid(), cert_pem=cert.decode())  # fmt: skip
        took = time.perf_counter() - started
        await rt.engine.dispose()
        copy_sqlite(tmp / "empty.db", tmp / "floor.db")
        started = time.perf_counter()
        replay_sqlite(tmp / "floor.db", log)
        floor = time.perf_counter() - started
        print(f"seed {summary.accounts:,} accounts: {took:.2f} s; floor ({log.statements} statements): "
              f"{floor:.2f} s")  # fmt: skip  # noqa: T201
        result.add(summary.accounts / took, summary.accounts / floor)
    return result


async def main(accounts: int, subrequests: int, pairs: int) -> None:
    """Seed, then run fetch-and-answer with 30 % EXP001000 and 10 % HTTP 503; then the seeding floor."""
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
        seeding = await seed_floor(Path(tmp), accounts, subrequests, pairs)
    print(seeding.line(f"stand seeding, {accounts:,} accounts, SQLite", "accounts/s"))  # noqa: T201


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--subrequests", type=int, default=1000)
    parser.add_argument("--pairs", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(main(args.accounts, args.subrequests, args.pairs))
