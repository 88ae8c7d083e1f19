"""Helpers for the court-order end-to-end tests: stand flats, billing rows for the accounts import, a case
driven to "in force" and its debt placed in the stand's registry."""

from __future__ import annotations

import contextlib
import json
import random
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.engine import create_engine, create_sessionmaker
from app.domain.accounts import account_id_for
from app.domain.kernel.penalties import due_date_for
from app.domain.kernel.snils import random_valid_snils
from app.gis_stand.models import House, Org, Premises, Subrequest
from tests.e2e.conftest import GatewayHandle, StandHandle

#: NSI 365 «Причина аннулирования» / NSI 366 (repayment annulment): codes and GUIDs as the caller sends them.
NSI_365 = {"reason_code": "1", "reason_guid": "3f1c3b0e-0b6a-4a0a-9d55-5d1e6f6a0001", "reason_text": "Ошибка"}
NSI_366 = {"reason_code": "2", "reason_guid": "3f1c3b0e-0b6a-4a0a-9d55-5d1e6f6a0002", "reason_text": "Ошибка"}


@dataclass(frozen=True)
class StandFlat:
    """A flat of the stand's housing-fund registry (what GIS knows about the premises)."""

    stand_premises_id: int
    premises_guid: str
    house_guid: str
    fias_guid: str
    number: str
    address: str


async def stand_flats(stand: StandHandle, ppa_guid: str) -> list[StandFlat]:
    """Return the organisation's flats in the stand, in id order."""
    async with stand.runtime.sessionmaker() as session:
        rows = (
            await session.execute(
                select(
                    Premises.id, Premises.guid, House.guid, House.fias_guid, Premises.number, House.address
                )
                .join(House, House.id == Premises.house_id)
                .join(Org, Org.id == House.org_id)
                # Flats only: the seed also adds non-residential premises without accounts.
                .where(Org.ppa_guid == ppa_guid.lower(), Premises.kind == "residential")
                .order_by(Premises.id)
            )
        ).all()
    return [StandFlat(*r) for r in rows]


async def subrequest_premises(stand: StandHandle, ppa_guid: str) -> set[int]:
    """Return the stand premises ids that have a subrequest addressed to the organisation."""
    async with stand.runtime.sessionmaker() as session:
        ids = await session.scalars(
            select(Subrequest.premises_id)
            .join(Org, Org.id == Subrequest.org_id)
            .where(Org.ppa_guid == ppa_guid.lower())
        )
        return {i for i in ids if i is not None}


def months_before(on: date, count: int, *, skip: int = 0) -> list[date]:
    """Return `count` billing months ending `skip` months before the month of `on` (newest first)."""
    out: list[date] = []
    y, m = on.year, on.month
    for i in range(count + skip):
        m -= 1
        if m == 0:
            y, m = y - 1, 12
        if i >= skip:
            out.append(date(y, m, 1))
    return out


def ledger(months: list[date], charged: Decimal, paid: Decimal = Decimal(0)) -> list[dict[str, str]]:
    """Return ledger rows for the accounts import."""
    return [
        {
            "period": p.isoformat(),
            "charged": f"{charged:.2f}",
            "paid": f"{paid:.2f}",
            "due_date": due_date_for(p).isoformat(),
        }
        for p in months
    ]


def person(rng: random.Random, **overrides: Any) -> dict[str, Any]:
    """Return a complete citizen payer (SNILS, birth data); overrides remove or change fields."""
    payer: dict[str, Any] = {
        "kind": "person",
        "last_name": rng.choice(["Петров", "Сидоров", "Кузнецов", "Волков"]),
        "first_name": rng.choice(["Пётр", "Иван", "Олег"]),
        "middle_name": "Сергеевич",
        "birth_date": date(rng.randint(1950, 2000), rng.randint(1, 12), rng.randint(1, 28)).isoformat(),
        "birth_place": "г. Казань",
        "snils": random_valid_snils(rng),
    }
    payer.update(overrides)
    return {k: v for k, v in payer.items() if v is not None}


def flat_premises(flat: StandFlat, *, region: str = "16") -> list[dict[str, Any]]:
    """Return the import's premises list for a stand flat, with the GIS GUIDs the stand knows."""
    return [
        {
            "fias_house_guid": flat.fias_guid,
            "hm_object_guid": flat.house_guid,
            "address": "Респ. Татарстан, г. Казань, " + flat.address.split(", ", 1)[-1],
            "region": region,
            "number": flat.number,
            "kind": "apartment",
            "gis_premises_guid": flat.premises_guid,
        }
    ]


