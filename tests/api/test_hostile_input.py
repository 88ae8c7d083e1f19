"""Ordinary bad input answers 4xx problem+json naming the field, never 5xx (issue #19), on both databases."""

from __future__ import annotations

import contextlib
import tracemalloc
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy.ext.asyncio import AsyncSession

from app.api.deps import get_session
from app.api.errors import PROBLEM_MEDIA_TYPE
from app.gis_stand.server import free_port
from app.main import create_app
from tests.conftest import make_settings
from tests.factories import bearer, make_org, make_subrequest, make_token


def _field(resp: httpx.Response) -> tuple[int, set[str], set[str]]:
    body = resp.json()
    return resp.status_code, {e["path"] for e in body["errors"]}, {e["rule"] for e in body["errors"]}


async def test_nul_in_query_is_422(api: httpx.AsyncClient, session: AsyncSession) -> None:
    token = await make_token(session, all_orgs=True)
    for path, name in (
        ("/api/v1/debt-requests?q=%D0%9B%00x", "q"),
        ("/api/v1/debt-requests?status=received%00", "status"),
        ("/api/v1/court-cases?status=%00", "status"),
        ("/api/v1/accounts?account_number=1%00", "account_number"),
    ):
        resp = await api.get(path, headers=bearer(token))
        assert resp.headers["content-type"] == PROBLEM_MEDIA_TYPE, path
        assert _field(resp) == (422, {f"query.{name}"}, {"nul_character"}), path


async def test_nul_in_json_body_is_422(api: httpx.AsyncClient, session: AsyncSession) -> None:
    org = await make_org(session)
    sub = await make_subrequest(session, org)
    token = await make_token(session, all_orgs=True)
    resp = await api.post(
        "/api/v1/organisations",
        json={
            "name": "УК\u0000",
            "inn": "7701234567",
            "org_type": "management_company",
            "ppa_guid": str(uuid.uuid4()),
        },
        headers=bearer(token),
    )
    assert _field(resp) == (422, {"body.name"}, {"nul_character"})
    resp = await api.patch(
        f"/api/v1/organisations/{org.id}", json={"name": "a\u0000b"}, headers=bearer(token)
    )
    assert _field(resp) == (422, {"body.name"}, {"nul_character"})
    answer = {"has_debt": True, "description": "act \u0000", "defendants": []}
    resp = await api.put(f"/api/v1/debt-requests/{sub.id}/answer", json=answer, headers=bearer(token))
    assert _field(resp) == (422, {"body.description"}, {"nul_character"})


async def test_ids_beyond_the_database_range_are_422(api: httpx.AsyncClient, session: AsyncSession) -> None:
    token = await make_token(session, all_orgs=True)
    huge = 2**31
    for path, field in (
        (f"/api/v1/audit?before_id={huge}", "query.before_id"),
        (f"/api/v1/audit?before_id={2**70}", "query.before_id"),
        (f"/api/v1/exchanges/{uuid.uuid4()}/journal/{huge}/xml", "path.entry_id"),
    ):
        resp = await api.get(path, headers=bearer(token))
        assert resp.status_code == 422, (path, resp.text)
        assert field in _field(resp)[1]
    resp = await api.get(f"/api/v1/exchanges/{uuid.uuid4()}/journal/{huge - 1}/xml", headers=bearer(token))
    assert resp.status_code == 404


async def test_offsets_past_the_database_range_are_422(api: httpx.AsyncClient, session: AsyncSession) -> None:
    # Found by the long stateful schemathesis run: OFFSET 2**87 overflowed SQLite's integer (a 500).
    org = await make_org(session)
    token = await make_token(session, all_orgs=True)
    lists = (
        f"/api/v1/organisations/{org.id}/house-changes?fias_house_guid={uuid.uuid4()}",
        f"/api/v1/organisations/{org.id}/houses?limit=10",
        f"/api/v1/organisations/{org.id}/house-changes/deliveries?limit=10",
        f"/api/v1/agreements?organisation_id={org.id}",
        f"/api/v1/write-off/acts?organisation_id={org.id}",
    )
    for path in lists:
        for offset in (2**31, 2**63, 2**87):
            resp = await api.get(f"{path}&offset={offset}", headers=bearer(token))
            assert _field(resp)[:2] == (422, {"query.offset"}), (path, offset, resp.text)
        resp = await api.get(f"{path}&offset={2**31 - 1}", headers=bearer(token))
        assert resp.status_code == 200, (path, resp.text)


async def test_audit_invalid_cursor_is_422(api: httpx.AsyncClient, session: AsyncSession) -> None:
    token = await make_token(session, all_orgs=True)
    resp = await api.get("/api/v1/audit?cursor=garbage", headers=bearer(token))
    assert resp.status_code == 422 and "query.cursor" in _field(resp)[1]
    assert (await api.get("/api/v1/audit?cursor=5", headers=bearer(token))).status_code == 200


async def test_patch_organisation_name_null_is_422(api: httpx.AsyncClient, session: AsyncSession) -> None:
    org = await make_org(session)
    token = await make_token(session, all_orgs=True)
    resp = await api.patch(f"/api/v1/organisations/{org.id}", json={"name": None}, headers=bearer(token))
    assert resp.status_code == 422 and "body.name" in _field(resp)[1]
    resp = await api.patch(f"/api/v1/organisations/{org.id}", json={"address": None}, headers=bearer(token))
    assert resp.status_code == 200


