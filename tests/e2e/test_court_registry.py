"""GIS registry of court-confirmed debts against the stand: place (act file in the file store, AttachmentHASH
checked), edit, annul (NSI 365), repayment and its annulment (NSI 366), reconcile by exportDebt pages."""

from __future__ import annotations

import json
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, func, insert, select, update

from app.db.models.court import CourtCase, CourtConfirmedDebt
from app.gis_stand.models import Debt, House, Org, StoredFile
from tests.e2e.conftest import GatewayHandle, StandHandle
from tests.e2e.court_support import (
    NSI_365,
    NSI_366,
    gateway_db,
    in_force_cases,
    put_act_file,
    reconcile,
    registry_action,
)
from tests.factories import COURTS

pytestmark = [pytest.mark.e2e]

ON = date.today() - timedelta(days=60)


@pytest.fixture
def gateway_overrides(tmp_path: Path) -> dict[str, Any]:
    """The court table and an upload folder of the test's own."""
    return {"upload_dir": tmp_path / "uploads", "court_courts": COURTS, "court_pilot_regions": ["16"]}


async def _stand_debt(stand: StandHandle, guid: str) -> Debt:
    async with stand.runtime.sessionmaker() as session:
        debt = await session.scalar(select(Debt).where(Debt.guid == guid))
        assert debt is not None
        return debt


async def _local(gateway: GatewayHandle, case_id: str) -> dict[str, Any]:
    resp = await gateway.client.get(f"/api/v1/court-cases/{case_id}/registry")
    assert resp.status_code == 200, resp.text
    data: dict[str, Any] = resp.json()
    return data


async def _stored_hash(stand: StandHandle, guid: str) -> str:
    async with stand.runtime.sessionmaker() as session:
        stored = await session.scalar(select(StoredFile).where(StoredFile.guid == guid.lower()))
        assert stored is not None and stored.completed
        return stored.gost94


async def test_place_edit_annul_and_place_again(
    gateway: GatewayHandle, stand: StandHandle, tmp_path: Path
) -> None:
    _, (case_id,) = await in_force_cases(gateway, stand, tmp_path, count=1, on=ON)
    client = gateway.client
    await put_act_file(gateway, case_id, b"%PDF-1.4 court order 2-100/2026")

    placed = await registry_action(gateway, case_id, "place")
    assert placed["ok"], placed
    guid = placed["gis_debt_guid"]
    debt = await _stand_debt(stand, guid)
    assert (debt.status, debt.act_number, debt.repayment_status) == ("PUBLISHED", "2-100/2026", "UNPAID")
    case = (await client.get(f"/api/v1/court-cases/{case_id}")).json()
    assert (debt.act_date.isoformat(), debt.act_pronounced) == (case["in_force_on"], ON + timedelta(days=5))
    (att,) = json.loads(debt.attachments)
    assert att["kind"] == "JudicalActAttachment"
    assert att["att"]["hash"] == await _stored_hash(stand, att["att"]["attachment_guid"])
    local = await _local(gateway, case_id)
    assert (local["placement"], local["gis_debt_guid"], local["gis_status"]) == ("placed", guid, "PUBLISHED")
    again = await client.post(f"/api/v1/court-cases/{case_id}/registry/place")
    assert again.status_code == 409 and "already placed" in again.json()["detail"], again.text

    # Editing the additional info does not send the act file again.
    edited = await registry_action(gateway, case_id, "edit", {"additional_info": "Исполнительный лист выдан"})
    assert edited["ok"], edited
    debt = await _stand_debt(stand, guid)
    assert debt.additional_info == "Исполнительный лист выдан" and len(json.loads(debt.attachments)) == 1
    # A replaced act file goes with the next edit, as an additional attachment.
    await put_act_file(gateway, case_id, b"%PDF-1.4 court order 2-100/2026, corrected copy")
    assert (await registry_action(gateway, case_id, "edit"))["ok"]
    kinds = [a["kind"] for a in json.loads((await _stand_debt(stand, guid)).attachments)]
    assert kinds == ["JudicalActAttachment", "AdditionalAttachment"]

    # Annulment needs its NSI 365 reason.
    bare = await client.post(f"/api/v1/court-cases/{case_id}/registry/annul", json={})
    assert bare.status_code == 422 and "NSI 365" in bare.json()["detail"], bare.text
    annulled = await registry_action(gateway, case_id, "annul", NSI_365)
    assert annulled["ok"], annulled
    debt = await _stand_debt(stand, guid)
    assert (debt.status, debt.annulment_code, debt.annulment_guid) == (
        "CANCELLED",
        NSI_365["reason_code"],
        NSI_365["reason_guid"],
    )
    local = await _local(gateway, case_id)
    assert local["gis_status"] == "CANCELLED" and local["annulled_on"] is not None
    edit_annulled = await client.post(f"/api/v1/court-cases/{case_id}/registry/edit", json={})
    assert edit_annulled.status_code == 409 and "not placed" in edit_annulled.json()["detail"]

    # A wrong AttachmentHASH is refused by the stand; the next attempt uploads afresh and succeeds.
    async with gateway_db(gateway) as session:
        await session.execute(
            update(CourtCase).where(CourtCase.id == uuid.UUID(case_id)).values(act_file_hash="00" * 32)
        )
    refused = await registry_action(gateway, case_id, "place")
    assert not refused["ok"] and "AttachmentHASH" in refused["error"], refused
    assert (await _local(gateway, case_id))["placement"] == "failed"
    replaced = await registry_action(gateway, case_id, "place")
    assert replaced["ok"] and replaced["gis_debt_guid"] != guid, replaced
    local = await _local(gateway, case_id)
    assert (local["gis_status"], local["annulled_on"]) == ("PUBLISHED", None)


