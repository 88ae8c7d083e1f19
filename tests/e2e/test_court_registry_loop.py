"""The registry loop against the stand, driven by bulk outcomes imports: an order in force is placed in GIS's
registry by itself, a payment covering it records the repayment, a late cancellation annuls it; a debt found
only in GIS is imported, linked to its account and pre-fills a debt-request answer."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from app.domain.accounts import account_id_for
from app.gis_stand.models import Debt, Org
from tests.e2e.conftest import GatewayHandle, StandHandle
from tests.e2e.court_support import (
    NSI_365,
    flat_premises,
    import_accounts,
    ledger,
    months_before,
    person,
    reconcile,
    stand_flats,
    subrequest_premises,
)
from tests.factories import COURTS

pytestmark = [pytest.mark.e2e]

FILED = date.today() - timedelta(days=90)


@pytest.fixture
def gateway_overrides(tmp_path: Path) -> dict[str, Any]:
    """The court table, the loop switched on with its NSI 365 annulment reason."""
    return {
        "upload_dir": tmp_path / "uploads",
        "court_courts": COURTS,
        "court_pilot_regions": ["16"],
        "court_registry_auto": True,
        "court_annulment_reason_code": NSI_365["reason_code"],
        "court_annulment_reason_guid": NSI_365["reason_guid"],
    }


async def _outcomes(gateway: GatewayHandle, org_id: str, rows: list[str]) -> dict[str, Any]:
    body = "case_id,event,date,act_number,fssp_number,amount\n" + "\n".join(rows) + "\n"
    resp = await gateway.client.post(
        "/api/v1/court-cases/outcomes",
        data={"organisation_id": org_id},
        files={"file": ("outcomes.csv", body.encode(), "text/csv")},
    )
    assert resp.status_code == 202, resp.text
    done = await gateway.wait_operation(resp.json())
    report: dict[str, Any] = done["result"]
    assert report["rejected"] == 0, report
    return report


async def _registry_until(
    gateway: GatewayHandle, case_id: str, ready: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while True:
        resp = await gateway.client.get(f"/api/v1/court-cases/{case_id}/registry")
        assert resp.status_code == 200, resp.text
        data: dict[str, Any] = resp.json()
        if ready(data):
            return data
        assert time.monotonic() < deadline, data
        await asyncio.sleep(0.2)


async def _stand_debt(stand: StandHandle, guid: str) -> Debt:
    async with stand.runtime.sessionmaker() as session:
        debt = await session.scalar(select(Debt).where(Debt.guid == guid))
        assert debt is not None
        return debt


async def test_outcomes_drive_place_repayment_and_annulment(
    gateway: GatewayHandle, stand: StandHandle, tmp_path: Path
) -> None:
    org = await gateway.new_org(region_code="16")
    await stand.seed(ppa_guid=org["ppa_guid"], cert_pem=gateway.keys.cert_pem, subrequests=0, accounts=1)
    (flat,) = (await stand_flats(stand, org["ppa_guid"]))[:1]
    row = {
        "account_number": "L0001",
        "payer": person(random.Random(7)),
        "premises": flat_premises(flat),
        "ledger": ledger(months_before(FILED, 12, skip=1), Decimal(3000)),
    }
    await import_accounts(gateway, org["id"], [row], tmp_path)
    account = account_id_for(uuid.UUID(org["id"]), "L0001")
    created = await gateway.client.post(
        "/api/v1/court-cases",
        json={"organisation_id": org["id"], "account_ids": [str(account)], "on_date": FILED.isoformat()},
    )
    assert created.status_code == 201, created.text
    cid = created.json()["id"]

    issued, served = FILED + timedelta(days=5), FILED + timedelta(days=8)
    await _outcomes(
        gateway,
        org["id"],
        [
            f"{cid},filed,{FILED},,,",
            f"{cid},issued,{issued},2-555/2026,,",
            f"{cid},received,{served},,,",
        ],
    )
    case = (await gateway.client.get(f"/api/v1/court-cases/{cid}")).json()
    in_force = date.fromisoformat(case["objection_deadline"]) + timedelta(days=1)
    await _outcomes(gateway, org["id"], [f"{cid},in_force,{in_force},,,"])

    # In force → PlacingDebt by itself.
    placed = await _registry_until(gateway, cid, lambda d: d["placement"] == "placed")
    guid = placed["gis_debt_guid"]
    stand_debt = await _stand_debt(stand, guid)
    assert stand_debt.status == "PUBLISHED" and stand_debt.act_number == "2-555/2026"

    # Writ to ФССП, then payments: a part first (nothing yet), then the rest → PlacingDebtRepayment.
    amount = Decimal(placed["amount"])
    paid_on = in_force + timedelta(days=10)
    await _outcomes(
        gateway,
        org["id"],
        [
            f"{cid},enforcement,{in_force + timedelta(days=2)},,77001/26/16001-ИП,",
            f"{cid},payment,{paid_on - timedelta(days=1)},,,1000.00",
            f"{cid},payment,{paid_on},,,{amount - Decimal('1000.00')}",
        ],
    )
    repaid = await _registry_until(gateway, cid, lambda d: d["repayment_status"] == "PAID")
    assert repaid["repaid_on"] == paid_on.isoformat()
    assert (await _stand_debt(stand, guid)).repayment_status == "PAID"

    # A late objection with the term restored cancels the order → AnnulmentDebt (NSI 365 from settings).
    await _outcomes(gateway, org["id"], [f"{cid},cancelled,{paid_on + timedelta(days=5)},,,"])
    annulled = await _registry_until(gateway, cid, lambda d: d["gis_status"] == "CANCELLED")
    assert annulled["annulled_on"] is not None
    stand_debt = await _stand_debt(stand, guid)
    assert stand_debt.status == "CANCELLED" and stand_debt.annulment_code == NSI_365["reason_code"]


async def test_debt_only_in_gis_is_imported_linked_and_prefills_an_answer(
    gateway: GatewayHandle, stand: StandHandle, tmp_path: Path
) -> None:
    client = gateway.client
    org = await gateway.new_org(region_code="16")
    await stand.seed(ppa_guid=org["ppa_guid"], cert_pem=gateway.keys.cert_pem, subrequests=3, accounts=12)
    flats = await stand_flats(stand, org["ppa_guid"])
    asked = await subrequest_premises(stand, org["ppa_guid"])
    rng = random.Random(11)
    rows = [
        {
            "account_number": f"G{i:03d}",
            "payer": person(rng, last_name=f"Гисов{i}"),
            "premises": flat_premises(flat),
            "ledger": ledger(months_before(FILED, 3), Decimal(1000)),
        }
        for i, flat in enumerate(flats)
    ]
    await import_accounts(gateway, org["id"], rows, tmp_path)
    index, flat = next((i, f) for i, f in enumerate(flats) if f.stand_premises_id in asked)
    guid = str(uuid.uuid4())
    async with stand.runtime.sessionmaker() as session, session.begin():
        stand_org = await session.scalar(select(Org).where(Org.ppa_guid == org["ppa_guid"].lower()))
        assert stand_org is not None
        today = date.today()
        session.add(
            Debt(
                guid=guid, org_id=stand_org.id, premises_id=flat.stand_premises_id,
                surname=f"Гисов{index}", first_name="Иван", act_number="2-4242/2025",
                act_date=today - timedelta(days=100), act_pronounced=today - timedelta(days=130),
                amount=Decimal(1000), status="PUBLISHED", repayment_status="UNPAID",
                first_published=today, last_published=today, attachments="[]",
            )
        )  # fmt: skip

    recon = await reconcile(gateway, org["id"])
    assert guid in recon["imported"] and guid not in recon["unlinked"], recon
    account = account_id_for(uuid.UUID(org["id"]), f"G{index:03d}")
    debts = (await client.get("/api/v1/court-confirmed-debts", params={"organisation_id": org["id"]})).json()
    mine = next(d for d in debts if d["gis_debt_guid"] == guid)
    assert mine["account_id"] == str(account) and mine["case_id"] is None
    assert guid not in (await reconcile(gateway, org["id"]))["imported"]  # once only

    base = f"/api/v1/organisations/{org['id']}/debt-requests"
    await gateway.wait_operation((await client.post(f"{base}/fetch", json={})).json())
    matched = await gateway.wait_operation((await client.post(f"{base}/match", json={})).json())
    assert matched["result"]["prefilled"] >= 1, matched
    listed = (await client.get("/api/v1/debt-requests", params={"organisation_id": org["id"]})).json()
    answers = [
        (await client.get(f"/api/v1/debt-requests/{r['id']}")).json()["answer"]
        for r in listed["items"]
        if r["status"] == "prepared"
    ]
    assert any(a and a["debt_guids"] == [guid] for a in answers), answers
