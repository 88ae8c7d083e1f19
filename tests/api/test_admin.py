"""API keys over HTTP, the audit journal and the metrics endpoint."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import bearer, make_org, make_token


async def test_key_lifecycle_and_audit(api: httpx.AsyncClient, session: AsyncSession) -> None:
    org = await make_org(session)
    admin = await make_token(session, all_orgs=True, name="root")
    created = await api.post(
        "/api/v1/keys",
        json={"name": "billing", "scopes": ["read", "answer"], "organisation_ids": [str(org.id)]},
        headers=bearer(admin),
    )
    assert created.status_code == 201, created.text
    token = created.json()["token"]
    assert token.startswith("gk_")
    listed = await api.get("/api/v1/keys", headers=bearer(admin))
    assert all("token" not in k for k in listed.json()["items"])
    assert (await api.get("/api/v1/organisations", headers=bearer(token))).status_code == 200
    revoked = await api.delete(f"/api/v1/keys/{created.json()['id']}", headers=bearer(admin))
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    assert (await api.get("/api/v1/organisations", headers=bearer(token))).status_code == 401
    journal = await api.get("/api/v1/audit", headers=bearer(admin))
    actions = [e["action"] for e in journal.json()["items"]]
    assert actions[:2] == ["key.revoke", "key.create"]
    assert journal.json()["items"][0]["actor"] == "key:root"


async def test_unknown_scope_names_the_field(api: httpx.AsyncClient, session: AsyncSession) -> None:
    admin = await make_token(session, all_orgs=True)
    resp = await api.post("/api/v1/keys", json={"name": "x", "scopes": ["root"]}, headers=bearer(admin))
    assert resp.status_code == 422
    assert resp.json()["errors"][0]["path"] == "body.scopes.0"


async def test_admin_routes_need_admin_scope(api: httpx.AsyncClient, session: AsyncSession) -> None:
    reader = await make_token(session, scopes=["read"], all_orgs=True)
    assert (await api.get("/api/v1/keys", headers=bearer(reader))).status_code == 403
    assert (await api.get("/api/v1/audit", headers=bearer(reader))).status_code == 403
    assert (await api.get("/api/v1/audit")).status_code == 401


async def test_metrics_expose_http_series(api: httpx.AsyncClient) -> None:
    await api.get("/healthz")
    resp = await api.get("/metrics")
    assert resp.status_code == 200
    assert 'gisgw_http_requests_total{method="GET",route="/healthz",status="200"}' in resp.text