async def test_repayment_and_its_annulment(
    gateway: GatewayHandle, stand: StandHandle, tmp_path: Path
) -> None:
    org, (case_id,) = await in_force_cases(gateway, stand, tmp_path, count=1, on=ON)
    client = gateway.client
    not_placed = await client.post(f"/api/v1/court-cases/{case_id}/registry/repayment", json={})
    assert not_placed.status_code == 409 and "not placed" in not_placed.json()["detail"]
    placed = await registry_action(gateway, case_id, "place")  # no act file: JudicalActAttachment is optional
    assert placed["ok"], placed
    guid = placed["gis_debt_guid"]

    repaid_on = date.today() - timedelta(days=2)
    repaid = await registry_action(
        gateway, case_id, "repayment", {"repaid_on": repaid_on.isoformat(), "additional_info": "Оплачено"}
    )
    assert repaid["ok"], repaid
    debt = await _stand_debt(stand, guid)
    assert (debt.repayment_status, debt.repayment_date, debt.repayment_info) == (
        "PAID",
        repaid_on,
        "Оплачено",
    )
    local = await _local(gateway, case_id)
    assert (local["repayment_status"], local["repaid_on"]) == ("PAID", repaid_on.isoformat())
    twice = await client.post(f"/api/v1/court-cases/{case_id}/registry/repayment", json={})
    assert twice.status_code == 409 and "already recorded" in twice.json()["detail"]

    bare = await client.post(f"/api/v1/court-cases/{case_id}/registry/annul-repayment", json={})
    assert bare.status_code == 422 and "NSI 366" in bare.json()["detail"]
    undone = await registry_action(gateway, case_id, "annul-repayment", NSI_366)
    assert undone["ok"], undone
    assert (await _stand_debt(stand, guid)).repayment_status == "UNPAID"
    local = await _local(gateway, case_id)
    assert (local["repayment_status"], local["repaid_on"]) == ("UNPAID", None)
    again = await client.post(f"/api/v1/court-cases/{case_id}/registry/annul-repayment", json=NSI_366)
    assert again.status_code == 409 and "No repayment" in again.json()["detail"]
    listed = await client.get("/api/v1/court-confirmed-debts", params={"organisation_id": org["id"]})
    assert [d["gis_debt_guid"] for d in listed.json()] == [guid]


