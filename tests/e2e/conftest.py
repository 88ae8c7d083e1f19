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
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.db.engine import create_engine, create_sessionmaker
from app.domain.kernel.access import ALL_SCOPES, create_key
from app.gis_client.crypto.backend import generate_test_key
from app.gis_stand.app import create_stand_app
from app.gis_stand.config import FaultConfig, StandConfig
from app.gis_stand.runtime import StandRuntime
from app.gis_stand.server import free_port, serving
from app.main import create_app
from app.settings import REPO_ROOT, Settings
from tests.conftest import SCHEMA_DIR, make_settings, new_database

pytestmark = pytest.mark.e2e


@dataclass(frozen=True)
class KeyFiles:
    """The gateway's test signing key and certificate on disk."""

    key_path: Path
    cert_path: Path

    @property
    def cert_pem(self) -> str:
        """Return the certificate as PEM text (for the stand's registration)."""
        return self.cert_path.read_text()


@pytest.fixture(scope="session")
def e2e_keys(tmp_path_factory: pytest.TempPathFactory) -> KeyFiles:
    """A GOST test key and self-signed certificate for the gateway's IS."""
    folder = tmp_path_factory.mktemp("e2e-keys")
    key_pem, cert_pem = generate_test_key("/CN=gisgw e2e/O=Lab")
    key_path, cert_path = folder / "key.pem", folder / "cert.pem"
    key_path.write_bytes(key_pem)
    cert_path.write_bytes(cert_pem)
    return KeyFiles(key_path, cert_path)


@dataclass
class StandHandle:
    """The running stand: URL, runtime and an admin client."""

    base_url: str
    runtime: StandRuntime
    admin: httpx.AsyncClient

    async def seed(
        self, *, ppa_guid: str, cert_pem: str, subrequests: int, accounts: int = 1000, **kw: Any
    ) -> Any:
        """Seed accounts and subrequests addressed to them for an organisation; register its certificate."""
        body = {
            "org_ppa_guid": ppa_guid,
            "cert_pem": cert_pem,
            "subrequests": subrequests,
            "accounts": accounts,
            **kw,
        }
        resp = await self.admin.post("/stand/admin/seed", json=body)
        assert resp.status_code == 200, resp.text
        return resp.json()

    async def answer_stats(self, ppa_guid: str) -> dict[str, Any]:
        """Return the stand's per-status counts and the Send-count histogram for an organisation."""
        resp = await self.admin.get("/stand/admin/answer-stats", params={"org_ppa_guid": ppa_guid})
        assert resp.status_code == 200, resp.text
        data: dict[str, Any] = resp.json()
        return data


@pytest.fixture
async def stand_database_url(tmp_path: Path) -> str:
    """An empty database for the stand (it creates its own tables)."""
    return await new_database(tmp_path, migrate=False)


@pytest.fixture
async def stand(stand_database_url: str) -> AsyncIterator[StandHandle]:
    """The GIS stand over real HTTP, answering at once (no RequestState delays)."""
    config = StandConfig(
        database_url=stand_database_url, schema_dir=SCHEMA_DIR, state_delays=(0.0, 0.0), faults=FaultConfig()
    )
    app = create_stand_app(config)
    port = free_port()
    async with serving(app, "127.0.0.1", port):
        base = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=base, timeout=60) as admin:
            yield StandHandle(base, app.state.stand, admin)


def gateway_settings(database_url: str, stand_url: str, keys: KeyFiles, **overrides: Any) -> dict[str, Any]:
    """Settings values for a gateway talking to the stand quickly (also usable as GISGW_* env)."""
    values: dict[str, Any] = {
        "database_url": database_url,
        "gis_base_url": stand_url,
        "signing_key_path": keys.key_path,
        "signing_cert_path": keys.cert_path,
        "workers_enabled": True,
        "worker_poll_interval": 0.05,
        "gis_poll_schedule": [0.05],
        "gis_retry_initial_delay": 0.05,
        "gis_retry_max_delay": 0.5,
        "gis_connect_timeout": 2.0,
        "gis_read_timeout": 10.0,
        "fetch_interval_seconds": 0,
        "debt_send_wait_seconds": 120.0,
        # The stand answers in GIS's wire layout (§16) and signs every result: every e2e exchange must pass
        # the strictest check of GIS's signatures.
        "gis_verify_responses": "reject",
    }
    values.update(overrides)
    return values


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


async def admin_token(database_url: str) -> str:
    """Create an all-scopes, all-organisations API key in a gateway database."""
    engine = create_engine(database_url)
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            created = await create_key(session=session, name="e2e", scopes=ALL_SCOPES, all_organisations=True)
    finally:
        await engine.dispose()
    return created.token


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


@dataclass
class GatewayProcess:
    """`gisgw serve` as a child process (kill -9 it to simulate a crash)."""

    base_url: str
    proc: subprocess.Popen[bytes]
    log_path: Path

    def kill(self) -> None:
        """Kill the process at once (SIGKILL: no shutdown, no cleanup)."""
        self.stop(signal.SIGKILL)

    def stop(self, sig: signal.Signals = signal.SIGTERM, timeout: float = 60) -> None:
        """Send a signal (SIGTERM: graceful shutdown) and wait for the process to end."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, sig)
            self.proc.wait(timeout=timeout)

    async def ready(self, timeout: float = 60.0) -> None:
        """Wait until /healthz answers."""
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(base_url=self.base_url, timeout=2) as client:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise AssertionError(
                        f"gateway exited with {self.proc.returncode}: {self.log_path.read_text()}"
                    )
                try:
                    if (await client.get("/healthz")).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.2)
        raise AssertionError(f"gateway not ready: {self.log_path.read_text()[-3000:]}")


def _env_value(value: Any) -> str:
    if isinstance(value, list | dict):
        import json

        return json.dumps(value)
    return str(value)


@pytest.fixture
def gateway_process(tmp_path: Path) -> Iterator[Callable[..., GatewayProcess]]:
    """Factory: start `gisgw serve` with given settings values on a free port; all are killed at the end."""
    started: list[GatewayProcess] = []

    def start(values: dict[str, Any]) -> GatewayProcess:
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("GISGW_")}
        env.update(
            GISGW_ENV="test",
            GISGW_SCHEMA_DIR=str(SCHEMA_DIR),
            GISGW_LOG_JSON="false",
            GISGW_LOG_LEVEL="WARNING",
        )
        env.update({f"GISGW_{k.upper()}": _env_value(v) for k, v in values.items()})
        log_path = tmp_path / f"gateway-{len(started)}.log"
        with log_path.open("wb") as log_file:
            proc = subprocess.Popen(  # noqa: S603 - our own entry point with fixed arguments
                [
                    sys.executable,
                    "-c",
                    "from app.cli import main; main()",
                    "serve",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                ],
                cwd=REPO_ROOT,
                env=env,
                stdout=log_file,
                stderr=subprocess.STDOUT,
            )
        handle = GatewayProcess(f"http://127.0.0.1:{port}", proc, log_path)
        started.append(handle)
        return handle

    yield start
    for handle in started:
        handle.kill()
