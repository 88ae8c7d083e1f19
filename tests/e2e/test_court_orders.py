"""End to end against the stand: eligibility, readiness of 1,000 debtors with a mix of blocking reasons,
packages for the ready ones, one order in force placed in GIS's registry (act file in the file store),
reconciled by exportDebt and used by a debt-request answer via debtGUID."""

from __future__ import annotations

import json
import random
import uuid
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from app.domain.accounts import account_id_for
from app.gis_stand.models import Debt
from tests.e2e.conftest import GatewayHandle, StandHandle
from tests.e2e.court_support import (
    drive_to_in_force,
    flat_premises,
    import_accounts,
    ledger,
    months_before,
    person,
    put_act_file,
    reconcile,
    registry_action,
    stand_flats,
    subrequest_premises,
)
from tests.factories import COURTS

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

DEBTORS = 1000
#: Filing date: far enough in the past for the order to be in force today.
ON = date.today() - timedelta(days=60)

# Blocking reason of every 20th debtor by index (the rest, 11 of 20, are ready).
CATEGORIES = {
    1: "no_claimable_debt",  # every month past the 3-year limitation
    2: "debtor_identifier",  # no SNILS, INN or document
    3: "debtor_birth_place",
    4: "dispute",
    5: "bankruptcy",
    6: "claim_limit",  # over 500,000 ₽
    7: "jurisdiction",  # a house no court of the table serves
    8: "debtor_person",  # an organisation pays
    9: "no_claimable_debt",  # everything paid
}


@pytest.fixture
def gateway_overrides(tmp_path: Path) -> dict[str, Any]:
    """Court table, pilot region, a small premises threshold; readiness of 1,000 runs as an operation."""
    return {
        "upload_dir": tmp_path / "uploads",
        "court_courts": COURTS,
        "court_pilot_regions": ["16"],
        "court_participant_thresholds": {"management_company": 900},
        "court_readiness_inline_limit": 100,
        "court_readiness_chunk": 300,
    }


def _rows(flats: list[Any], keep_ready: set[int]) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Return import rows and each account's category (0 and 10-19 ready; see CATEGORIES)."""
    rng = random.Random(17)
    rows: list[dict[str, Any]] = []
    categories: dict[str, int] = {}
    recent = months_before(ON, 24, skip=1)
    for i, flat in enumerate(flats[:DEBTORS]):
        number = f"CO{i:05d}"
        category = 0 if flat.stand_premises_id in keep_ready else i % 20
        row: dict[str, Any] = {
            "account_number": number,
            "payer": person(rng),
            "premises": flat_premises(flat),
            "ledger": ledger(recent, Decimal(rng.randint(1500, 4500))),
        }
        if category == 1:
            row["ledger"] = ledger(months_before(ON, 12, skip=40), Decimal(3000))
        elif category == 2:
            row["payer"] = person(rng, snils=None)
        elif category == 3:
            row["payer"] = person(rng, birth_place=None)
        elif category == 4:
            row["dispute"] = True
        elif category == 5:
            row["bankruptcy"] = True
        elif category == 6:
            row["ledger"] = ledger(recent, Decimal(25000))
        elif category == 7:
            row["premises"] = [
                {
                    "fias_house_guid": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                    "address": "г. Москва, ул. Тверская, д. 1",
                    "region": "77",
                    "number": "1",
                }
            ]
        elif category == 8:
            row["payer"] = {"kind": "organisation", "name": "ООО «Ромашка»", "inn": "7701234567"}
        elif category == 9:
            row["ledger"] = ledger(recent, Decimal(3000), paid=Decimal(3000))
        elif category == 10:
            # Old and recent months: the old ones are excluded and listed, the case stays ready.
            row["ledger"] = ledger(months_before(ON, 48, skip=1), Decimal(2000))
            row["payer"] = person(
                rng, snils=None, document={"type": "21", "series": "9204", "number": "123456"}
            )
        elif category == 11:
            row["payer"] = person(rng, snils=None, inn="165000000000")
        rows.append(row)
        categories[number] = category
    return rows, categories


