"""Bench: court-order readiness for N debtors with M months of ledger each (target: 100,000 × 36 ≤ 60 s).

    .venv/bin/python bench/bench_court.py --accounts 100000 --months 36            # SQLite file in a temp dir
    scripts/with-postgres.sh .venv/bin/python bench/bench_court.py --pg ...        # PostgreSQL

Seeds one organisation with deterministic accounts (a mix of blocking reasons), then times one readiness run
(load in chunks, assess, store every verdict) and prints the figures for docs/benchmarks.md.

Floor (SQLite): the SQL statements of that run, recorded as the driver received them, replayed with the stdlib
sqlite3 driver on a snapshot of the seeded database (same rows read, same verdicts written, same commits).
`--pairs N` runs N readiness runs interleaved with N replays; the last line is the ratio line.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
import uuid
from datetime import date
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert  # noqa: E402

from app.db.engine import create_engine, create_sessionmaker  # noqa: E402
from app.db.models.core import Organisation  # noqa: E402
from app.domain.accounts.ledger import encode_months  # noqa: E402
from app.domain.court.readiness import create_run, execute_run  # noqa: E402
from app.domain.court.rules import court_rules  # noqa: E402
from app.domain.kernel.penalties import due_date_for  # noqa: E402
from app.domain.kernel.snils import random_valid_snils  # noqa: E402
from app.settings import Settings  # noqa: E402
from bench.floor import Pairs, SqlLog, copy_sqlite, replay_sqlite  # noqa: E402
from bench.ledger_db import add_pg_argument, fresh_database, insert_ledger_rows, months_before  # noqa: E402

ON = date(2025, 11, 20)


async def seed(url: str, accounts: int, months: int) -> uuid.UUID:
    """Insert one organisation with `accounts` accounts and `months` ledger months each."""
    engine = create_engine(url)
    rng = random.Random(42)
    org_id = uuid.uuid4()
    periods = months_before(ON, months)
    dues = [due_date_for(p) for p in periods]
    async with engine.begin() as conn:
        await conn.execute(
            insert(Organisation),
            [{"id": org_id, "name": "Bench УК", "inn": "1655000000", "org_type": "management_company",
              "ppa_guid": uuid.uuid4(), "region_code": "16", "created_at": _now(), "updated_at": _now()}],
        )  # fmt: skip
    chunk = 5000
    for start in range(0, accounts, chunk):
        n = min(chunk, accounts - start)
        houses, flats, accs, links, ledger = [], [], [], [], []
        for i in range(n):
            hid, pid, aid = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
            address = f"г. Казань, ул. Баумана, д. {i % 90 + 1}"
            houses.append({"id": hid, "fias_house_guid": uuid.uuid4(), "address": address,
                           "region": "16", "created_at": _now(), "updated_at": _now()})  # fmt: skip
            flats.append({"id": pid, "house_id": hid, "number_raw": "1", "number_norm": "1",
                          "kind": "apartment", "residential": True,
                          "created_at": _now(), "updated_at": _now()})  # fmt: skip
            kind = rng.random()
            accs.append({
                "id": aid, "organisation_id": org_id, "account_number": f"B{start + i:09d}",
                "payer_kind": "person",
                "closed": False, "dispute": kind < 0.03, "bankruptcy": 0.03 <= kind < 0.05,
                "last_name": "Иванов", "first_name": "Иван", "middle_name": "Иванович",
                "birth_date": date(1970, 1, 1), "birth_place": None if 0.05 <= kind < 0.12 else "г. Казань",
                "snils": None if 0.12 <= kind < 0.2 else random_valid_snils(rng),
                "created_at": _now(), "updated_at": _now(),
            })  # fmt: skip
            links.append({"account_id": aid, "premises_id": pid})
            big = 0.2 <= kind < 0.22  # over the 500,000 ₽ limit
            months = []
            for p, due in zip(periods, dues, strict=True):
                charged = Decimal(rng.randrange(150000, 600000) / 100) * (10 if big else 1)
                paid = charged if rng.random() < 0.6 else Decimal(0)
                months.append((p, charged, paid, due))
            ledger.append({"account_id": aid, "months": encode_months(months)})
        await insert_ledger_rows(engine, houses, flats, accs, links, ledger)
    await engine.dispose()
    return org_id


def _now():  # noqa: ANN202
    from app.db.base import utcnow

    return utcnow()


async def run(url: str, org_id: uuid.UUID, chunk: int) -> tuple[float, dict[str, object]]:
    """Time one readiness run over every account of the organisation."""
    courts = [{"region": "16", "court": {"name": "Участок № 1", "district": "1", "address": "г. Казань"}}]
    settings = Settings(_env_file=None, database={"url": url}, court={"courts": courts})  # type: ignore[call-arg]
    rules = court_rules(settings)
    engine = create_engine(url)
    sessionmaker = create_sessionmaker(engine)
    started = time.perf_counter()
    async with sessionmaker() as session:
        r = await create_run(
            session=session, organisation_id=org_id, on_date=ON, group_by="account", account_ids=None
        )

        async def commit(_done: int, _total: int) -> None:
            await session.commit()

        await execute_run(session=session, run=r, rules=rules, chunk=chunk, on_chunk=commit)
        await session.commit()
        summary = {"total": r.total, "ready": r.ready, "blocked": r.blocked, "blockers": r.blockers}
    elapsed = time.perf_counter() - started
    await engine.dispose()
    return elapsed, summary


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--months", type=int, default=36)
    parser.add_argument("--chunk", type=int, default=2000)
    add_pg_argument(parser)
    parser.add_argument("--pairs", type=int, default=3, help="readiness runs interleaved with floor replays")
    args = parser.parse_args()
    url = await fresh_database(args.pg, "bench-court")
    t0 = time.perf_counter()
    org_id = await seed(url, args.accounts, args.months)
    seeded = time.perf_counter() - t0
    backend = "postgresql" if args.pg else "sqlite"
    print(f"backend={backend} accounts={args.accounts} months={args.months} seed={seeded:.1f}s")
    if args.pg:
        elapsed, summary = await run(url, org_id, args.chunk)
        print(f"readiness run: {elapsed:.1f}s ({args.accounts / elapsed:,.0f} accounts/s) {summary}")
        print("floor: measured on SQLite only (the replay uses the stdlib sqlite3 driver)")
        return
    path = url.removeprefix("sqlite+aiosqlite:///")
    snapshot, replica = f"{path}.snapshot", f"{path}.floor"
    copy_sqlite(path, snapshot)
    log = SqlLog()
    pairs = Pairs()
    for i in range(args.pairs):
        if i == 0:
            with log.recording():
                elapsed, summary = await run(url, org_id, args.chunk)
        else:
            elapsed, summary = await run(url, org_id, args.chunk)
        print(f"readiness run: {elapsed:.1f}s ({args.accounts / elapsed:,.0f} accounts/s) {summary}")
        copy_sqlite(snapshot, replica)
        started = time.perf_counter()
        rows = replay_sqlite(replica, log)
        floor = time.perf_counter() - started
        print(f"floor: {log.statements} statements replayed with sqlite3, {rows:,} rows read, {floor:.2f}s")
        pairs.add(elapsed * 1000, floor * 1000)
    print(pairs.line(f"court readiness, {args.accounts:,} accounts × {args.months} months, SQLite"))


if __name__ == "__main__":
    asyncio.run(main())
