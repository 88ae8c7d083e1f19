"""Debt-request answers after a write-off, against the stand over HTTP (issue #16, "Done when": answers).

Three debtors asked about by social protection, each with a court order in force and the enforcement ended as
impossible (229-ФЗ ст. 46): A's debt placed in GIS's registry and written off in part, B's placed and written
off whole (annulled in GIS), C's never placed and written off whole. The gateway's fetch and match cycle then
counts no written-off month in a request's debt, pre-fills A's answer with A's record only, names neither B
nor C, and what the stand receives says so.
"""

from __future__ import annotations

import random
import uuid
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from app.domain.accounts import account_id_for
from app.gis_stand.models import Subrequest
from tests.e2e.conftest import GatewayHandle, StandHandle
from tests.e2e.court_support import (
    NSI_365,
    drive_to_in_force,
    flat_premises,
    import_accounts,
    ledger,
    months_before,
    person,
    registry_action,
    stand_flats,
)
from tests.factories import COURTS

pytestmark = [pytest.mark.e2e]

ON = date.today() - timedelta(days=60)
MONTHLY = Decimal(3000)


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


async def _post_act(gateway: GatewayHandle, body: dict[str, Any]) -> dict[str, Any]:
    """Draft, approve and post an act through the API; wait for the registry operations it queued."""
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


async def test_answers_leave_out_written_off_months_and_debts(
    gateway: GatewayHandle, stand: StandHandle, tmp_path: Path
) -> None:
    client = gateway.client
    org = await gateway.new_org(region_code="16")
    await stand.seed(ppa_guid=org["ppa_guid"], cert_pem=gateway.keys.cert_pem, subrequests=24, accounts=4)
    asked: dict[int, list[str]] = {}
    async with stand.runtime.sessionmaker() as session:
        rows = (await session.execute(select(Subrequest.premises_id, Subrequest.guid))).all()
    for premises_id, guid in rows:
        asked.setdefault(premises_id, []).append(guid)
    flats = [f for f in await stand_flats(stand, org["ppa_guid"]) if f.stand_premises_id in asked][:3]
    assert len(flats) == 3, "the seed asks about at least three of the four flats"
    rng = random.Random(16)
    months = months_before(ON, 12, skip=1)
    rows = [
        {"account_number": f"W{i}", "payer": person(rng), "premises": flat_premises(flat),
         "ledger": ledger(months, MONTHLY)}
        for i, flat in enumerate(flats)
    ]  # fmt: skip
    await import_accounts(gateway, org["id"], rows, tmp_path)
    accounts = [str(account_id_for(uuid.UUID(org["id"]), f"W{i}")) for i in range(3)]
    cases: list[str] = []
    for i, account in enumerate(accounts):
        created = await client.post(
            "/api/v1/court-cases",
            json={"organisation_id": org["id"], "account_ids": [account], "on_date": ON.isoformat()},
        )
        assert created.status_code == 201, created.text
        cases.append(created.json()["id"])
        await drive_to_in_force(gateway, cases[-1], ON, f"2-{300 + i}/2026")
    guid_a = (await registry_action(gateway, cases[0], "place"))["gis_debt_guid"]
    guid_b = (await registry_action(gateway, cases[1], "place"))["gis_debt_guid"]
    claimed_a = sorted((await client.get(f"/api/v1/court-cases/{cases[0]}")).json()["months"])
    for account in accounts:
        recorded = await client.post(
            "/api/v1/write-off/impossibilities",
            json={"organisation_id": org["id"], "account_id": account, "ground": "enforcement_closed",
                  "act_date": date.today().isoformat(), "document": "постановление об окончании ИП"},
        )  # fmt: skip
        assert recorded.status_code == 201, recorded.text

    # A: one claimed month (the record stays in force); B and C: every month (B's record is annulled in GIS).
    first = {"account_id": accounts[0], "period": claimed_a[0]}
    part = await _post_act(gateway, {"organisation_id": org["id"], "months": [first]})
    assert len(part["registry_operations"]) == 1
    whole = await _post_act(gateway, {"organisation_id": org["id"], "account_ids": accounts[1:]})
    assert len(whole["registry_operations"]) == 1  # B only: C was never placed

    # The gateway's cycle: fetch, match, pre-fill.
    base = f"/api/v1/organisations/{org['id']}/debt-requests"
    await gateway.wait_operation((await client.post(f"{base}/fetch", json={})).json())
    matched = await gateway.wait_operation(
        (await client.post(f"{base}/match", json={"prefill": True})).json()
    )
    listed = (
        await client.get("/api/v1/debt-requests", params={"organisation_id": org["id"], "limit": 100})
    ).json()["items"]
    details = {
        d["subrequest_guid"]: d
        for d in [(await client.get(f"/api/v1/debt-requests/{r['id']}")).json() for r in listed]
    }
    by_debtor = [[details[g] for g in asked[f.stand_premises_id]] for f in flats]
    assert all(by_debtor), "every chosen flat's subrequests were fetched"
    for d in by_debtor[0]:
        assert d["match"]["account_ids"] == [accounts[0]]
        assert (Decimal(d["match"]["debt_sum"]), d["match"]["debt_months"]) == (11 * MONTHLY, 11)
        assert d["status"] == "prepared" and d["answer"]["source"] == "prefill"
        assert d["answer"]["has_debt"] and d["answer"]["debt_guids"] == [guid_a]
    for debtor in by_debtor[1:]:
        for d in debtor:
            assert (Decimal(d["match"]["debt_sum"]), d["match"]["debt_months"]) == (Decimal(0), 0)
            assert d["status"] == "received" and d["answer"] is None, d
    assert matched["result"]["prefilled"] == len(by_debtor[0])

    # Nothing left owed by B and C: "no debt" for them; everything goes to GIS.
    others = [d["id"] for debtor in by_debtor[1:] for d in debtor]
    no_debt = await client.post("/api/v1/debt-requests/answers/no-debt", json={"ids": others})
    assert no_debt.status_code == 200, no_debt.text
    mine = [d["id"] for debtor in by_debtor for d in debtor]
    sent = await gateway.wait_operation((await client.post(f"{base}/send", json={"ids": mine})).json())
    assert sent["result"]["accepted"] == len(mine), sent

    # What GIS received (importDSRResponses as the stand stored it).
    for i, debtor in enumerate(by_debtor):
        for d in debtor:
            response = (await stand.admin.get(f"/stand/admin/subrequests/{d['subrequest_guid']}")).json()[
                "response"
            ]
            if i == 0:
                assert response["has_debt"] is True and response["debt_guids"] == [guid_a], response
            else:
                assert response["has_debt"] is False and not response.get("debt_guids"), response
                assert guid_b not in str(response)
