"""/readyz calls GIS ready only on a SOAP answer: the stand passes, a web server's 404 does not."""

from __future__ import annotations

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from app.gis_stand.server import free_port, serving
from app.main import create_app
from tests.conftest import make_settings
from tests.e2e.conftest import StandHandle

pytestmark = [pytest.mark.e2e]


async def _gis_check(database_url: str, gis_url: str) -> dict[str, object]:
    app = create_app(make_settings(database_url, gis_base_url=gis_url, workers_enabled=False))
    async with (
        LifespanManager(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as client,
    ):
        body = (await client.get("/readyz")).json()
    check: dict[str, object] = body["checks"]["gis"]
    return check


async def test_readyz_needs_a_soap_answer_from_gis(fresh_database_url: str, stand: StandHandle) -> None:
    ok = await _gis_check(fresh_database_url, stand.base_url)
    assert ok["ok"] is True and ok["detail"] == ok["detail"] | {"soap": True}  # type: ignore[operator]
    not_gis = FastAPI()  # any web server: answers 404 to whatever it is asked
    port = free_port()
    async with serving(not_gis, "127.0.0.1", port):
        wrong = await _gis_check(fresh_database_url, f"http://127.0.0.1:{port}")
    assert wrong["ok"] is False
    assert wrong["detail"] == wrong["detail"] | {"reachable": True, "http_status": 404, "soap": False}  # type: ignore[operator]
