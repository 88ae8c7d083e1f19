"""Bench the domain's share of the house-data sync: storing H houses × P premises, two months, no GIS.

Run: `.venv/bin/python bench/bench_house_store.py [--houses 200] [--premises 100]`. SQLite gateway database
(migrated), billing's houses, premises and accounts inserted first (not timed); then `store_house` is called
once a house for November and again for December with the same answers (an unchanged month: the usual case
of a monthly sync), each house in its own transaction as the sync does. No exchanges: what is timed is the
snapshot rows, the billing match, the digest and the diff — the gateway's work per house outside the exchange
engine. Floor: every SQL statement the store sent, as the driver received it, replayed with the stdlib
sqlite3 driver on a copy of the database taken before the first month.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import Table, insert  # noqa: E402

from app.db.engine import create_engine, create_sessionmaker  # noqa: E402
from app.db.migrate import upgrade  # noqa: E402
from app.db.models.accounts import Account, AccountPremises, House, Premises  # noqa: E402
from app.db.models.core import Organisation  # noqa: E402
from app.domain.houses.sync import store_house  # noqa: E402
from app.gis_client.messages import Accommodation, HouseData, HousePremises, IndividualPayer, Payer  # noqa: E402
from app.gis_client.messages import Account as GisAccount  # noqa: E402
from bench.floor import SqlLog, copy_sqlite, format_ratio, replay_sqlite  # noqa: E402

MONTHS = (date(2026, 11, 1), date(2026, 12, 1))


def _house(h: int, flats: int) -> tuple[uuid.UUID, HouseData, list[GisAccount]]:
    """One house as GIS answers it: `flats` flats, one account each (a seventh without a cadastral number)."""
    fias = uuid.uuid5(uuid.NAMESPACE_URL, f"bench-house-{h}")
    premises = tuple(
        HousePremises(
            guid=str(uuid.uuid5(fias, f"p{i}")), unique_number=f"{h:010d}-{i}", kind="residential",
            number=str(i), cadastral_number=None if i % 7 == 0 else f"16:50:{h:07d}:{i}",
            total_area=Decimal("40.5") + i, gross_area=Decimal("25.1"), entrance=str(i // 20 + 1),
            floor=str(i % 5 + 1),
        )
        for i in range(1, flats + 1)
    )  # fmt: skip
    house = HouseData(
        unique_number=f"{h:010d}", modified=datetime(2026, 11, 20, tzinfo=UTC), kind="apartment_building",
        fias_house_guid=str(fias), house_guid=str(uuid.uuid5(fias, "house")), total_area=Decimal("6000"),
        used_year=1980, floor_count="5", premises=premises,
    )  # fmt: skip
    accounts = [
        GisAccount(
            kind="isRCAccount", account_guid=str(uuid.uuid5(fias, f"a{i}")),
            unified_account_number=f"{h:05d}{i:03d}АБ", service_id=None, account_number=f"{h}-{i}",
            total_square=Decimal("40.5") + i,
            payer=Payer(individual=IndividualPayer(surname="Иванов", first_name="Иван", snils="11223344595")),
            accommodations=(Accommodation("PremisesGUID", premises[i - 1].guid),),
        )
        for i in range(1, flats + 1)
    ]  # fmt: skip
    return fias, house, accounts


async def run(houses: int, flats: int) -> dict[str, Any]:
    """Prepare the database and billing, store every house for two months; return the timings."""
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        url = f"sqlite+aiosqlite:///{tmp / 'gateway.db'}"
        await asyncio.to_thread(upgrade, url)
        engine = create_engine(url)
        sessionmaker = create_sessionmaker(engine)
        data = [_house(h, flats) for h in range(houses)]
        now = datetime.now(UTC)
        org_id = uuid.uuid4()
        stamps = {"created_at": now, "updated_at": now}
        tables: dict[str, Table] = {m.__tablename__: m.__table__ for m in (House, Premises, Account)}  # type: ignore[misc]
        async with sessionmaker() as session, session.begin():
            session.add(Organisation(id=org_id, name="ООО «РЦ Бенч»", inn="7701234567",
                                     org_type="settlement_centre", ppa_guid=uuid.uuid4()))  # fmt: skip
            await session.flush()
            for h, (fias, _house_data, accounts) in enumerate(data):
                house_id = uuid.uuid4()
                await session.execute(
                    insert(tables["houses"]).values(
                        id=house_id, fias_house_guid=fias, address=f"д. {h}", **stamps
                    )
                )
                premises = [
                    {"id": uuid.uuid4(), "house_id": house_id, "number_raw": str(i), "number_norm": str(i),
                     "kind": "apartment", "residential": True, **stamps}
                    for i in range(1, flats + 1)
                ]  # fmt: skip
                billing = [
                    {"id": uuid.uuid4(), "organisation_id": org_id, "account_number": a.account_number,
                     "els": a.unified_account_number, "payer_kind": "person", "closed": False,
                     "dispute": False, "bankruptcy": False, **stamps}
                    for a in accounts
                ]  # fmt: skip
                await session.execute(insert(tables["premises"]), premises)
                await session.execute(insert(tables["accounts"]), billing)
                await session.execute(
                    insert(AccountPremises),
                    [
                        {"account_id": a["id"], "premises_id": p["id"]}
                        for a, p in zip(billing, premises, strict=True)
                    ],
                )
        copy_sqlite(tmp / "gateway.db", tmp / "snapshot.db")
        log = SqlLog()
        months: dict[str, dict[str, float]] = {}
        with log.recording():
            for month in MONTHS:
                wall, cpu = time.perf_counter(), time.process_time()
                changes = 0
                for _fias, house, accounts in data:
                    async with sessionmaker() as session, session.begin():
                        stored = await store_house(
                            session, organisation_id=org_id, month=month, house=house, accounts=accounts,
                            operation_id=None,
                        )  # fmt: skip
                    changes += len(stored.changes)
                wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
                months[month.isoformat()[:7]] = {
                    "wall_s": round(wall, 2), "cpu_s": round(cpu, 2),
                    "cpu_ms_per_house": round(cpu * 1000 / houses, 1), "changes": changes,
                }  # fmt: skip
        await engine.dispose()
        copy_sqlite(tmp / "snapshot.db", tmp / "floor.db")
        started = time.perf_counter()
        replay_sqlite(tmp / "floor.db", log)
        replay_s = time.perf_counter() - started
    cpu_total = sum(m["cpu_s"] for m in months.values())
    return {
        "houses": houses,
        "premises_per_house": flats,
        "months": months,
        "cpu_s": round(cpu_total, 2),
        "floor": {"sql_statements": log.statements, "replay_s": round(replay_s, 2)},
    }


def main() -> None:
    """Parse arguments, run, print JSON and the ratio line."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--houses", type=int, default=200)
    parser.add_argument("--premises", type=int, default=100, help="flats a house (one account each)")
    args = parser.parse_args()
    result = asyncio.run(run(args.houses, args.premises))
    print(json.dumps(result, indent=2, ensure_ascii=False))  # noqa: T201
    name = (
        f"house snapshots stored, {args.houses:,} × {args.premises} × 2 months, SQLite, CPU (floor: its SQL)"
    )
    print(format_ratio(name, result["cpu_s"], result["floor"]["replay_s"], "s"))  # noqa: T201


if __name__ == "__main__":
    main()