async def import_accounts(
    gateway: GatewayHandle, org_id: str, rows: list[dict[str, Any]], folder: Path
) -> dict[str, Any]:
    """Upload rows through the accounts import (JSON Lines) and wait for its report."""
    path = folder / "accounts.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    with path.open("rb") as fh:
        resp = await gateway.client.post(
            "/api/v1/accounts/imports",
            data={"organisation_id": org_id, "format": "jsonl"},
            files={"file": ("accounts.jsonl", fh, "application/x-ndjson")},
        )
    assert resp.status_code == 202, resp.text
    done = await gateway.wait_operation(resp.json())
    report: dict[str, Any] = done["result"]
    assert report["rejected"] == 0, report
    return report


async def event(gateway: GatewayHandle, case_id: str, payload: dict[str, Any], status: int = 200) -> Any:
    """Post a court event to a case."""
    resp = await gateway.client.post(f"/api/v1/court-cases/{case_id}/events", json=payload)
    assert resp.status_code == status, resp.text
    return resp.json()


async def drive_to_in_force(gateway: GatewayHandle, case_id: str, filed: date, act_number: str) -> Any:
    """Submit, issue, serve and bring a draft case into force (after the objection deadline)."""
    await event(gateway, case_id, {"type": "submitted", "on_date": filed.isoformat()})
    issued = filed + timedelta(days=5)
    await event(
        gateway,
        case_id,
        {
            "type": "issued",
            "on_date": issued.isoformat(),
            "act_number": act_number,
            "case_number": act_number,
        },
    )
    served = await event(
        gateway, case_id, {"type": "received", "on_date": (issued + timedelta(days=3)).isoformat()}
    )
    deadline = date.fromisoformat(served["objection_deadline"])
    await event(gateway, case_id, {"type": "in_force", "on_date": deadline.isoformat()}, status=409)
    return await event(
        gateway, case_id, {"type": "in_force", "on_date": (deadline + timedelta(days=1)).isoformat()}
    )


async def put_act_file(gateway: GatewayHandle, case_id: str, data: bytes) -> None:
    """Attach the court act's file to the case."""
    resp = await gateway.client.put(
        f"/api/v1/court-cases/{case_id}/act-file", files={"file": ("prikaz.pdf", data, "application/pdf")}
    )
    assert resp.status_code == 200, resp.text


async def registry_action(
    gateway: GatewayHandle, case_id: str, action: str, body: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Run a registry action on the case's debt and return the operation's result."""
    resp = await gateway.client.post(f"/api/v1/court-cases/{case_id}/registry/{action}", json=body)
    assert resp.status_code == 202, resp.text
    done = await gateway.wait_operation(resp.json())
    result: dict[str, Any] = done["result"]
    return result


async def reconcile(gateway: GatewayHandle, org_id: str) -> dict[str, Any]:
    """Export GIS's registry and reconcile; return the report."""
    resp = await gateway.client.post(f"/api/v1/organisations/{org_id}/court-registry/reconcile")
    assert resp.status_code == 202, resp.text
    done = await gateway.wait_operation(resp.json())
    result: dict[str, Any] = done["result"]
    return result


@contextlib.asynccontextmanager
async def gateway_db(gateway: GatewayHandle) -> AsyncIterator[AsyncSession]:
    """A session on the gateway's database in one committed transaction (to stage uncertain states)."""
    engine = create_engine(gateway.settings.database.url)
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            yield session
    finally:
        await engine.dispose()


async def in_force_cases(
    gateway: GatewayHandle, stand: StandHandle, folder: Path, *, count: int, on: date
) -> tuple[dict[str, Any], list[str]]:
    """An organisation known to the stand with `count` ready debtors, each with an order in force."""
    org = await gateway.new_org(region_code="16")
    await stand.seed(ppa_guid=org["ppa_guid"], cert_pem=gateway.keys.cert_pem, subrequests=0, accounts=count)
    flats = await stand_flats(stand, org["ppa_guid"])
    rng = random.Random(count)
    rows = [
        {
            "account_number": f"R{i:04d}",
            "payer": person(rng),
            "premises": flat_premises(flat),
            "ledger": ledger(months_before(on, 12, skip=1), Decimal(3000)),
        }
        for i, flat in enumerate(flats[:count])
    ]
    await import_accounts(gateway, org["id"], rows, folder)
    case_ids: list[str] = []
    for i in range(count):
        account = account_id_for(uuid.UUID(org["id"]), f"R{i:04d}")
        created = await gateway.client.post(
            "/api/v1/court-cases",
            json={"organisation_id": org["id"], "account_ids": [str(account)], "on_date": on.isoformat()},
        )
        assert created.status_code == 201, created.text
        case_id = created.json()["id"]
        await drive_to_in_force(gateway, case_id, on, f"2-{100 + i}/2026")
        case_ids.append(case_id)
    return org, case_ids
