"""Bench: drive N export exchanges (sign, POST, Ack, 3 getState polls, result, journal) against a local
scripted GIS over real HTTP, with one or two drivers, on a throwaway SQLite database.

Run: `.venv/bin/python -m bench.bench_exchange [N] [PAIRS]` from the repo root.

Floor: every request gisgw POSTed (the same bytes, in order) sent by one keep-alive httpx client to a bare
stdlib HTTP server answering a fixed Ack, plus the SQL of every transaction of the run that wrote something,
replayed with the stdlib sqlite3 driver on a snapshot taken after the submits (idle worker polls left out).
PAIRS runs (default 3, one driver) each followed by its floor; the last two lines are the ratio lines:
exchanges/s (higher is better) and the process CPU per exchange while the driver runs (lower is better; it
includes the in-process scripted GIS, about 1.5 ms per exchange, against the floor's busy time per exchange).
The run waits on the engine's poll timers, which the floor does not. `BENCH_PROFILE=file` writes a cProfile
of the last one-driver run's drive window to `file`.
"""

from __future__ import annotations

import asyncio
import cProfile
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.gis_client.crypto.openssl_setup import configure_openssl

configure_openssl()

import httpx  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from app.db.engine import create_engine, create_sessionmaker  # noqa: E402
from app.db.migrate import upgrade  # noqa: E402
from app.db.models.exchange import DONE, Exchange  # noqa: E402
from app.gis_client import exchange as ex  # noqa: E402
from app.gis_client.wire.envelope import serialize  # noqa: E402
from app.gis_stand import results_builder as rb  # noqa: E402
from bench.floor import Pairs, SqlLog, bare_http_server, copy_sqlite, replay_sqlite  # noqa: E402
from tests.gis_client.exchange_support import export_payload, make_engine, new_org  # noqa: E402

Sent = list[tuple[str, dict[str, str], bytes]]
from tests.gis_client.scripted_gis import ScriptedGis  # noqa: E402


async def run(
    n: int, drivers: int, floor: list[float] | None = None, cpu: list[float] | None = None
) -> float:
    """Return exchanges per second for n exchanges and the given number of drivers.

    The floor's rate is appended to `floor`, the process CPU ms per exchange of the drive window to `cpu`.
    """
    log = SqlLog()
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
            copy_sqlite(f"{tmp}/bench.db", f"{tmp}/snapshot.db")
            stop = asyncio.Event()
            profile = cProfile.Profile() if cpu is not None and os.environ.get("BENCH_PROFILE") else None
            with log.recording():
                start, cpu_start = time.perf_counter(), time.process_time()
                if profile is not None:
                    profile.enable()
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
                if profile is not None:
                    profile.disable()
                    profile.dump_stats(os.environ["BENCH_PROFILE"])
                if cpu is not None:
                    cpu.append(1000 * (time.process_time() - cpu_start) / n)
            for e in engines:
                await e.transport.aclose()
            sent = [(r.path, r.headers, r.body) for r in gis.requests]
        await db.dispose()
        if floor is not None:
            seconds = await floor_seconds(sent, log.writing_transactions(), tmp)
            floor.append(n / seconds)
    return n / elapsed


async def floor_seconds(sent: Sent, log: SqlLog, tmp: str) -> float:
    """POST the same requests to a bare server, then replay the run's writes with sqlite3; return seconds."""
    copy_sqlite(f"{tmp}/snapshot.db", f"{tmp}/floor.db")
    ack = serialize(rb.build_ack(str(uuid.uuid4()), str(uuid.uuid4())))
    with bare_http_server(ack) as url:
        async with httpx.AsyncClient(base_url=url) as client:
            start = time.perf_counter()
            for path, headers, body in sent:
                action = {"SOAPAction": headers.get("soapaction", "")}
                (await client.post(path, content=body, headers=action)).raise_for_status()
            replay_sqlite(f"{tmp}/floor.db", log)
            return time.perf_counter() - start


def main() -> None:
    """Print throughput with two drivers, then with one driver against its floor."""
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    pair_count = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    rate = asyncio.run(run(n, 2))
    print(f"{n} exchanges (1 send + 3 getState each), 2 drivers: {rate:.1f} exchanges/s")  # noqa: T201
    pairs, cpu_pairs = Pairs(), Pairs()
    for _ in range(pair_count):
        floor: list[float] = []
        cpu: list[float] = []
        rate = asyncio.run(run(n, 1, floor, cpu))
        print(  # noqa: T201
            f"{n} exchanges, 1 driver: {rate:.1f} exchanges/s, {cpu[0]:.1f} ms CPU per exchange; "
            f"floor {floor[0]:.1f}/s"
        )
        pairs.add(rate, floor[0])
        cpu_pairs.add(cpu[0], 1000 / floor[0])
    print(pairs.line(f"exchanges (send + 3 getState), {n}, SQLite, 1 driver", "exchanges/s"))  # noqa: T201
    print(cpu_pairs.line(f"CPU per exchange (send + 3 getState), {n}, SQLite, 1 driver"))  # noqa: T201


if __name__ == "__main__":
    main()
