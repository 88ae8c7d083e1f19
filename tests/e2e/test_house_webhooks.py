"""Change-feed subscribers registered through the API: validation, signed deliveries, retry, removal.

No subscriber is configured in settings here: the billing system subscribes itself with its own key.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from app.domain.houses.webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from tests.e2e.conftest import GatewayHandle, StandHandle
from tests.e2e.test_houses import (
    ORG_ID,
    PPA_GUID,
    Receiver,
    _billing,
    _next_month_in_the_stand,
    _sync,
    _wait_deliveries,
    create_organisation,
)
from tests.e2e.test_houses import receiver as receiver  # noqa: F401 - the fixture, used by name

SECRET = "api-subscriber-secret-42"
HOOKS = f"/api/v1/organisations/{ORG_ID}/house-webhooks"


@pytest.fixture
async def gateway_overrides(fresh_database_url: str) -> dict[str, Any]:
    """The organisation exists; no webhook in settings."""
    await create_organisation(fresh_database_url)
    return {"houses_webhook_retry_initial": 0.2, "houses_sync_concurrency": 2}


@pytest.mark.parametrize(
    ("body", "field", "rule"),
    [
        ({"url": "ftp://billing.example/hooks", "secret": SECRET}, "url", "string_pattern_mismatch"),
        ({"url": "https://billing.example/hooks", "secret": "short"}, "secret", "string_too_short"),
        ({"url": "https://user:pw@billing.example/h", "secret": SECRET}, "url", "webhook_url_no_credentials"),
        ({"url": "http:///no-host", "secret": SECRET}, "url", "webhook_url"),
        # urlsplit raises on these; found by the schemathesis run in CI (it was a 500)
        ({"url": "http://\u0004[\u0017}#", "secret": SECRET}, "url", "webhook_url"),
        ({"url": "http://billing.example:99999/h", "secret": SECRET}, "url", "webhook_url"),
    ],
)
async def test_bad_subscriptions_are_refused_naming_the_field(
    gateway: GatewayHandle, body: dict[str, str], field: str, rule: str
) -> None:
    resp = await gateway.client.post(HOOKS, json=body)
    assert resp.status_code == 422, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    problems = resp.json()["errors"]
    assert any(p["path"].endswith(field) and p["rule"] == rule for p in problems), problems
    assert (await gateway.client.get(HOOKS)).json()["items"] == []


async def test_api_subscriber_gets_each_change_signed_once_and_the_refused_one_again(
    stand: StandHandle, gateway: GatewayHandle, receiver: Receiver, tmp_path: Path
) -> None:
    created = await gateway.client.post(HOOKS, json={"url": receiver.url, "secret": SECRET})
    assert created.status_code == 201, created.text
    sub = created.json()
    assert sub["url"] == receiver.url and "secret" not in sub
    again = await gateway.client.post(HOOKS, json={"url": receiver.url, "secret": SECRET + "x"})
    assert again.status_code == 409, again.text
    listed = (await gateway.client.get(HOOKS)).json()["items"]
    assert [s["id"] for s in listed] == [sub["id"]] and SECRET not in json.dumps(listed)

    made = await stand.admin.post(
        "/stand/admin/orgs", json={"ppa_guid": PPA_GUID, "cert_pem": gateway.keys.cert_pem}
    )
    assert made.status_code == 201, made.text
    await stand.seed(ppa_guid=PPA_GUID, cert_pem=gateway.keys.cert_pem, subrequests=0, accounts=60)
    await _billing(stand, tmp_path, gateway)
    assert (await _sync(gateway, "2026-11"))["changes"] == 0
    expected = await _next_month_in_the_stand(stand)
    second = await _sync(gateway, "2026-12")
    assert second["changes"] == len(expected)

    deliveries = await _wait_deliveries(gateway, expected=len(expected))
    seen: dict[str, int] = {}
    for headers, body in receiver.received:
        assert verify(SECRET, headers[TIMESTAMP_HEADER.lower()], body, headers[SIGNATURE_HEADER.lower()])
        event = json.loads(body)["id"]
        seen[event] = seen.get(event, 0) + 1
    events = {d["event_id"] for d in deliveries}
    assert seen == {e: 2 if e == receiver.refused[0] else 1 for e in events}

    # Removing the subscriber: it is gone from the list, and later changes are not announced to it.
    gone = await gateway.client.delete(f"{HOOKS}/{sub['id']}")
    assert gone.status_code == 204, gone.text
    assert (await gateway.client.get(HOOKS)).json()["items"] == []
    missing = await gateway.client.delete(f"{HOOKS}/{sub['id']}")
    assert missing.status_code == 404
    audit = (await gateway.client.get("/api/v1/audit", params={"limit": 200})).json()["items"]
    actions = [a["action"] for a in audit if a["resource_type"] == "house_webhook_subscription"]
    assert sorted(actions) == ["house_webhook.create", "house_webhook.delete"]
