"""End-to-end fixtures: the GIS stand and the gateway (with its workers), both over real HTTP.

Reuse them for any gateway ↔ stand scenario:

* `e2e_keys` — the gateway's test IS key and certificate (PEM files), registered with the stand per org.
* `stand` — the stand on a free port with its own database (`StandHandle`: base URL, runtime, admin client).
* `gateway` — the gateway app (workers on, fast polling) on a free port and a fresh migrated database,
  pointed at the stand (`GatewayHandle`: base URL, settings, an all-scopes API client, `new_org()`,
  `wait_operation()`).
* `gateway_process` — a factory starting `gisgw serve` as a SUBPROCESS with given settings (crash tests:
  `GatewayProcess.kill()` is a real kill -9).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.gis_stand.server import free_port, serving
from app.main import create_app
from app.settings import Settings
from tests.conftest import make_settings, new_database
from tests.harness import (
    GatewayProcess,
    KeyFiles,
    StandHandle,
    admin_token,
    gateway_settings,
    make_keys,
    run_stand,
    start_gateway_process,
)

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="session")
def e2e_keys(tmp_path_factory: pytest.TempPathFactory) -> KeyFiles:
    """A GOST test key and self-signed certificate for the gateway's IS."""
    return make_keys(tmp_path_factory.mktemp("e2e-keys"))


@pytest.fixture
async def stand_database_url(tmp_path: Path) -> str:
    """An empty database for the stand (it creates its own tables)."""
    return await new_database(tmp_path, migrate=False)


@pytest.fixture
async def stand(stand_database_url: str) -> AsyncIterator[StandHandle]:
    """The GIS stand over real HTTP, answering at once (no RequestState delays)."""
    async with run_stand(stand_database_url) as handle:
        yield handle


@dataclass
class GatewayHandle:
    """A running gateway: URL, settings, an all-scopes client and helpers."""

    base_url: str
    settings: Settings
    client: httpx.AsyncClient
    token: str
    keys: KeyFiles
    created: list[uuid.UUID] = field(default_factory=list)

    async def new_org(self, stand: StandHandle | None = None, **kw: Any) -> dict[str, Any]:
        """Register an organisation in the gateway (and its certificate with the stand, seeding nothing)."""
        body = {
            "name": "ООО «УК E2E»",
            "inn": "7701234567",
            "org_type": "management_company",
            "ppa_guid": str(uuid.uuid4()),
            "executor_guid": str(uuid.uuid4()),
            **kw,
        }
        resp = await self.client.post("/api/v1/organisations", json=body)
        assert resp.status_code == 201, resp.text
        org: dict[str, Any] = resp.json()
        if stand is not None:
            created = await stand.admin.post(
                "/stand/admin/orgs", json={"ppa_guid": org["ppa_guid"], "cert_pem": self.keys.cert_pem}
            )
            assert created.status_code == 201, created.text
        return org

    async def wait_operation(self, op: dict[str, Any] | str, timeout: float = 120.0) -> dict[str, Any]:
        """Poll an operation until it succeeds; fail the test if it fails or times out."""
        op_id = op if isinstance(op, str) else op["id"]
        deadline = time.monotonic() + timeout
        while True:
            resp = await self.client.get(f"/api/v1/operations/{op_id}")
            assert resp.status_code == 200, resp.text
            data: dict[str, Any] = resp.json()
            if data["status"] in ("succeeded", "failed"):
                assert data["status"] == "succeeded", data
                return data
            if time.monotonic() > deadline:
                raise AssertionError(f"operation {op_id} still {data['status']} after {timeout} s")
            await asyncio.sleep(0.1)


@pytest.fixture
def gateway_overrides() -> dict[str, Any]:
    """Extra settings for the `gateway` fixture (override in a test module)."""
    return {}


@pytest.fixture
async def gateway(
    fresh_database_url: str, stand: StandHandle, e2e_keys: KeyFiles, gateway_overrides: dict[str, Any]
) -> AsyncIterator[GatewayHandle]:
    """The gateway with its workers over real HTTP on a fresh database, pointed at the stand."""
    settings = make_settings(
        **gateway_settings(fresh_database_url, stand.base_url, e2e_keys, **gateway_overrides)
    )
    token = await admin_token(fresh_database_url)
    app = create_app(settings)
    port = free_port()
    async with serving(app, "127.0.0.1", port):
        base = f"http://127.0.0.1:{port}"
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(base_url=base, timeout=120, headers=headers) as client:
            yield GatewayHandle(base, settings, client, token, e2e_keys)


@pytest.fixture
def gateway_process(tmp_path: Path) -> Iterator[Callable[..., GatewayProcess]]:
    """Factory: start `gisgw serve` with given settings values on a free port; all are killed at the end."""
    started: list[GatewayProcess] = []

    def start(values: dict[str, Any]) -> GatewayProcess:
        handle = start_gateway_process(values, tmp_path / f"gateway-{len(started)}.log")
        started.append(handle)
        return handle

    yield start
    for handle in started:
        handle.kill()
