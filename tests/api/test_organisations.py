"""Organisations: registration, visibility by key, scopes."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import bearer, make_org, make_token


def _org_body(**kw: object) -> dict[str, object]:
    body: dict[str, object] = {
        "name": "ООО «УК Северная»",
        "inn": "7701234567",
        "org_type": "management_company",
        "ppa_guid": str(uuid.uuid4()),
        "executor_guid": str(uuid.uuid4()),
        "region_code": "77",
    }
    body.update(kw)
    return body


async def test_create_and_get_organisation(api: httpx.AsyncClient, session: AsyncSession) -> None:
    token = await make_token(session, all_orgs=True)
    resp = await api.post("/api/v1/organisations", json=_org_body(), headers=bearer(token))
    assert resp.status_code == 201, resp.text
    org_id = resp.json()["id"]
    got = await api.get(f"/api/v1/organisations/{org_id}", headers=bearer(token))
    assert got.status_code == 200 and got.json()["inn"] == "7701234567"


async def test_duplicate_ppa_guid_conflicts(api: httpx.AsyncClient, session: AsyncSession) -> None:
    token = await make_token(session, all_orgs=True)
    body = _org_body()
    assert (await api.post("/api/v1/organisations", json=body, headers=bearer(token))).status_code == 201
    again = await api.post("/api/v1/organisations", json=body, headers=bearer(token))
    assert again.status_code == 409
    assert again.json()["errors"][0]["path"] == "body.ppa_guid"


async def test_missing_key_wrong_scope_and_other_org(api: httpx.AsyncClient, session: AsyncSession) -> None:
    mine = await make_org(session)
    other = await make_org(session)
    reader = await make_token(session, scopes=["read"], orgs=[mine.id])
    assert (await api.get("/api/v1/organisations")).status_code == 401
    assert (await api.get("/api/v1/organisations", headers=bearer("gk_nope_nope"))).status_code == 401
    denied = await api.post("/api/v1/organisations", json=_org_body(), headers=bearer(reader))
    assert denied.status_code == 403 and denied.headers["content-type"] == "application/problem+json"
    assert (await api.get(f"/api/v1/organisations/{other.id}", headers=bearer(reader))).status_code == 404
    listed = await api.get("/api/v1/organisations", headers=bearer(reader))
    assert [o["id"] for o in listed.json()["items"]] == [str(mine.id)]
