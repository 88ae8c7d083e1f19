"""Bench: write-off candidate selection over N accounts × M months (target: 1,000,000 × 36 ≤ 120 s on PG).

    .venv/bin/python bench/bench_writeoff.py --accounts 10000 --months 36                # SQLite file
    scripts/with-postgres.sh .venv/bin/python bench/bench_writeoff.py --pg --accounts 1000000 --months 36

Seeds with the court bench's seeding (`bench_court.seed`: one organisation, deterministic accounts, 36 months
to November 2025, 40 % of months unpaid), then times on 20 November 2026 (so the oldest twelve months are past
limitation):

- **gisgw**: the work of the `write-off-candidates` operation (`writeoff.select_all`): the cases, agreements,
  impossibilities and acts loaded, the ledgers streamed in partitions with progress after each, every
  candidate built with its penalties priced by court readiness's pricer, the totals by ground;
- **floor**: the least that reads the same ledgers and applies the same limitation rule: one streamed
  `SELECT months` on the driver (asyncpg, or sqlite3), `json.loads`, a month counted when its due date is on
  or before the last expired due date and charged ≠ paid, principal summed. No penalties, no objects.

Both must find the same months and principal; the last line is `writeoff: gisgw <s>, floor <s>, ratio <r>`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import sys
import time
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy.engine import make_url  # noqa: E402

from app.db.engine import create_engine, create_sessionmaker  # noqa: E402
from app.domain import writeoff  # noqa: E402
from app.domain.court.assessment import PenaltyPricer  # noqa: E402
from app.domain.court.rules import court_rules  # noqa: E402
from app.domain.writeoff.rules import is_expired  # noqa: E402
from app.settings import Settings  # noqa: E402
from bench.bench_court import seed  # noqa: E402
from bench.ledger_db import add_pg_argument, fresh_database  # noqa: E402

ON = date(2026, 11, 20)


async def run_gisgw(url: str, org_id: uuid.UUID) -> tuple[float, dict[str, Any], int]:
    """Time the selection operation's work; return seconds, its summary and the progress calls."""
    settings = Settings(_env_file=None, database={"url": url})  # type: ignore[call-arg]
    pricer = PenaltyPricer(court_rules(settings), ON).price
    engine = create_engine(url)
    calls = 0

    async def progress(_done: int, _total: int) -> None:
        nonlocal calls
        calls += 1

    started = time.perf_counter()
    async with create_sessionmaker(engine)() as session, session.begin():
        summary, _ = await writeoff.select_all(
            session=session, organisation_id=org_id, on_date=ON, pricer=pricer, progress=progress
        )
    elapsed = time.perf_counter() - started
    await engine.dispose()
    return elapsed, summary, calls


def _last_expired_due() -> str:
    """Return the last due date past limitation on ON (the rule is monotonic in the due date)."""
    day = ON
    while not is_expired(day, ON):
        day -= timedelta(days=1)
    return day.isoformat()


def _count(texts: Any, cutoff: str, acc: list[int]) -> None:
    for (text,) in texts:
        for _p, charged, paid, due in json.loads(text):
            if due <= cutoff and charged != paid:
                acc[0] += 1
                acc[1] += int(charged.replace(".", "")) - int(paid.replace(".", ""))


_FLOOR_SQL = (
    "SELECT l.months FROM account_ledgers l JOIN accounts a ON a.id = l.account_id "
    "WHERE a.organisation_id = {}"
)


async def run_floor(url: str, org_id: uuid.UUID) -> tuple[float, int, int]:
    """Time the floor; return seconds, months found and their principal (kopecks)."""
    cutoff = _last_expired_due()
    acc = [0, 0]
    u = make_url(url)
    started = time.perf_counter()
    if u.get_backend_name() == "postgresql":
        import asyncpg

        conn = await asyncpg.connect(
            user=u.username, password=u.password, host=u.host, port=u.port, database=u.database
        )
        try:
            async with conn.transaction():
                cursor = conn.cursor(_FLOOR_SQL.format("$1"), org_id, prefetch=5000)
                batch: list[Any] = []
                async for row in cursor:
                    batch.append(row)
                    if len(batch) == 5000:
                        _count(batch, cutoff, acc)
                        batch.clear()
                _count(batch, cutoff, acc)
        finally:
            await conn.close()
    else:
        db = sqlite3.connect(u.database or "")
        try:
            cur = db.execute(_FLOOR_SQL.format("?"), (org_id.hex,))
            while rows := cur.fetchmany(5000):
                _count(rows, cutoff, acc)
        finally:
            db.close()
    return time.perf_counter() - started, acc[0], acc[1]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--months", type=int, default=36)
    add_pg_argument(parser)
    args = parser.parse_args()
    url = await fresh_database(args.pg, "bench-writeoff")
    t0 = time.perf_counter()
    org_id = await seed(url, args.accounts, args.months)
    seeded = time.perf_counter() - t0
    floor, months, principal = await run_floor(url, org_id)
    elapsed, summary, calls = await run_gisgw(url, org_id)
    backend = "postgresql" if args.pg else "sqlite"
    print(f"backend={backend} accounts={args.accounts} months={args.months} seed={seeded:.1f}s on={ON}")
    print(
        f"gisgw: {elapsed:.1f}s ({args.accounts / elapsed:,.0f} accounts/s), {calls} progress reports, "
        f"{summary['months']:,} months, principal {summary['principal']}, penalties {summary['penalties']}"
    )
    print(f"floor: {floor:.1f}s, {months:,} months, principal {principal // 100}.{principal % 100:02d}")
    same = summary["months"] == months and summary["principal"] == f"{principal // 100}.{principal % 100:02d}"
    print(f"same months and principal: {same}")
    print(f"writeoff: gisgw {elapsed:.1f}s, floor {floor:.1f}s, ratio {elapsed / floor:.2f}")
    if not same:
        raise SystemExit(1)


if __name__ == "__main__":
    asyncio.run(main())
