"""End to end against the stand: an answer failing alone or poisoning its message does not stop the rest."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import pytest

from tests.e2e.conftest import GatewayHandle, StandHandle

pytestmark = [pytest.mark.e2e]


async def _requests(gateway: GatewayHandle, org_id: str) -> list[dict[str, Any]]:
    resp = await gateway.client.get("/api/v1/debt-requests", params={"organisation_id": org_id, "limit": 500})
    assert resp.status_code == 200, resp.text
    items: list[dict[str, Any]] = resp.json()["items"]
    return items


async def _settled(gateway: GatewayHandle, org_id: str, timeout: float = 120.0) -> list[dict[str, Any]]:
    """Wait until every request is sent or carries its error, none in flight (split resends run later)."""
    deadline = time.monotonic() + timeout
    while True:
        items = await _requests(gateway, org_id)
        if all(not i["in_flight"] and (i["status"] == "sent" or i["last_error"]) for i in items):
            return items
        assert time.monotonic() < deadline, [i for i in items if i["status"] != "sent"]
        await asyncio.sleep(0.2)


async def test_batch_with_failing_and_poisoning_answers_delivers_the_others_once(
    gateway: GatewayHandle, stand: StandHandle
) -> None:
    org = await gateway.new_org()
    await stand.seed(ppa_guid=org["ppa_guid"], cert_pem=gateway.keys.cert_pem, subrequests=12, accounts=12)
    client = gateway.client
    base = f"/api/v1/organisations/{org['id']}/debt-requests"
    await gateway.wait_operation((await client.post(f"{base}/fetch", json={})).json())
    mass = await client.post(
        "/api/v1/debt-requests/answers/no-debt", json={"filter": {"organisation_id": org["id"]}}
    )
    assert mass.status_code == 200 and mass.json()["prepared"] == 12, mass.text
    items = await _requests(gateway, org["id"])
    unknown_debt, poison, refused = items[2], items[7], items[10]
    # An answer naming a debt the registry does not hold: GIS refuses that action alone (INT002000).
    put = await client.put(
        f"/api/v1/debt-requests/{unknown_debt['id']}/answer",
        json={"has_debt": True, "debt_guids": [str(uuid.uuid4())]},
    )
    assert put.status_code == 200, put.text
    script = await stand.admin.put(
        "/stand/admin/refusals",
        json={
            "whole_message": [poison["subrequest_guid"]],
            "per_action": {refused["subrequest_guid"]: "INT002047"},
        },
    )
    assert script.status_code == 200, script.text

    sent = await client.post(f"{base}/send", json={})
    assert sent.status_code == 202
    await gateway.wait_operation(sent.json(), timeout=120)
    final = {i["id"]: i for i in await _settled(gateway, org["id"])}

    bad = {unknown_debt["id"]: "INT002000", poison["id"]: "FMT001300", refused["id"]: "INT002047"}
    for rid, code in bad.items():
        assert final[rid]["status"] == "prepared", final[rid]
        assert final[rid]["last_error"]["code"] == code, final[rid]
    assert sorted(rid for rid, i in final.items() if i["status"] == "sent") == sorted(set(final) - set(bad))
    stats = await stand.answer_stats(org["ppa_guid"])
    # Every good answer reached GIS exactly once, although its first message was refused as a whole.
    assert stats["send_count_histogram"] == {"1": 9}, stats
    refusals = (await stand.admin.get("/stand/admin/refusals")).json()
    assert refusals["refused_messages"] >= 2  # the whole message, then each half carrying the poison
    history = (await client.get(f"/api/v1/debt-requests/{items[0]['id']}")).json()["history"]
    assert (
        any("refused as a whole" in (h["reason"] or "") for h in history)
        or final[items[0]["id"]]["status"] == "sent"
    )


async def test_withdrawn_by_the_requester_is_not_our_revoke(
    gateway: GatewayHandle, stand: StandHandle
) -> None:
    org = await gateway.new_org()
    await stand.seed(ppa_guid=org["ppa_guid"], cert_pem=gateway.keys.cert_pem, subrequests=3, accounts=3)
    client = gateway.client
    base = f"/api/v1/organisations/{org['id']}/debt-requests"
    await gateway.wait_operation((await client.post(f"{base}/fetch", json={})).json())
    await client.post(
        "/api/v1/debt-requests/answers/no-debt", json={"filter": {"organisation_id": org["id"]}}
    )
    items = await _requests(gateway, org["id"])
    gone, ours = items[0], items[1]
    assert (await stand.admin.post(f"/stand/admin/subrequests/{gone['subrequest_guid']}/withdraw")).is_success
    sent = await gateway.wait_operation((await client.post(f"{base}/send", json={})).json())
    assert sent["result"]["accepted"] == 2, sent
    revoke = await client.post(f"/api/v1/debt-requests/{ours['id']}/revoke", json={"reason": "ошибка"})
    await gateway.wait_operation(revoke.json())
    withdrawn = (await client.get(f"/api/v1/debt-requests/{gone['id']}")).json()
    revoked = (await client.get(f"/api/v1/debt-requests/{ours['id']}")).json()
    assert withdrawn["status"] == "withdrawn" and revoked["status"] == "revoked"
    assert "revoked by the requester" in withdrawn["history"][-1]["reason"]
    assert revoked["history"][-1]["to_status"] == "revoked"
    listed = await client.get(
        "/api/v1/debt-requests", params={"organisation_id": org["id"], "status": "withdrawn"}
    )
    assert [i["id"] for i in listed.json()["items"]] == [gone["id"]]
    again = await client.put(f"/api/v1/debt-requests/{gone['id']}/answer", json={"has_debt": False})
    assert again.status_code == 409
