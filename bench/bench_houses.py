"""Bench the house-data sync: H houses × P premises synced from the stand at zero delay, wall time and memory.

Run: `.venv/bin/python bench/bench_houses.py [--houses 2000] [--premises 100] [--concurrency 8]
[--database-url URL]`. The stand runs as a separate process (`gisgw stand serve`, SQLite) with
`--premises` flats a house and one account a flat; billing's accounts are imported into the gateway first (not
timed), so the sync walks billing's houses and matches every premises. Timed: the `houses-sync` operation,
two exchanges a house (exportHouseData, exportAccountData). Memory: the gateway process's resident set sampled
every second during the sync (the gateway runs in this process).

Floor (SQLite gateway database only): every SQL statement the gateway sent during the sync, recorded as the
driver received it, replayed with the stdlib sqlite3 driver on a copy of the database taken just before the
sync. It is the database's share alone (no XML, no signing, no HTTP); the ratio line compares the gateway's
CPU during the sync with the replay's time (the last line).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import pickle
import signal
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.gis_client.crypto.openssl_setup import configure_openssl  # noqa: E402

configure_openssl()

import httpx  # noqa: E402
from sqlalchemy import select, text  # noqa: E402

from app.db.engine import create_engine, create_sessionmaker  # noqa: E402
from app.demo import billing_rows  # noqa: E402
from app.domain.kernel.calendar import moscow_today  # noqa: E402
from app.gis_stand.models import Account, House, Premises  # noqa: E402
from app.gis_stand.server import free_port, serving  # noqa: E402
from app.main import create_app  # noqa: E402
from bench.floor import (  # noqa: E402
    SqlLog,
    copy_sqlite,
    format_ratio,
    replay_failures,
    replay_sqlite,
    statement_kind,
)
from bench.stand_process import (  # noqa: E402
    bench_settings,
    cpu_seconds,
    prepare_gateway,
    rss_mb,
    start_stand,
    wait_http,
    wait_op,
)


class SpooledSqlLog(SqlLog):
    """A SqlLog that writes each statement to a file as it comes (pickled) instead of holding it.

    The sync's statements carry every snapshot row and every journal body: held in memory they grow this
    process's resident set by ≈ 0.6 MB a house, which the memory figure would then report as the gateway's.
    """

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        self._file = path.open("wb")
        self._count = 0

    def _on_execute(
        self,
        _conn: object,
        _cursor: object,
        statement: str,
        parameters: Any,
        _context: object,
        executemany: bool,
    ) -> None:
        pickle.dump((statement_kind(executemany, parameters), statement, parameters), self._file)
        self._count += 1

    def _on_commit(self, _conn: object) -> None:
        pickle.dump(("commit", "", None), self._file)

    @property
    def statements(self) -> int:
        """Number of statements (an executemany counts once)."""
        return self._count

    def replayable(self) -> SqlLog:
        """Return a log whose `items` are read back from the file, one at a time."""
        self._file.close()
        path = self.path

        class _Items:
            def __iter__(self) -> Iterator[tuple[str, str, Any]]:
                with path.open("rb") as fh:
                    while True:
                        try:
                            yield pickle.load(fh)  # noqa: S301 - our own file, written above
                        except EOFError:
                            return

        log = SqlLog()
        log.items = _Items()  # type: ignore[assignment]
        return log


JOURNAL_COUNTS = "SELECT direction || ' ' || operation, count(*) FROM gis_journal GROUP BY 1"
PPA = "6b0e5f58-3c4d-4e2a-9f1b-0d2c3b4a5e6f"


async def _billing_file(tmp: Path) -> Path:
    """Write the stand's accounts as a billing import (JSON Lines), streamed from the stand's database."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp / 'stand.db'}")
    path = tmp / "billing.jsonl"
    try:
        async with create_sessionmaker(engine)() as session:
            rows = (
                await session.execute(
                    select(Account, House.fias_guid, House.address, Premises.number)
                    .join(House, House.id == Account.house_id)
                    .outerjoin(Premises, Premises.id == Account.premises_id)
                )
            ).all()
        with path.open("w", encoding="utf-8") as fh:
            for row in billing_rows(list(rows), moscow_today()):
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    finally:
        await engine.dispose()
    return path


