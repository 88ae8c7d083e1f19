"""Start-up code shared by the end-to-end tests, the chaos suite and the benchmarks.

The stand over real HTTP, `gisgw serve` as a child process, the gateway's test signing key, an admin key in
a gateway database, and the process's memory read from /proc. The pytest fixtures of `tests/e2e/conftest.py`
wrap these; `bench/` scripts call them directly.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from app.db.engine import create_engine, create_sessionmaker
from app.domain.kernel.access import ALL_SCOPES, create_key
from app.gis_client.crypto.backend import generate_test_key
from app.gis_stand.app import create_stand_app
from app.gis_stand.config import FaultConfig, StandConfig
from app.gis_stand.runtime import StandRuntime
from app.gis_stand.server import free_port, serving
from app.settings import REPO_ROOT
from tests.conftest import SCHEMA_DIR


@dataclass(frozen=True)
class KeyFiles:
    """The gateway's test signing key and certificate on disk."""

    key_path: Path
    cert_path: Path

    @property
    def cert_pem(self) -> str:
        """Return the certificate as PEM text (for the stand's registration)."""
        return self.cert_path.read_text()


def make_keys(folder: Path, subject: str = "/CN=gisgw e2e/O=Lab") -> KeyFiles:
    """Write a GOST test key and its self-signed certificate for the gateway's IS into `folder`."""
    key_pem, cert_pem = generate_test_key(subject)
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


@contextlib.asynccontextmanager
async def run_stand(database_url: str, faults: FaultConfig | None = None) -> AsyncIterator[StandHandle]:
    """Serve the stand on a free port in this event loop, answering at once (no RequestState delays)."""
    config = StandConfig(
        database_url=database_url,
        schema_dir=SCHEMA_DIR,
        state_delays=(0.0, 0.0),
        faults=faults or FaultConfig(),
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


async def admin_token(database_url: str) -> str:
    """Create an all-scopes, all-organisations API key in a gateway database."""
    engine = create_engine(database_url)
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            created = await create_key(session=session, name="e2e", scopes=ALL_SCOPES, all_organisations=True)
    finally:
        await engine.dispose()
    return created.token


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
    return json.dumps(value) if isinstance(value, list | dict) else str(value)


def start_gateway_process(
    values: dict[str, Any], log_path: Path, *, log_level: str = "WARNING"
) -> GatewayProcess:
    """Start `gisgw serve` with given settings values (as GISGW_* env) on a free port; log to `log_path`."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GISGW_")}
    env.update(
        GISGW_ENV="test",
        GISGW_SCHEMA_DIR=str(SCHEMA_DIR),
        GISGW_LOG_JSON="false",
        GISGW_LOG_LEVEL=log_level,
    )
    env.update({f"GISGW_{k.upper()}": _env_value(v) for k, v in values.items()})
    with log_path.open("wb") as log_file:
        proc = subprocess.Popen(  # noqa: S603 - our own entry point with fixed arguments
            [sys.executable, "-c", "from app.cli import main; main()", "serve"]
            + ["--host", "127.0.0.1", "--port", str(port)],
            cwd=REPO_ROOT,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    return GatewayProcess(f"http://127.0.0.1:{port}", proc, log_path)


def _status_kb(pid: int, field: str) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text(encoding="ascii").splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


def rss_mb(pid: int) -> float | None:
    """The process's resident set now (VmRSS) in MB, where /proc has it."""
    kb = _status_kb(pid, "VmRSS")
    return None if kb is None else kb / 1024


def peak_rss_mb(pid: int) -> int | None:
    """The process's peak resident set (VmHWM) in MB, where /proc has it."""
    kb = _status_kb(pid, "VmHWM")
    return None if kb is None else kb // 1024
