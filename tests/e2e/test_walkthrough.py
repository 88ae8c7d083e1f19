"""The new integrator's walkthrough of issue #13, repeated against the stand: none of its defects is left."""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from typing import Any

import pytest

from app.domain.kernel.snils import random_valid_snils
from tests.e2e.conftest import GatewayHandle, StandHandle

pytestmark = [pytest.mark.e2e]


async def _items(gateway: GatewayHandle, **params: Any) -> list[dict[str, Any]]:
    resp = await gateway.client.get("/api/v1/debt-requests", params={"limit": 500, **params})
    assert resp.status_code == 200, resp.text
    items: list[dict[str, Any]] = resp.json()["items"]
    return items


def _problem(resp: Any, status: int = 422) -> tuple[str, str]:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"] == "application/problem+json"
    first = resp.json()["errors"][0]
    return first["path"], first["rule"]


async def test_walkthrough_finds_none_of_the_defects(
    gateway: GatewayHandle, stand: StandHandle, caplog: pytest.LogCaptureFixture
) -> None:
    rng = random.Random(13)
    client = gateway.client
    org = await gateway.new_org()
    await stand.seed(ppa_guid=org["ppa_guid"], cert_pem=gateway.keys.cert_pem, subrequests=8, accounts=8)
    base = f"/api/v1/organisations/{org['id']}/debt-requests"

    # Newcomer friction: the docs are served locally, GIS readiness needs a SOAP answer.
    docs = await client.get("/docs")
    assert (
        docs.status_code == 200
        and "/docs-assets/swagger-ui-bundle.js" in docs.text
        and "cdn" not in docs.text
    )
    assert (await client.get("/docs-assets/swagger-ui-bundle.js")).status_code == 200
    ready = (await client.get("/readyz")).json()["checks"]["gis"]
    assert ready["ok"] is True and ready["detail"]["soap"] is True

    # Bad input is refused at the API, naming the field, before anything is queued.
    absurd = await client.post(f"{base}/fetch", json={"date_from": "0001-01-01", "date_to": "9999-12-31"})
    assert _problem(absurd) == ("body.date_from", "period_bounds")
    assert _problem(await client.get("/api/v1/debt-requests", params={"match_quality": "bogus"}))[
        0
    ].startswith("query.match_quality")
    assert _problem(await client.get("/api/v1/court-cases", params={"status": "zzz"}))[0] == "query.status"

    # Fetch with the operator's matching options for this run.
    fetched = await gateway.wait_operation(
        (
            await client.post(f"{base}/fetch", json={"match": {"scope": "address", "exact_match": False}})
        ).json()
    )
    assert fetched["result"]["new"] == 8 and fetched["result"]["match"]["scope"] == "address", fetched
    items = await _items(gateway, organisation_id=org["id"])
    debtor, poisoned = items[0], items[1]

    # A hand-made "has debt" answer with a defendant and the court act.
    act = {"file": ("court-act.pdf", b"%PDF-1.4 court act", "application/pdf")}
    doc = await client.post(
        f"/api/v1/debt-requests/{debtor['id']}/documents", data={"type_code": "1"}, files=act
    )
    assert doc.status_code == 201, doc.text
    person = {"last_name": "Иванов", "first_name": "Иван", "snils": random_valid_snils(rng)}
    answer = {"has_debt": True, "description": "Судебный приказ № 2-13/2025",
              "defendants": [person | {"document_ids": [doc.json()["id"]]}]}  # fmt: skip
    assert (await client.put(f"/api/v1/debt-requests/{debtor['id']}/answer", json=answer)).status_code == 200
    # A value XML cannot carry is refused at the API, not at send time for the whole message.
    nul = await client.put(
        f"/api/v1/debt-requests/{poisoned['id']}/answer", json={"has_debt": False, "description": "a\u0000b"}
    )
    # A NUL is refused at the edge (app/api/guard.py), before the XSD check, naming the field all the same.
    assert _problem(nul) == ("body.description", "nul_character")

    # Mass "no debt" over everything keeps the drafted answer and says so.
    mass = await client.post(
        "/api/v1/debt-requests/answers/no-debt", json={"filter": {"organisation_id": org["id"]}}
    )
    assert mass.status_code == 200, mass.text
    assert mass.json()["prepared"] == 7
    assert [(x["id"], x["rule"]) for x in mass.json()["skipped_items"]] == [(debtor["id"], "answer_drafted")]
    kept = (await client.get(f"/api/v1/debt-requests/{debtor['id']}")).json()
    assert kept["answer"]["has_debt"] is True and kept["answer_summary"]["files"] == 1
    assert [i["id"] for i in await _items(gateway, organisation_id=org["id"], answer="has_debt")] == [
        debtor["id"]
    ]

    # Send selected with an unknown id: 422 listing it, nothing sent.
    ghost = str(uuid.uuid4())
    wrong = await client.post(f"{base}/send", json={"ids": [debtor["id"], ghost]})
    assert _problem(wrong) == ("body.ids.1", "debt_request_exists")
    sent = await gateway.wait_operation((await client.post(f"{base}/send", json={})).json(), timeout=120)
    assert sent["result"]["accepted"] == 8 and sent["result"]["rejected"] == 0, sent
    stats = await stand.answer_stats(org["ppa_guid"])
    assert stats["send_count_histogram"] == {"1": 8}, stats
    on_stand = (await stand.admin.get(f"/stand/admin/subrequests/{debtor['subrequest_guid']}")).json()
    assert on_stand["response"]["has_debt"] is True

    # An expected GIS refusal (an organisation GIS does not know) is one WARNING line and an audited failure.
    stranger = await gateway.new_org(inn="7709876543")
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        op = (
            await client.post(f"/api/v1/organisations/{stranger['id']}/debt-requests/fetch", json={})
        ).json()
        finished: dict[str, Any] = {}
        for _ in range(600):
            finished = (await client.get(f"/api/v1/operations/{op['id']}")).json()
            if finished["status"] in ("succeeded", "failed"):
                break
            await asyncio.sleep(0.1)
    assert finished["status"] == "failed" and "AUT011000" in finished["error"], finished
    refusals = [r for r in caplog.records if "AUT011000" in r.getMessage()]
    assert refusals and all(r.levelno == logging.WARNING and r.exc_info is None for r in refusals)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], [
        r.getMessage() for r in caplog.records
    ]
    audit = await client.get("/api/v1/audit", params={"organisation_id": stranger["id"]})
    assert any(
        e["action"] == "operation.debt-fetch" and e["outcome"] == "error" for e in audit.json()["items"]
    )


