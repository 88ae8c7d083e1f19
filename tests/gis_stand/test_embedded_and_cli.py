"""The stand inside the gateway's lifespan, and `gisgw stand seed`."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager
from typer.testing import CliRunner

from app.gis_stand.cli import stand_app
from app.gis_stand.server import free_port
from app.main import create_app
from tests.conftest import make_settings


async def test_gateway_starts_the_stand_over_http(fresh_database_url: str, tmp_path: Path) -> None:
    port = free_port()
    settings = make_settings(
        fresh_database_url,
        stand_enabled=True,
        stand_port=port,
        stand_database_url=f"sqlite+aiosqlite:///{tmp_path / 'stand.db'}",
    )
    app = create_app(settings)
    async with LifespanManager(app), httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
        assert (await http.get("/healthz")).json() == {"status": "ok"}
        assert "BEGIN CERTIFICATE" in (await http.get("/stand/admin/certificate")).text


def test_seed_command_is_deterministic(tmp_path: Path) -> None:
    runner = CliRunner()
    outputs = []
    for name in ("a", "b"):
        env = {"GISGW_STAND_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / name}.db"}
        from app.settings import get_settings

        get_settings.cache_clear()
        result = runner.invoke(
            stand_app, ["seed", "--accounts", "50", "--subrequests", "5", "--seed", "3"], env=env
        )
        assert result.exit_code == 0, result.output
        data = json.loads(result.output)
        outputs.append(data["org_ppa_guids"])
    get_settings.cache_clear()
    assert outputs[0] == outputs[1]


def test_demo_points_the_gateway_at_the_stand_port(monkeypatch: pytest.MonkeyPatch) -> None:
    from app.cli import demo_settings
    from app.settings import get_settings

    monkeypatch.delenv("GISGW_GIS_BASE_URL", raising=False)
    monkeypatch.setenv("GISGW_STAND_PORT", "18181")
    monkeypatch.setenv("GISGW_STAND_ENABLED", "true")
    try:
        assert demo_settings().gis_base_url.rstrip("/") == "http://127.0.0.1:18181"
        monkeypatch.setenv("GISGW_GIS_BASE_URL", "http://127.0.0.1:9999")
        assert demo_settings().gis_base_url.rstrip("/") == "http://127.0.0.1:9999"
    finally:
        monkeypatch.delenv("GISGW_GIS_BASE_URL", raising=False)
        get_settings.cache_clear()
