"""Bench: drive N export exchanges (sign, POST, Ack, 3 getState polls, result, journal) against a local
scripted GIS over real HTTP, with one or two drivers, on a throwaway SQLite database.

Run: `.venv/bin/python -m bench.bench_exchange [N]` from the repo root.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.gis_client.crypto.openssl_setup import configure_openssl

configure_openssl()

from sqlalchemy import func, select  # noqa: E402

from app.db.engine import create_engine, create_sessionmaker  # noqa: E402
from app.db.migrate import upgrade  # noqa: E402
from app.db.models.exchange import DONE, Exchange  # noqa: E402
from app.gis_client import exchange as ex  # noqa: E402
from tests.gis_client.exchange_support import export_payload, make_engine, new_org  # noqa: E402
from tests.gis_client.scripted_gis import ScriptedGis  # noqa: E402


async def run(n: int, drivers: int) -> float:
    """Return exchanges per second for n exchanges and the given number of drivers."""
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/bench.db"
        await asyncio.to_thread(upgrade, url)
        db = create_engine(url)
        sm = create_sessionmaker(db)
        async with ScriptedGis() as gis:
            engines = [
                make_engine(url, gis.url, worker_id=f"bench-{i}", gis_poll_schedule=[0.0])
                for i in range(drivers)
            ]
            org_id = await new_org(sm)
            async with sm() as session, session.begin():
                for _ in range(n):
                    await ex.submit(
                        session,
                        organisation_id=org_id,
                        operation="exportDebtSubrequests",
                        payload=export_payload(),
                    )
            stop = asyncio.Event()
            start = time.perf_counter()
            tasks = [asyncio.create_task(e.run_loop(sm, stop, interval=0.005)) for e in engines]
            while True:
                async with sm() as session:
                    done = await session.scalar(select(func.count()).where(Exchange.status == DONE))
                if done == n:
                    break
                await asyncio.sleep(0.05)
            elapsed = time.perf_counter() - start
            stop.set()
            await asyncio.gather(*tasks)
            for e in engines:
                await e.transport.aclose()
        await db.dispose()
    return n / elapsed


def main() -> None:
    """Print throughput with one and two drivers."""
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    for drivers in (1, 2):
        rate = asyncio.run(run(n, drivers))
        print(f"{n} exchanges (1 send + 3 getState each), {drivers} driver(s): {rate:.1f} exchanges/s")  # noqa: T201


if __name__ == "__main__":
    main()
