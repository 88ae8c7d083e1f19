"""Posting a write-off act updates GIS's registry of court-confirmed debts, against the stand over HTTP.

A debt placed in the registry whose enforcement ended as impossible (229-ФЗ ст. 46): an act over one of the
claimed months edits the GIS record (EditDebt, AdditionalInfo); an act over the rest annuls it (AnnulmentDebt,
the NSI 365 reason of the settings, the act named in the text). The local record follows, so debt-request
answers stop referencing it.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from app.domain.accounts import account_id_for
from app.gis_stand.models import Debt
from tests.e2e.conftest import GatewayHandle, StandHandle
from tests.e2e.court_support import NSI_365, in_force_cases, registry_action
from tests.factories import COURTS

pytestmark = [pytest.mark.e2e]

ON = date.today() - timedelta(days=60)


@pytest.fixture
def gateway_overrides(tmp_path: Path) -> dict[str, Any]:
    """The court table and the NSI 365 reason of a write-off annulment."""
    return {
        "upload_dir": tmp_path / "uploads",
        "court_courts": COURTS,
        "court_pilot_regions": ["16"],
        "court_writeoff_reason_code": NSI_365["reason_code"],
        "court_writeoff_reason_guid": NSI_365["reason_guid"],
    }


async def _stand_debt(stand: StandHandle, guid: str) -> Debt:
    async with stand.runtime.sessionmaker() as session:
        debt = await session.scalar(select(Debt).where(Debt.guid == guid))
        assert debt is not None
        return debt


async def _post(gateway: GatewayHandle, body: dict[str, Any]) -> dict[str, Any]:
    """Draft, approve and post an act; wait for the registry operations it queued; return the posted act."""
    client = gateway.client
    created = await client.post("/api/v1/write-off/acts", json=body)
    assert created.status_code == 201, created.text
    act_id = created.json()["id"]
    approved = await client.post(f"/api/v1/write-off/acts/{act_id}/approve", json={"reason": "checked"})
    assert approved.status_code == 200, approved.text
    posted = await client.post(f"/api/v1/write-off/acts/{act_id}/post", json={"reason": "posted"})
    assert posted.status_code == 200, posted.text
    act: dict[str, Any] = posted.json()
    for op_id in act["registry_operations"]:
        done = await gateway.wait_operation(op_id)
        assert done["result"]["ok"], done
    return act


async def test_posted_write_off_edits_then_annuls_the_placed_debt(
    gateway: GatewayHandle, stand: StandHandle, tmp_path: Path
) -> None:
    org, (case_id,) = await in_force_cases(gateway, stand, tmp_path, count=1, on=ON)
    client = gateway.client
    placed = await registry_action(gateway, case_id, "place")
    assert placed["ok"], placed
    guid = placed["gis_debt_guid"]
    account = str(account_id_for(uuid.UUID(org["id"]), "R0000"))
    claimed = sorted((await client.get(f"/api/v1/court-cases/{case_id}")).json()["months"])
    assert len(claimed) >= 2

    # The bailiff ended the enforcement: collection impossible. Every month due before the act is a candidate.
    recorded = await client.post(
        "/api/v1/write-off/impossibilities",
        json={"organisation_id": org["id"], "account_id": account, "ground": "enforcement_closed",
              "act_date": date.today().isoformat(), "document": "постановление 77001/26/16001-ИП"},
    )  # fmt: skip
    assert recorded.status_code == 201, recorded.text

    # Selection over the organisation as an operation: the twelve unpaid months of 3,000 ₽, all uncollectable.
    queued = await client.post("/api/v1/write-off/selections", json={"organisation_id": org["id"]})
    assert queued.status_code == 202, queued.text
    done = await gateway.wait_operation(queued.json())
    assert (done["progress_done"], done["progress_total"]) == (1, 1)
    summary = done["result"]
    assert (summary["months"], summary["principal"], summary["act_id"]) == (12, "36000.00", None)
    assert list(summary["by_ground"]) == ["enforcement_closed"]

    # Part of the claimed months: the record stays in force, its AdditionalInfo names the act and the months.
    first = await _post(
        gateway,
        {"organisation_id": org["id"], "months": [{"account_id": account, "period": claimed[0]}]},
    )
    assert len(first["registry_operations"]) == 1
    debt = await _stand_debt(stand, guid)
    assert debt.status == "PUBLISHED"
    assert debt.additional_info is not None
    assert debt.additional_info.startswith("Часть задолженности списана как безнадёжная")
    assert first["id"] in debt.additional_info and date.fromisoformat(claimed[0]).strftime("%m.%Y") in (
        debt.additional_info
    )
    local = (await client.get(f"/api/v1/court-cases/{case_id}/registry")).json()
    assert (local["gis_status"], local["annulled_on"]) == ("PUBLISHED", None)

    # The rest: the whole claimed debt is written off, the record is annulled in GIS and locally.
    rest = await _post(gateway, {"organisation_id": org["id"], "account_ids": [account]})
    assert len(rest["registry_operations"]) == 1
    debt = await _stand_debt(stand, guid)
    assert (debt.status, debt.annulment_code, debt.annulment_guid) == (
        "CANCELLED",
        NSI_365["reason_code"],
        NSI_365["reason_guid"],
    )
    assert debt.annulment_text is not None and rest["id"] in debt.annulment_text
    assert debt.annulment_text.startswith("Задолженность списана как безнадёжная")
    local = (await client.get(f"/api/v1/court-cases/{case_id}/registry")).json()
    assert local["gis_status"] == "CANCELLED" and local["annulled_on"] is not None
    listed = await client.get("/api/v1/court-confirmed-debts", params={"organisation_id": org["id"]})
    assert [d["gis_status"] for d in listed.json()] == ["CANCELLED"]

    # Journaled: the posting with its registry update, and the registry actions themselves.
    audit = await client.get("/api/v1/audit", params={"limit": 200})
    actions = [e["action"] for e in audit.json()["items"]]
    assert actions.count("write_off.registry") == 2
    assert "court_registry.edit" in actions and "court_registry.annul" in actions
