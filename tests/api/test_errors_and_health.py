"""Health probes, request ids and the problem+json error model."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import bearer, make_token


async def test_healthz_is_ok_and_echoes_request_id(api: httpx.AsyncClient) -> None:
    resp = await api.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert resp.status_code == 200
    assert resp.json() == {"status": "ok"}
    assert resp.headers["x-request-id"] == "abc-123"


async def test_request_id_generated_when_missing_or_insane(api: httpx.AsyncClient) -> None:
    resp = await api.get("/healthz", headers={"X-Request-ID": "bad id with spaces"})
    assert len(resp.headers["x-request-id"]) == 32


async def test_readyz_reports_database_and_schemas(api: httpx.AsyncClient) -> None:
    resp = await api.get("/readyz")
    body = resp.json()
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["schemas"]["ok"] is True


async def test_unknown_route_is_problem_json(api: httpx.AsyncClient) -> None:
    resp = await api.get("/no/such/route")
    assert resp.status_code == 404
    assert resp.headers["content-type"] == "application/problem+json"
    body = resp.json()
    assert body["status"] == 404 and body["type"].endswith("/not-found")
    assert body["request_id"] == resp.headers["x-request-id"]


async def test_malformed_body_names_field_path(api: httpx.AsyncClient, session: AsyncSession) -> None:
    token = await make_token(session, all_orgs=True)
    resp = await api.post(
        "/api/v1/organisations",
        json={"name": "X", "inn": "12", "org_type": "bank", "ppa_guid": "not-a-uuid"},
        headers=bearer(token),
    )
    assert resp.status_code == 422
    assert resp.headers["content-type"] == "application/problem+json"
    paths = {e["path"] for e in resp.json()["errors"]}
    assert {"body.inn", "body.org_type", "body.ppa_guid"} <= paths


async def test_non_json_body_is_problem_json(api: httpx.AsyncClient, session: AsyncSession) -> None:
    token = await make_token(session, all_orgs=True)
    resp = await api.post(
        "/api/v1/organisations",
        content=b"{not json",
        headers={**bearer(token), "Content-Type": "application/json"},
    )
    assert resp.status_code == 422
    assert resp.json()["errors"][0]["path"].startswith("body")


async def test_method_not_allowed_is_problem_json(api: httpx.AsyncClient) -> None:
    resp = await api.delete("/healthz")
    assert resp.status_code == 405
    assert resp.headers["content-type"] == "application/problem+json"


def test_tune_gc_freezes_startup_objects_and_raises_the_young_threshold() -> None:
    import gc

    from app.main import GC_GEN0_THRESHOLD, tune_gc

    before = gc.get_threshold()
    try:
        tune_gc()
        assert gc.get_threshold() == (GC_GEN0_THRESHOLD, before[1], before[2])
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
