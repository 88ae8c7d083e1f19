"""The stand inside the gateway's lifespan, and `gisgw stand seed`."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager
from typer.testing import CliRunner

from app.gis_client.crypto.openssl_setup import find_gost_libraries
from app.gis_client.tls import gost_context
from app.gis_stand.cli import stand_app
from app.gis_stand.server import free_port, stand_config
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


@pytest.mark.skipif(find_gost_libraries()[1] is None, reason="OpenSSL gost engine not installed")
async def test_gateway_starts_the_stand_over_gost_tls(fresh_database_url: str, tmp_path: Path) -> None:
    port = free_port()
    settings = make_settings(
        fresh_database_url,
        stand_enabled=True,
        stand_port=port,
        stand_tls=True,
        stand_database_url=f"sqlite+aiosqlite:///{tmp_path / 'stand.db'}",
    )
    app = create_app(settings)
    async with LifespanManager(app):
        tls = app.state.ctx.extras["stand"].tls
        assert tls is not None
        url = f"https://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=url, verify=tls.client_context()) as http:
            assert (await http.get("/healthz")).json() == {"status": "ok"}
        # Without a client certificate the handshake fails: no HTTP at all.
        no_cert = gost_context()
        no_cert.load_verify_locations(cafile=str(tls.cert_path))
        async with httpx.AsyncClient(base_url=url, verify=no_cert) as http:
            with pytest.raises(httpx.HTTPError):
                await http.get("/healthz")
    config = stand_config(app, "127.0.0.1", port, access_log=True)  # the CLI's call
    assert config.access_log is True


def test_stand_tls_option_is_offered() -> None:
    result = CliRunner().invoke(stand_app, ["serve", "--help"])
    assert result.exit_code == 0 and "--tls" in result.output


def test_demo_points_the_gateway_at_the_stand_port(monkeypatch: pytest.MonkeyPatch) -> None:
    from app.cli import demo_settings
    from app.settings import get_settings

    monkeypatch.delenv("GISGW_GIS_BASE_URL", raising=False)
    monkeypatch.setenv("GISGW_STAND_PORT", "18181")
    monkeypatch.setenv("GISGW_STAND_ENABLED", "true")
    try:
        assert demo_settings().gis.base_url.rstrip("/") == "http://127.0.0.1:18181"
        monkeypatch.setenv("GISGW_GIS_BASE_URL", "http://127.0.0.1:9999")
        assert demo_settings().gis.base_url.rstrip("/") == "http://127.0.0.1:9999"
    finally:
        monkeypatch.delenv("GISGW_GIS_BASE_URL", raising=False)
        get_settings.cache_clear()
