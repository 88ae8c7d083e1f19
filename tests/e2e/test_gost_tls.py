"""GOST TLS in-process end to end: gateway and stand speak TLS 1.2 GOST suites with client certificates."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from app.gis_client.crypto.backend import generate_test_key
from app.gis_client.crypto.openssl_setup import find_gost_libraries
from app.gis_client.doctor import run_doctor
from app.gis_stand.app import create_stand_app
from app.gis_stand.config import FaultConfig, StandConfig
from app.gis_stand.models import Message
from app.gis_stand.server import free_port, serving
from app.main import create_app
from tests.conftest import SCHEMA_DIR, make_settings
from tests.e2e.conftest import GatewayHandle, KeyFiles, StandHandle, admin_token, gateway_settings

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        find_gost_libraries()[1] is None, reason="OpenSSL gost engine not installed (libengine-gost-openssl)"
    ),
]


@pytest.fixture
async def tls_stand(stand_database_url: str) -> AsyncIterator[StandHandle]:
    """The stand over GOST TLS (generated server certificate); its admin client presents the operator pair."""
    config = StandConfig(
        database_url=stand_database_url,
        schema_dir=SCHEMA_DIR,
        state_delays=(0.0, 0.0),
        faults=FaultConfig(),
        tls=True,
    )
    app = create_stand_app(config)
    tls = app.state.stand.tls
    assert tls is not None
    port = free_port()
    async with serving(app, "127.0.0.1", port):
        base = f"https://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=base, timeout=60, verify=tls.client_context()) as admin:
            yield StandHandle(base, app.state.stand, admin)


@contextlib.asynccontextmanager
async def running_gateway(
    database_url: str, stand: StandHandle, keys: KeyFiles, **overrides: Any
) -> AsyncIterator[GatewayHandle]:
    """The gateway over plain HTTP, talking GOST TLS to the stand and pinning its server certificate."""
    tls = stand.runtime.tls
    assert tls is not None
    values = gateway_settings(database_url, stand.base_url, keys, gis_tls_ca_file=tls.cert_path, **overrides)
    settings = make_settings(**values)
    token = await admin_token(database_url)
    port = free_port()
    async with serving(create_app(settings), "127.0.0.1", port):
        base = f"http://127.0.0.1:{port}"
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(base_url=base, timeout=120, headers=headers) as client:
            yield GatewayHandle(base, settings, client, token, keys)


async def test_debt_request_cycle_over_gost_tls(
    fresh_database_url: str, tls_stand: StandHandle, e2e_keys: KeyFiles
) -> None:
    async with running_gateway(fresh_database_url, tls_stand, e2e_keys) as gateway:
        assert gateway.settings.gis.base_url.startswith("https://")
        org = await gateway.new_org()
        await tls_stand.seed(
            ppa_guid=org["ppa_guid"], cert_pem=e2e_keys.cert_pem, subrequests=12, accounts=30
        )
        client = gateway.client
        base = f"/api/v1/organisations/{org['id']}/debt-requests"
        fetched = await gateway.wait_operation((await client.post(f"{base}/fetch", json={})).json())
        assert fetched["result"]["new"] == 12, fetched
        mass = await client.post(
            "/api/v1/debt-requests/answers/no-debt",
            json={"filter": {"organisation_id": org["id"], "status": ["received"]}},
        )
        assert mass.status_code == 200 and mass.json()["prepared"] == 12, mass.text
        sent = await gateway.wait_operation((await client.post(f"{base}/send", json={})).json())
        assert sent["result"]["accepted"] == 12, sent
        stats = await tls_stand.answer_stats(org["ppa_guid"])
        assert stats["by_status"] == {"Sent": 12}, stats
        ready = (await client.get("/readyz")).json()
        assert ready["checks"]["gis"]["detail"]["reachable"] is True, ready


async def test_unregistered_client_certificate_fails_clearly_and_sends_nothing(
    fresh_database_url: str, tls_stand: StandHandle, e2e_keys: KeyFiles, tmp_path: Path
) -> None:
    key_pem, cert_pem = generate_test_key("/CN=unregistered/O=Lab")
    (tmp_path / "tls-key.pem").write_bytes(key_pem)
    (tmp_path / "tls-cert.pem").write_bytes(cert_pem)
    async with running_gateway(
        fresh_database_url,
        tls_stand,
        e2e_keys,
        gis_tls_cert_path=tmp_path / "tls-cert.pem",
        gis_tls_key_path=tmp_path / "tls-key.pem",
    ) as gateway:
        org = await gateway.new_org()
        # The signing certificate is registered; the TLS client certificate is not.
        await tls_stand.seed(ppa_guid=org["ppa_guid"], cert_pem=e2e_keys.cert_pem, subrequests=3, accounts=10)
        started = await gateway.client.post(f"/api/v1/organisations/{org['id']}/debt-requests/fetch", json={})
        op_id = started.json()["id"]
        deadline = time.monotonic() + 60
        while True:
            data = (await gateway.client.get(f"/api/v1/operations/{op_id}")).json()
            if data["status"] in ("succeeded", "failed"):
                break
            assert time.monotonic() < deadline, data
            await asyncio.sleep(0.1)
        assert data["status"] == "failed", data
        text = str(data)
        assert "TLS handshake with GIS failed" in text and "client certificate" in text, text
        # Nothing reached the stand: no message of any kind was recorded.
        async with tls_stand.runtime.sessionmaker() as session:
            assert await session.scalar(select(func.count()).select_from(Message)) == 0
        ready = (await gateway.client.get("/readyz")).json()
        assert ready["checks"]["gis"]["detail"]["tls"].startswith("certificate-refused: "), ready


async def test_doctor_all_ok_against_the_gost_tls_stand(tls_stand: StandHandle, e2e_keys: KeyFiles) -> None:
    tls = tls_stand.runtime.tls
    assert tls is not None
    created = await tls_stand.admin.post(
        "/stand/admin/orgs", json={"ppa_guid": str(uuid.uuid4()), "cert_pem": e2e_keys.cert_pem}
    )
    assert created.status_code == 201, created.text
    settings = make_settings(
        "sqlite+aiosqlite://",
        gis_base_url=tls_stand.base_url,
        gis_tls_ca_file=tls.cert_path,
        signing_key_path=e2e_keys.key_path,
        signing_cert_path=e2e_keys.cert_path,
    )
    checks = await asyncio.to_thread(run_doctor, settings, org_ppa_guid=created.json()["ppa_guid"])
    lines = [c.line() for c in checks]
    assert [c.name for c in checks] == [
        "key", "certificate", "key-match", "backends", "gost94", "schemas", "tls", "clock", "getstate"
    ], lines  # fmt: skip
    assert all(c.ok for c in checks), lines
    assert "gost TLSv1.2" in lines[6] and "GOST2012" in lines[6], lines
    assert "INT002013" in lines[8], lines  # GIS's "request not found": the round trip works