async def test_nsi_is_loaded_from_gis_and_used_for_validation(
    gateway: GatewayHandle, stand: StandHandle
) -> None:
    from app.gis_stand.nsi import element_guid

    client = gateway.client
    org = await gateway.new_org()
    await stand.seed(ppa_guid=org["ppa_guid"], cert_pem=gateway.keys.cert_pem, subrequests=1, accounts=1)
    first = await client.get("/api/v1/nsi/358")
    assert first.status_code == 200 and first.json()["items"] == [], first.text
    refreshed = await client.post(f"/api/v1/organisations/{org['id']}/nsi/refresh")
    assert refreshed.status_code == 202, refreshed.text
    done = await gateway.wait_operation(refreshed.json())
    assert done["result"]["loaded"] == {"95": 7, "358": 4}, done
    listed = (await client.get("/api/v1/nsi/358")).json()["items"]
    assert [(i["code"], i["guid"]) for i in listed][:1] == [("1", element_guid(358, "1"))]
    passports = {i["code"]: i for i in (await client.get("/api/v1/nsi/95")).json()["items"]}
    assert passports["7"]["is_actual"] is False
    assert (await client.get("/api/v1/nsi/42")).status_code == 422

    await gateway.wait_operation(
        (await client.post(f"/api/v1/organisations/{org['id']}/debt-requests/fetch", json={})).json()
    )
    (item,) = await _items(gateway, organisation_id=org["id"])
    files = {"file": ("act.pdf", b"%PDF-1.4", "application/pdf")}
    url = f"/api/v1/debt-requests/{item['id']}/documents"
    assert _problem(await client.post(url, data={"type_code": "9"}, files=files)) == (
        "body.type_code",
        "nsi358_code",
    )
    doc = await client.post(url, data={"type_code": "4"}, files=files)
    assert doc.status_code == 201 and doc.json()["nsi_name"] == "Иной документ", doc.text
    person = {"last_name": "Петров", "first_name": "Пётр", "snils": random_valid_snils(random.Random(1))}
    retired = person | {"document": {"type_code": "7", "number": "123456"}}
    answer = {"has_debt": True, "defendants": [retired]}
    refused = await client.put(f"/api/v1/debt-requests/{item['id']}/answer", json=answer)
    assert _problem(refused) == ("body.defendants.0.document.type_code", "nsi95_code")
    answer["defendants"] = [
        person | {"document": {"type_code": "1", "number": "123456"}, "document_ids": [doc.json()["id"]]}
    ]
    assert (await client.put(f"/api/v1/debt-requests/{item['id']}/answer", json=answer)).status_code == 200
    sent = await gateway.wait_operation(
        (await client.post(f"/api/v1/organisations/{org['id']}/debt-requests/send", json={})).json()
    )
    assert sent["result"]["accepted"] == 1, sent


async def test_refused_changes_are_audited(gateway: GatewayHandle, stand: StandHandle) -> None:
    del stand
    client = gateway.client
    org = await gateway.new_org()
    bad_body = await client.post(
        f"/api/v1/organisations/{org['id']}/debt-requests/match", json={"scope": "city"}
    )
    assert bad_body.status_code == 422
    rule = await client.post(
        f"/api/v1/organisations/{org['id']}/debt-requests/fetch", json={"date_from": "0001-01-01"}
    )
    assert rule.status_code == 422
    anonymous = await client.post(
        f"/api/v1/organisations/{org['id']}/debt-requests/send",
        json={},
        headers={"Authorization": "Bearer gk_nope"},
    )
    assert anonymous.status_code == 401
    assert (
        await client.get("/api/v1/organisations")
    ).status_code == 200  # reads are not journaled as refusals
    events = (await client.get("/api/v1/audit", params={"action": "request.refused"})).json()["items"]
    seen = {(e["resource_id"], e["details"]["status"], e["actor"]) for e in events}
    base = f"/api/v1/organisations/{org['id']}/debt-requests"
    assert (f"POST {base}/match", 422, "key:e2e") in seen, seen
    assert any(r == f"POST {base}/fetch" and s == 422 for r, s, _ in seen), seen
    assert any(r == f"POST {base}/send" and s == 401 and a == "key:anonymous" for r, s, a in seen), seen
    fetch_event = next(e for e in events if e["resource_id"] == f"POST {base}/fetch")
    assert fetch_event["details"]["errors"] == ["body.date_from period_bounds"]
