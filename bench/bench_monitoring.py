"""Bench: the monthly monitoring snapshot over N accounts × M months (target: 1,000,000 × 36 ≤ 2 min on PG).

    scripts/with-postgres.sh .venv/bin/python bench/bench_monitoring.py --pg --accounts 1000000 --months 36
    .venv/bin/python bench/bench_monitoring.py --accounts 100000 --months 36      # SQLite file in a temp dir

Seeds one organisation through the accounts import's bulk writer (`app.db.bulk_accounts.write_accounts`:
COPY on PostgreSQL, executemany on SQLite) — 1,000 houses, one flat per account, four consumer categories,
ledgers drawn from a pool of deterministic payment patterns — then times:

- gisgw: `compute_snapshot` (the operation's path: one pass over the ledgers in chunks, stored rows);
- floor: the least code computing the same figures from the same ledgers: one streamed SELECT of
  (category, house, months text) and the ageing rule inlined on the raw JSON, nothing stored.

Both results are compared (debt, buckets, accounts, debtors), and the ratio printed as
`monitoring: gisgw <s>, floor <s>, ratio <r>`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import time
import uuid
from collections import defaultdict
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert, text  # noqa: E402

from app.db.base import utcnow  # noqa: E402
from app.db.bulk_accounts import AccountRows, CopyRows, copy_text, write_accounts  # noqa: E402
from app.db.engine import create_engine, create_sessionmaker  # noqa: E402
from app.db.models.core import Organisation  # noqa: E402
from app.domain.accounts.ledger import encode_months, merge_months  # noqa: E402
from app.domain.accounts.rows import account_id_for, house_id_for, premises_id_for  # noqa: E402
from app.domain.kernel.penalties import due_date_for  # noqa: E402
from app.domain.monitoring.figures import BUCKETS, month_end  # noqa: E402
from app.domain.monitoring.snapshots import compute_snapshot  # noqa: E402
from app.settings import MonitoringSettings  # noqa: E402
from bench.ledger_db import add_pg_argument, fresh_database  # noqa: E402

MONTH = date(2026, 3, 1)
CATEGORIES = ("owner", "owner", "owner", "social_tenant", "legal_entity", "unknown")
HOUSES = 1000
POOL = 997  # distinct ledgers (prime, so accounts of one house get different ones)


def _periods(n: int) -> list[date]:
    out, y, m = [], MONTH.year, MONTH.month
    for _ in range(n):
        out.append(date(y, m, 1))
        m -= 1
        if m == 0:
            y, m = y - 1, 12
    return out[::-1]


def ledger_pool(months: int) -> list[str]:
    """Return POOL stored ledgers: regular payers, late payers, partial payers, long debtors, overpayers."""
    rng = random.Random(15)
    periods = _periods(months)
    pool = []
    for _ in range(POOL):
        kind = rng.random()
        charge = rng.randrange(80_000, 900_000)
        stop = rng.randrange(months)  # a long debtor stops paying here
        rows = []
        for i, p in enumerate(periods):
            if kind < 0.55:
                paid = charge
            elif kind < 0.75:
                paid = charge if rng.random() < 0.7 else 0
            elif kind < 0.9:
                paid = charge // 2
            elif kind < 0.97:
                paid = charge if i < stop else 0
            else:
                paid = charge * 2 if i % 3 == 0 else 0
            rows.append((p, f"{charge / 100:.2f}", f"{paid / 100:.2f}", due_date_for(p)))
        pool.append(encode_months(rows))
    return pool


def chunk_rows(org_id: uuid.UUID, start: int, n: int, pool: list[str]) -> AccountRows:
    """Return accounts start … start+n−1 as the bulk writer's row tuples."""
    rows = AccountRows()
    for i in range(start, start + n):
        fias = uuid.UUID(int=i % HOUSES + 1)
        house = house_id_for(fias)
        if i < HOUSES:
            rows.houses[house] = (house, fias, None, f"г. Казань, ул. Баумана, д. {i + 1}", "16")
        flat = str(i // HOUSES + 1)
        premises = premises_id_for(house, flat)
        rows.premises[premises] = (premises, house, flat, flat, "apartment", True, None, None)
        number = f"M{i:09d}"
        account = account_id_for(org_id, number)
        rows.accounts[account] = (
            account, org_id, number, None, None, None, None, None, False, False, False, "person",
            "Иванов", "Иван", None, None, None, None, None, None, None, None, None, None, None, None,
            CATEGORIES[i % len(CATEGORIES)],
        )  # fmt: skip
        rows.links[account] = [(account, premises, None)]
        rows.ledger[account] = pool[i % POOL]
    return rows


def as_copy(rows: AccountRows) -> CopyRows:
    """Encode a chunk as the COPY text the import's fast path writes."""
    links = [link for ls in rows.links.values() for link in ls]
    return CopyRows(
        copy={
            "imp_houses": copy_text(rows.houses.values()),
            "imp_premises": copy_text(rows.premises.values()),
            "imp_accounts": copy_text(rows.accounts.values()),
            "imp_ledger": copy_text(rows.ledger.items()),
            "account_premises": copy_text(links),
        },
        account_ids="{" + ",".join(map(str, rows.accounts)) + "}",
        premises_ids="{" + ",".join(map(str, rows.premises)) + "}",
    )


async def seed(url: str, accounts: int, months: int) -> uuid.UUID:
    """Insert one organisation with `accounts` accounts of `months` ledger months each."""
    engine = create_engine(url)
    org_id = uuid.uuid4()
    pool = ledger_pool(months)
    async with engine.begin() as conn:
        await conn.execute(
            insert(Organisation),
            [{"id": org_id, "name": "Bench УК", "inn": "1655000000", "org_type": "management_company",
              "ppa_guid": uuid.uuid4(), "region_code": "16", "created_at": utcnow(), "updated_at": utcnow()}],
        )  # fmt: skip
    chunk = 20_000
    for start in range(0, accounts, chunk):
        rows = chunk_rows(org_id, start, min(chunk, accounts - start), pool)
        async with engine.begin() as conn:
            pg = conn.dialect.name == "postgresql"
            await write_accounts(conn, as_copy(rows) if pg else rows, merge_ledger=merge_months)
    async with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execute(text("ANALYZE"))
    await engine.dispose()
    return org_id


async def run_gisgw(url: str, org_id: uuid.UUID) -> tuple[float, dict[str, Any]]:
    """Time `compute_snapshot` (stored in one transaction, as the operation does)."""
    engine = create_engine(url)
    sessionmaker = create_sessionmaker(engine)
    cpu = time.process_time()
    started = time.perf_counter()
    async with sessionmaker() as session, session.begin():
        snapshot = await compute_snapshot(
            session=session, organisation_id=org_id, month=MONTH, settings=MonitoringSettings()
        )
        totals = dict(snapshot.totals)
    elapsed = time.perf_counter() - started
    print(f"gisgw: this process's CPU {time.process_time() - cpu:.1f}s", flush=True)
    await engine.dispose()
    return elapsed, totals


_FLOOR_SQL = """
SELECT a.consumer_category, p.house_id, l.months
FROM accounts a
JOIN account_ledgers l ON l.account_id = a.id
JOIN account_premises ap ON ap.account_id = a.id
JOIN premises p ON p.id = ap.premises_id
WHERE a.organisation_id = :org
"""


def _bucket(overdue: int) -> int:
    for i, (_name, _low, high) in enumerate(BUCKETS):
        if high is None or overdue <= high:
            return i
    raise AssertionError


async def run_floor(url: str, org_id: uuid.UUID) -> tuple[float, dict[str, Any]]:
    """Time the floor: one streamed SELECT, the same rule on the raw ledger JSON, per house and category."""
    engine = create_engine(url)
    month, last = MONTH.isoformat(), month_end(MONTH).isoformat()
    last_index = MONTH.year * 12 + MONTH.month
    bucket_of = [_bucket(i) for i in range(400)]
    groups: dict[tuple[Any, str], list[int]] = defaultdict(lambda: [0] * 11)
    cpu = time.process_time()
    started = time.perf_counter()
    async with engine.connect() as conn:
        org = org_id.hex if conn.dialect.name == "sqlite" else org_id
        result = await conn.stream(text(_FLOOR_SQL), {"org": org}, execution_options={"yield_per": 10_000})
        async for partition in result.partitions(10_000):
            for category, house, months_text in partition:
                charged = paid = debt = credit = 0
                ages = [0] * 6
                unpaid = []
                for p, c, d, u in json.loads(months_text):
                    if p > month:
                        break
                    if c == d and p != month:
                        continue
                    ck, pk = int(c.replace(".", "")), int(d.replace(".", ""))
                    if p == month:
                        charged += ck
                        paid += pk
                    if ck > pk:
                        unpaid.append((u, ck - pk))
                    else:
                        credit += pk - ck
                for u, rest in unpaid:
                    if credit >= rest:
                        credit -= rest
                        continue
                    rest -= credit
                    credit = 0
                    if u >= last:
                        continue
                    ages[bucket_of[last_index - int(u[:4]) * 12 - int(u[5:7]) + 1]] += rest
                    debt += rest
                g = groups[(house, category)]
                g[0] += 1
                g[1] += debt > 1
                g[2] += charged
                g[3] += paid
                g[4] += debt
                for i in range(6):
                    g[5 + i] += ages[i]
    elapsed = time.perf_counter() - started
    print(f"floor: this process's CPU {time.process_time() - cpu:.1f}s", flush=True)
    await engine.dispose()
    total = [sum(g[i] for g in groups.values()) for i in range(11)]
    names = ("accounts", "debtors", "charged", "paid", "debt", *(b[0] for b in BUCKETS))
    return elapsed, dict(zip(names, total, strict=True))


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--months", type=int, default=36)
    add_pg_argument(parser)
    args = parser.parse_args()
    url = await fresh_database(args.pg, "bench-monitoring")
    t0 = time.perf_counter()
    org_id = await seed(url, args.accounts, args.months)
    seeded = time.perf_counter() - t0
    backend = "postgresql" if args.pg else "sqlite"
    print(f"backend={backend} accounts={args.accounts} months={args.months} seed={seeded:.1f}s", flush=True)
    print(f"load average before the runs: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", flush=True)
    gisgw, totals = await run_gisgw(url, org_id)
    print(f"gisgw snapshot: {gisgw:.1f}s ({args.accounts / gisgw:,.0f} accounts/s)", flush=True)
    floor, figures = await run_floor(url, org_id)
    print(f"floor: {floor:.1f}s", flush=True)
    for name, kop in figures.items():
        mine = totals[name]
        same = mine == kop if name in ("accounts", "debtors") else int(Decimal(mine) * 100) == kop
        assert same, f"{name}: gisgw {mine}, floor {kop}"
    print(f"same figures: debt {totals['debt']} ₽, debtors {totals['debtors']} of {totals['accounts']}")
    print(f"monitoring: gisgw {gisgw:.1f}s, floor {floor:.1f}s, ratio {gisgw / floor:.2f}")


if __name__ == "__main__":
    asyncio.run(main())