async def test_database_outage_is_503_with_retry_after(tmp_path: Any) -> None:
    # A PostgreSQL that does not answer (nothing listens on the port): every route that needs it says 503.
    url = f"postgresql+asyncpg://gisgw:gisgw@127.0.0.1:{free_port()}/gisgw"
    app = create_app(make_settings(url))
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://gisgw.test") as client:
            headers = bearer("gk_abcdefgh_" + "x" * 32)
            for method, path, body in (
                ("GET", "/api/v1/organisations", None),
                ("POST", "/api/v1/organisations", {"name": "x"}),
            ):
                resp = await client.request(method, path, json=body, headers=headers)
                assert resp.status_code == 503, (path, resp.text)
                assert resp.headers["retry-after"].isdigit()
                assert resp.headers["content-type"] == PROBLEM_MEDIA_TYPE


# --- bounded bodies ---------------------------------------------------------------------------------------

CHUNK = 1 << 20


class _HugeBody:
    """An ASGI receive that would hand out `total` bytes in 1 MiB chunks, counting what was taken."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.taken = 0

    async def __call__(self) -> dict[str, Any]:
        if self.taken >= self.total:
            return {"type": "http.disconnect"}
        self.taken += CHUNK
        return {"type": "http.request", "body": b"x" * CHUNK, "more_body": self.taken < self.total}


async def _call(app: Any, path: str, headers: list[tuple[bytes, bytes]], body: _HugeBody) -> dict[str, Any]:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"gisgw.test"), (b"content-type", b"application/json"), *headers],
        "client": ("127.0.0.1", 1),
        "server": ("gisgw.test", 80),
    }
    sent: dict[str, Any] = {}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            sent["status"] = message["status"]
            sent["headers"] = dict(message["headers"])

    await app(scope, body, send)
    return sent


@pytest.mark.parametrize("headers", [[], [(b"authorization", b"Bearer gk_unknown_key")]])
async def test_keyless_huge_body_is_refused_unread(
    api: httpx.AsyncClient, headers: list[tuple[bytes, bytes]]
) -> None:
    app = api._transport.app  # type: ignore[attr-defined]  # the app the fixture's client calls
    body = _HugeBody(200 * CHUNK)
    tracemalloc.start()
    try:
        sent = await _call(app, "/api/v1/organisations", headers, body)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert sent["status"] == 401
    assert body.taken == 0, "the body was read before the key was checked"
    assert peak < 8 * CHUNK, f"refusing a keyless post took {peak} bytes"


async def test_oversized_json_body_is_413(api: httpx.AsyncClient, session: AsyncSession) -> None:
    token = await make_token(session, all_orgs=True)
    headers = [(b"authorization", f"Bearer {token}".encode())]
    app = api._transport.app  # type: ignore[attr-defined]
    streamed = _HugeBody(200 * CHUNK)
    sent = await _call(app, "/api/v1/organisations", headers, streamed)
    assert sent["status"] == 413
    assert streamed.taken <= 2 * CHUNK, "reading should stop at the cap"
    declared = _HugeBody(200 * CHUNK)
    sent = await _call(app, "/api/v1/organisations", [*headers, (b"content-length", b"209715200")], declared)
    assert sent["status"] == 413 and declared.taken == 0
    resp = await api.post(
        "/api/v1/organisations",
        content=b"[" + b"1," * CHUNK + b"1]",
        headers={**bearer(token), "Content-Type": "application/json"},
    )
    assert resp.status_code == 413
    assert resp.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert resp.json()["errors"][0]["rule"] == "max_bytes"


# --- queue caps and write rate ----------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def _client(
    session: AsyncSession, database_url: str, **overrides: Any
) -> AsyncIterator[httpx.AsyncClient]:
    """Like the `api` fixture, with settings overrides."""
    app = create_app(make_settings(database_url, **overrides))

    async def _session() -> AsyncIterator[AsyncSession]:
        yield session
        await session.flush()

    app.dependency_overrides[get_session] = _session
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://gisgw.test") as client:
            yield client


async def test_pending_operations_past_the_cap_are_429(session: AsyncSession, database_url: str) -> None:
    org = await make_org(session)
    token = await make_token(session, all_orgs=True)
    async with _client(session, database_url, operations_max_pending_per_key=2) as client:
        base = f"/api/v1/organisations/{org.id}/debt-requests"
        first = await client.post(f"{base}/fetch", json={}, headers=bearer(token))
        assert first.status_code == 202
        # The same fetch again while it is pending: the pending operation, not a second one.
        again = await client.post(f"{base}/fetch", json={}, headers=bearer(token))
        assert again.status_code == 202 and again.json()["id"] == first.json()["id"]
        assert (await client.post(f"{base}/match", json={}, headers=bearer(token))).status_code == 202
        refused = await client.post(f"{base}/fetch", json={"date_from": "2026-01-01"}, headers=bearer(token))
        assert refused.status_code == 429, refused.text
        assert refused.headers["content-type"] == PROBLEM_MEDIA_TYPE
        assert int(refused.headers["retry-after"]) > 0
        assert refused.json()["type"].endswith("/too-many-requests")


async def test_changing_requests_past_the_rate_are_429(session: AsyncSession, database_url: str) -> None:
    org = await make_org(session)
    token = await make_token(session, all_orgs=True)
    async with _client(session, database_url, write_rate_per_minute=6, write_burst=3) as client:
        url = f"/api/v1/organisations/{org.id}"
        statuses = [
            (await client.patch(url, json={"address": f"д. {n}"}, headers=bearer(token))).status_code
            for n in range(4)
        ]
        assert statuses == [200, 200, 200, 429]
        refused = await client.patch(url, json={"address": "x"}, headers=bearer(token))
        assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
        # Reading is not rate-limited.
        assert (await client.get(url, headers=bearer(token))).status_code == 200