def _extra_debts(org_id: int, house_id: int, count: int) -> list[dict[str, Any]]:
    today = date.today()
    return [
        {
            "guid": str(uuid.uuid4()), "org_id": org_id, "house_id": house_id,
            "surname": "Иванов", "first_name": "Иван",
            "act_number": f"2-{9000 + i}/2025", "act_date": today - timedelta(days=100),
            "act_pronounced": today - timedelta(days=130), "amount": 1000, "status": "PUBLISHED",
            "repayment_status": "UNPAID", "first_published": today, "last_published": today,
            "attachments": "[]",
        }
        for i in range(count)
    ]  # fmt: skip


@pytest.mark.slow
async def test_reconcile_pages_drift_links_and_losses(
    gateway: GatewayHandle, stand: StandHandle, tmp_path: Path
) -> None:
    org, (first, second, third) = await in_force_cases(gateway, stand, tmp_path, count=3, on=ON)
    guids = [(await registry_action(gateway, c, "place"))["gis_debt_guid"] for c in (first, second, third)]
    async with stand.runtime.sessionmaker() as session, session.begin():
        stand_org = await session.scalar(select(Org.id).where(Org.ppa_guid == org["ppa_guid"].lower()))
        house = await session.scalar(select(House.id).where(House.org_id == stand_org).limit(1))
        assert stand_org is not None and house is not None
        # More than two pages of 1000; and GIS-side changes: a repayment and an annulment made elsewhere.
        await session.execute(insert(Debt), _extra_debts(stand_org, house, 2050))
        await session.execute(update(Debt).where(Debt.guid == guids[0]).values(repayment_status="PAID"))
        await session.execute(
            update(Debt)
            .where(Debt.guid == guids[2])
            .values(
                status="CANCELLED", annulment_date=date.today(), annulment_code="5", annulment_text="Иная"
            )
        )
        in_stand = await session.scalar(
            select(func.count()).select_from(Debt).where(Debt.org_id == stand_org)
        )
    # The second placement's answer was lost: the local record does not know its DebtGUID.
    second_debt = (await _local(gateway, second))["id"]
    async with gateway_db(gateway) as db:
        await db.execute(
            update(CourtConfirmedDebt)
            .where(CourtConfirmedDebt.id == uuid.UUID(second_debt))
            .values(gis_debt_guid=None, placement="failed", gis_status=None)
        )

    report = await reconcile(gateway, org["id"])
    assert report["complete"] and report["pages"] == -(-in_stand // 1000) == 3, report
    assert report["exported"] == in_stand
    assert report["counts"]["missing_locally"] == in_stand - 3 and len(report["missing_locally"]) == 1000
    assert report["linked"] == [second_debt]
    changes = {(c["field"], c["gis"]) for c in report["status_changed"]}
    assert changes == {("repayment", "PAID"), ("status", "CANCELLED"), ("status", "PUBLISHED")}, report
    assert report["missing_in_gis"] == []
    first_local, second_local, third_local = [await _local(gateway, c) for c in (first, second, third)]
    assert first_local["repayment_status"] == "PAID"
    assert (second_local["gis_debt_guid"], second_local["placement"]) == (guids[1], "placed")
    assert third_local["gis_status"] == "CANCELLED" and third_local["annulled_on"] == date.today().isoformat()

    # GIS lost a record: the next reconciliation says so.
    async with stand.runtime.sessionmaker() as session, session.begin():
        await session.execute(delete(Debt).where(Debt.guid == guids[1]))
    again = await reconcile(gateway, org["id"])
    assert again["missing_in_gis"] == [second_debt] and again["status_changed"] == [], again