async def run(houses: int, premises: int, concurrency: int, database_url: str | None) -> dict[str, Any]:
    """Seed, import billing, sync once; return the timings."""
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        stand, stand_url = start_stand(tmp)
        try:
            await wait_http(stand_url, "/stand/admin/clock")
            gateway = await prepare_gateway(tmp, database_url)
            url, token, cert_pem = gateway.url, gateway.token, gateway.cert_pem
            settings = bench_settings(gateway, stand_url, houses={"sync_concurrency": concurrency})
            app = create_app(settings)
            port = free_port()
            async with serving(app, "127.0.0.1", port), httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {token}"}, timeout=600
            ) as client, httpx.AsyncClient(base_url=stand_url, timeout=3600) as admin:  # fmt: skip
                org = (
                    await client.post(
                        "/api/v1/organisations",
                        json={"name": "ООО «РЦ Бенч»", "inn": "7701234567", "org_type": "settlement_centre",
                              "ppa_guid": PPA, "executor_guid": "1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f"},
                    )
                ).json()  # fmt: skip
                started = time.perf_counter()
                seeded = await admin.post(
                    "/stand/admin/seed",
                    json={"org_ppa_guid": PPA, "cert_pem": cert_pem.decode(), "subrequests": 0,
                          "accounts": houses * premises, "flats_per_house": premises},
                )  # fmt: skip
                seeded.raise_for_status()
                seed_s = time.perf_counter() - started
                started = time.perf_counter()
                billing = await _billing_file(tmp)
                with billing.open("rb") as fh:
                    imported = await client.post(
                        "/api/v1/accounts/imports",
                        data={"organisation_id": org["id"], "format": "jsonl"},
                        files={"file": ("billing.jsonl", fh, "application/x-ndjson")},
                    )
                imported.raise_for_status()
                await wait_op(client, imported.json())
                import_s = time.perf_counter() - started

                samples: list[float] = []
                done = asyncio.Event()

                async def sample() -> None:
                    while not done.is_set():
                        samples.append(rss_mb())
                        try:
                            await asyncio.wait_for(done.wait(), timeout=1.0)
                        except TimeoutError:
                            pass

                sampler = asyncio.create_task(sample())
                sqlite_path = None if database_url else tmp / "gateway.db"
                if sqlite_path is not None:
                    copy_sqlite(sqlite_path, tmp / "snapshot.db")
                log = SpooledSqlLog(tmp / "sql.pickle")
                profile = cProfile.Profile() if os.environ.get("BENCH_PROFILE") else None
                stand_cpu = cpu_seconds(stand.pid)
                with log.recording():
                    wall, cpu = time.perf_counter(), time.process_time()
                    if profile is not None:
                        profile.enable()
                    syncs = f"/api/v1/organisations/{org['id']}/houses/syncs"
                    op = (await client.post(syncs, json={})).json()
                    result = await wait_op(client, op)
                    if profile is not None:
                        profile.disable()
                        profile.dump_stats(os.environ["BENCH_PROFILE"])
                    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
                stand_cpu = cpu_seconds(stand.pid) - stand_cpu
                done.set()
                await sampler
                quality = (await client.get(f"/api/v1/organisations/{org['id']}/houses-quality")).json()
                engine = create_engine(url)
                async with engine.connect() as conn:
                    journal = dict((await conn.execute(text(JOURNAL_COUNTS))).all())
                await engine.dispose()
        finally:
            stand.send_signal(signal.SIGTERM)
            stand.wait(timeout=30)
        floor = None
        if sqlite_path is not None:
            copy_sqlite(tmp / "snapshot.db", tmp / "floor.db")
            started = time.perf_counter()
            replay_sqlite(tmp / "floor.db", log.replayable())
            replay_s = time.perf_counter() - started
            floor = {"sql_statements": log.statements, "replay_s": round(replay_s, 2),
                     "failed_in_replay": replay_failures[-1]}  # fmt: skip
    report = result["result"]
    quarter = max(1, len(samples) // 4)
    return {
        "houses": houses,
        "premises_per_house": premises,
        "concurrency": concurrency,
        "database": url.split(":")[0],
        "seed_s": round(seed_s, 1),
        "billing_import_s": round(import_s, 1),
        "sync": {k: v for k, v in report.items() if not isinstance(v, list | dict)},
        "sync_wall_s": round(wall, 1),
        "gateway_cpu_s": round(cpu, 1),
        "stand_cpu_s": round(stand_cpu, 1),
        "gateway_cpu_ms_per_house": round(cpu * 1000 / max(1, report["houses_synced"]), 1),
        "stand_cpu_ms_per_house": round(stand_cpu * 1000 / max(1, report["houses_synced"]), 1),
        "houses_per_s": round(report["houses_synced"] / wall, 1),
        "premises_per_s": round(report["premises"] / wall),
        "rss_mb": {
            "first_quarter_max": round(max(samples[:quarter]), 1),
            "last_quarter_max": round(max(samples[-quarter:]), 1),
            "max": round(max(samples), 1),
        },
        "gis_messages": journal,
        "premises_in_billing_not_in_gis": quality["premises_in_billing_not_in_gis"],
        "premises_in_gis_not_in_billing": quality["premises_in_gis_not_in_billing"],
        "floor": floor,
    }


def main() -> None:
    """Parse arguments, run, print JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--houses", type=int, default=2000)
    parser.add_argument("--premises", type=int, default=100, help="flats a house (one account each)")
    parser.add_argument("--concurrency", type=int, default=8, help="GISGW_HOUSES_SYNC_CONCURRENCY")
    parser.add_argument(
        "--database-url", default=None, help="gateway database (default: SQLite in a temp dir)"
    )
    args = parser.parse_args()
    result = asyncio.run(run(args.houses, args.premises, args.concurrency, args.database_url))
    print(json.dumps(result, indent=2, ensure_ascii=False))  # noqa: T201
    if result["floor"] is not None:
        name = f"houses sync, {args.houses:,} × {args.premises}, SQLite, CPU (floor: its SQL only)"
        print(format_ratio(name, result["gateway_cpu_s"], result["floor"]["replay_s"], "s"))  # noqa: T201


if __name__ == "__main__":
    main()