async def _all_results(gateway: GatewayHandle, run_id: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    after = 0
    while True:
        page = await gateway.client.get(
            f"/api/v1/court-orders/readiness/{run_id}/results", params={"after": after, "limit": 1000}
        )
        assert page.status_code == 200, page.text
        items += page.json()["items"]
        if page.json()["next_after"] is None:
            return items
        after = page.json()["next_after"]


async def test_court_orders_end_to_end(gateway: GatewayHandle, stand: StandHandle, tmp_path: Path) -> None:
    client = gateway.client
    org = await gateway.new_org(region_code="16")
    org_id = uuid.UUID(org["id"])
    await stand.seed(
        ppa_guid=org["ppa_guid"], cert_pem=gateway.keys.cert_pem, subrequests=4, accounts=DEBTORS
    )
    flats = await stand_flats(stand, org["ppa_guid"])
    asked = await subrequest_premises(stand, org["ppa_guid"])
    assert len(flats) == DEBTORS and asked

    # 1. Accounts and ledgers arrive through the billing import.
    rows, categories = _rows(flats, asked)
    expected = {n: CATEGORIES.get(c, "ready") for n, c in categories.items()}
    report = await import_accounts(gateway, org["id"], rows, tmp_path)
    assert report["applied"] == DEBTORS

    # 2. Eligibility: premises from the accounts registry, the pilot region, within the experiment.
    elig = await client.get(
        "/api/v1/court-orders/eligibility", params={"organisation_id": org["id"], "on_date": "2026-05-01"}
    )
    assert elig.status_code == 200, elig.text
    criteria = {c["name"]: c for c in elig.json()["criteria"]}
    assert elig.json()["eligible"] is True, criteria
    assert elig.json()["verdict"] == "eligible" and elig.json()["region"]["status"] == "pilot"
    assert criteria["premises"]["evidence"]["source"] == "accounts_registry"
    assert criteria["premises"]["evidence"]["maximum"] == DEBTORS
    late = await client.get(
        "/api/v1/court-orders/eligibility", params={"organisation_id": org["id"], "on_date": "2026-08-01"}
    )
    assert [c["name"] for c in late.json()["criteria"] if c["met"] is False] == ["period"]

    # 3. Readiness of all 1,000 as an operation, each blocked case naming its rule.
    started = await client.post(
        "/api/v1/court-orders/readiness",
        json={"organisation_id": org["id"], "account_ids": "all", "on_date": ON.isoformat()},
    )
    assert started.status_code == 202, started.text
    done = await gateway.wait_operation(started.json()["operation"])
    run_id = started.json()["run"]["id"]
    want_ready = sum(1 for v in expected.values() if v == "ready")
    assert done["result"]["total"] == DEBTORS and done["result"]["ready"] == want_ready, done["result"]
    results = await _all_results(gateway, run_id)
    assert len(results) == DEBTORS
    by_number = {}
    ids_to_number = {str(account_id_for(org_id, n)): n for n in expected}
    for item in results:
        number = ids_to_number[item["account_id"]]
        by_number[number] = item
        rules = [b["rule"] for b in item["blockers"]]
        if expected[number] == "ready":
            assert item["ready"] and not rules, (number, item)
            assert Decimal(item["duty"]) >= Decimal("2000") and Decimal(item["total"]) <= Decimal("500000")
        else:
            assert rules == [expected[number]], (number, rules)
        assert item["blockers"] == [] or all(b["unblock"] for b in item["blockers"])
    mixed = next(v for n, v in by_number.items() if categories[n] == 10)
    assert {e["reason"] for e in mixed["excluded"]} >= {"limitation"}
    assert all(
        date.fromisoformat(e["period"]) < date.fromisoformat(mixed["period_from"])
        for e in mixed["excluded"]
        if e["reason"] == "limitation"
    )
    run = (await client.get(f"/api/v1/court-orders/readiness/{run_id}")).json()
    counts: dict[str, int] = {}
    for rule in expected.values():
        counts[rule] = counts.get(rule, 0) + 1
    assert run["blockers"] == {k: v for k, v in counts.items() if k != "ready"}

    # 4. Packages for the ready cases, downloadable as JSON Lines.
    pkg = await client.post(
        "/api/v1/court-orders/packages",
        json={"organisation_id": org["id"], "run_id": run_id, "on_date": ON.isoformat()},
    )
    assert pkg.status_code == 202, pkg.text
    packaged = await gateway.wait_operation(pkg.json())
    assert packaged["result"]["cases"] == want_ready and packaged["result"]["blocked"] == 0
    jsonl = await client.get(packaged["result"]["jsonl"])
    lines = [json.loads(x) for x in jsonl.text.splitlines()]
    assert len(lines) == want_ready
    assert all(x["court"]["district"] == "3" and x["debtor"]["last_name"] != "***" for x in lines)

    # 5. One debtor asked about by a subrequest: the order comes into force and is placed in GIS.
    target_flat = next(f for f in flats if f.stand_premises_id in asked)
    target_number = next(
        r["account_number"]
        for r in rows
        if r["premises"][0].get("gis_premises_guid") == target_flat.premises_guid
    )
    account_id = account_id_for(org_id, target_number)
    listed = (
        await client.get("/api/v1/court-cases", params={"account_id": str(account_id), "status": "draft"})
    ).json()
    case_id = listed["items"][0]["id"]
    html = await client.get(f"/api/v1/court-cases/{case_id}/application.html")
    assert html.status_code == 200 and "судебного приказа" in html.text
    in_force = await drive_to_in_force(gateway, case_id, ON, "2-777/2026")
    assert in_force["status"] == "in_force"
    act_file = b"%PDF-1.4 court order 2-777/2026 " + case_id.encode()
    await put_act_file(gateway, case_id, act_file)
    placed = await registry_action(gateway, case_id, "place")
    assert placed["ok"], placed
    guid = placed["gis_debt_guid"]
    async with stand.runtime.sessionmaker() as session:
        debt = await session.scalar(select(Debt).where(Debt.guid == guid))
        assert debt is not None and debt.act_number == "2-777/2026" and debt.status == "PUBLISHED"
        attachments = json.loads(debt.attachments)
    assert [a["kind"] for a in attachments] == ["JudicalActAttachment"]
    assert attachments[0]["att"]["hash"]  # the stand compared it with the file it stored

    # 6. exportDebt shows it: reconcile finds it and lists the stand's own (seeded) records as unknown.
    recon = await reconcile(gateway, org["id"])
    assert recon["missing_in_gis"] == [] and recon["status_changed"] == [], recon
    assert guid not in recon["missing_locally"] and recon["exported"] == len(recon["missing_locally"]) + 1

    # 7. Debt requests: matching drafts the answer with the debtGUID; GIS accepts it.
    base = f"/api/v1/organisations/{org['id']}/debt-requests"
    await gateway.wait_operation((await client.post(f"{base}/fetch", json={})).json())
    matched = await gateway.wait_operation((await client.post(f"{base}/match", json={})).json())
    assert matched["result"]["prefilled"] >= 1, matched
    requests = (
        await client.get("/api/v1/debt-requests", params={"organisation_id": org["id"], "limit": 100})
    ).json()["items"]
    prepared = [r for r in requests if r["status"] == "prepared"]
    assert prepared, requests
    # The stand's own seeded debts were imported by the reconcile and pre-fill their requests too.
    details = [(await client.get(f"/api/v1/debt-requests/{r['id']}")).json() for r in prepared]
    mine = next((d for d in details if d["answer"]["debt_guids"] == [guid]), None)
    assert mine is not None, details
    sent = await gateway.wait_operation(
        (await client.post(f"{base}/send", json={"ids": [r["id"] for r in prepared]})).json()
    )
    assert sent["result"]["accepted"] == len(prepared), sent
    stand_view = (await stand.admin.get(f"/stand/admin/subrequests/{mine['subrequest_guid']}")).json()
    assert stand_view["response"]["debt_guids"] == [guid]
