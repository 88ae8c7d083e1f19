"""End to end against the stand: fetch 500, match, answer 20 with debt and 480 'no debt', send, revoke."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

import pytest

from app.domain.kernel.calendar import moscow_today as today
from app.domain.kernel.snils import random_valid_snils
from tests.e2e.conftest import GatewayHandle, StandHandle

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


async def _all(gateway: GatewayHandle, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {"limit": 500, **params} | ({"cursor": cursor} if cursor else {})
        resp = await gateway.client.get("/api/v1/debt-requests", params=query)
        assert resp.status_code == 200, resp.text
        items += resp.json()["items"]
        cursor = resp.json()["next_cursor"]
        if cursor is None:
            return items


async def test_full_cycle_500_subrequests(gateway: GatewayHandle, stand: StandHandle) -> None:
    rng = random.Random(5)
    org = await gateway.new_org()
    await stand.seed(ppa_guid=org["ppa_guid"], cert_pem=gateway.keys.cert_pem, subrequests=500, accounts=200)
    client = gateway.client
    base = f"/api/v1/organisations/{org['id']}/debt-requests"

    fetched = await gateway.wait_operation((await client.post(f"{base}/fetch", json={})).json())
    assert fetched["result"]["new"] == 500, fetched
    await gateway.wait_operation((await client.post(f"{base}/match", json={})).json())

    received = await _all(gateway, organisation_id=org["id"], status="received")
    assert len(received) == 500
    for item in received[:20]:
        files = {"file": ("court-act.pdf", b"%PDF-1.4 court act " + item["id"].encode(), "application/pdf")}
        doc = await client.post(
            f"/api/v1/debt-requests/{item['id']}/documents", data={"type_code": "1"}, files=files
        )
        assert doc.status_code == 201, doc.text
        answer = {
            "has_debt": True,
            "description": "Судебный приказ № 2-1/2025",
            "defendants": [
                {
                    "last_name": "Иванов",
                    "first_name": "Иван",
                    "snils": random_valid_snils(rng),
                    "document_ids": [doc.json()["id"]],
                }
            ],
        }
        put = await client.put(f"/api/v1/debt-requests/{item['id']}/answer", json=answer)
        assert put.status_code == 200, put.text
    mass = await client.post(
        "/api/v1/debt-requests/answers/no-debt",
        json={"filter": {"organisation_id": org["id"], "status": ["received"]}},
    )
    assert mass.status_code == 200 and mass.json()["prepared"] == 480, mass.text

    sent = await gateway.wait_operation((await client.post(f"{base}/send", json={})).json(), timeout=300)
    assert sent["result"]["accepted"] == 500 and sent["result"]["messages"] == 5, sent
    assert sent["result"]["files_uploaded"] == 20
    assert len(await _all(gateway, organisation_id=org["id"], status="sent")) == 500
    stats = await stand.answer_stats(org["ppa_guid"])
    assert stats["by_status"] == {"Sent": 500} and stats["send_count_histogram"] == {"1": 500}, stats
    with_debt = (await client.get(f"/api/v1/debt-requests/{received[0]['id']}")).json()
    stand_view = (await stand.admin.get(f"/stand/admin/subrequests/{with_debt['subrequest_guid']}")).json()
    assert stand_view["response"] is not None

    target = received[0]["id"]
    revoke = await client.post(f"/api/v1/debt-requests/{target}/revoke", json={"reason": "ошибка"})
    assert revoke.status_code == 202, revoke.text
    await gateway.wait_operation(revoke.json())
    assert (await client.get(f"/api/v1/debt-requests/{target}")).json()["status"] == "revoked"
    assert (await stand.answer_stats(org["ppa_guid"]))["revokes"] == 1

    archived = await client.post(f"/api/v1/debt-requests/{target}/archive", json={"reason": "закрыт"})
    assert archived.status_code == 200 and archived.json()["status"] == "archived"
    period = {
        "deadline_from": str(today() - timedelta(days=30)),
        "deadline_to": str(today() + timedelta(days=30)),
    }
    deleted = await client.delete(f"{base}/archived", params=period | {"confirm": "DELETE"})
    assert deleted.status_code == 200 and deleted.json() == {"deleted": 1}, deleted.text
    assert (await client.get(f"/api/v1/debt-requests/{target}")).status_code == 404
