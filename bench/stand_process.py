"""What the whole-cycle benchmarks share: the stand as its own process, waits on HTTP and on operations, and
the process figures read from /proc (CPU seconds, resident memory).

The stand runs apart from the gateway (`gisgw stand serve`, its own SQLite database) so that the CPU a
benchmark reports for the gateway is the gateway's alone.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from app.db.engine import create_engine, create_sessionmaker
from app.db.migrate import upgrade
from app.domain.kernel.access import ALL_SCOPES, create_key
from app.gis_client.crypto.backend import generate_test_key
from app.gis_stand.server import free_port
from app.settings import REPO_ROOT, Settings


def start_stand(
    tmp: Path, *, state_delays: tuple[float, float] = (0.0, 0.0)
) -> tuple[subprocess.Popen[bytes], str]:
    """Start `gisgw stand serve` on a free port, its own SQLite database in `tmp`; return it and its URL."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GISGW_")}
    env.update(
        GISGW_STAND_PORT=str(port),
        GISGW_STAND_DATABASE_URL=f"sqlite+aiosqlite:///{tmp / 'stand.db'}",
        GISGW_STAND_STATE_DELAYS=json.dumps(list(state_delays)),
        GISGW_LOG_LEVEL="WARNING",
        GISGW_LOG_JSON="false",
    )
    proc = subprocess.Popen(  # noqa: S603 - our own entry point
        [sys.executable, "-c", "from app.cli import main; main()", "stand", "serve"],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return proc, f"http://127.0.0.1:{port}"


@dataclass(frozen=True)
class BenchGateway:
    """A gateway database ready for a benchmark: its URL, an all-scopes key, a test signing key in `tmp`."""

    url: str
    token: str
    key_path: Path
    cert_path: Path
    cert_pem: bytes


async def prepare_gateway(tmp: Path, database_url: str | None) -> BenchGateway:
    """Migrate the gateway's database (SQLite in `tmp` unless a URL is given), create a key bound to every
    organisation with every scope, and write a self-signed GOST test key and certificate into `tmp`."""
    url = database_url or f"sqlite+aiosqlite:///{tmp / 'gateway.db'}"
    await asyncio.to_thread(upgrade, url)
    engine = create_engine(url)
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            created = await create_key(
                session=session, name="bench", scopes=ALL_SCOPES, all_organisations=True
            )
    finally:
        await engine.dispose()
    key_pem, cert_pem = generate_test_key("/CN=gisgw bench/O=Lab")
    (tmp / "key.pem").write_bytes(key_pem)
    (tmp / "cert.pem").write_bytes(cert_pem)
    return BenchGateway(url, created.token, tmp / "key.pem", tmp / "cert.pem", cert_pem)


def bench_settings(gateway: BenchGateway, stand_url: str, **groups: Any) -> Settings:
    """Settings of an in-process benchmark gateway: the stand at zero delay, fast polls, quiet logs; `groups`
    replace whole setting groups (e.g. `houses={"sync_concurrency": 8}`)."""
    values: dict[str, Any] = {
        "env": "test",
        "database": {"url": gateway.url},
        "gis": {"base_url": stand_url, "poll_schedule": [0.02]},
        "signing": {"key_path": gateway.key_path, "cert_path": gateway.cert_path},
        "workers": {"poll_interval": 0.02},
        "debt": {"fetch_interval_seconds": 0},
        "log": {"json_logs": False, "level": "WARNING"},
        "server": {"gc_tuning": False},
    }
    values.update(groups)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


async def wait_http(url: str, path: str = "/healthz", timeout: float = 60) -> None:
    """Wait until `url + path` answers at all (the process is up)."""
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(timeout=2) as client:
        while time.monotonic() < deadline:
            try:
                await client.get(url + path)
                return
            except httpx.HTTPError:
                await asyncio.sleep(0.2)
    raise RuntimeError(f"{url} did not start")


async def wait_op(client: httpx.AsyncClient, op: dict[str, Any], poll: float = 0.2) -> dict[str, Any]:
    """Poll an operation until it ends; return it, or raise with its error when it failed."""
    while True:
        data: dict[str, Any] = (await client.get(f"/api/v1/operations/{op['id']}")).json()
        if data["status"] in ("succeeded", "failed"):
            if data["status"] == "failed":
                raise RuntimeError(data["error"])
            return data
        await asyncio.sleep(poll)


def cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far (/proc/PID/stat, in clock ticks)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb() -> float:
    """This process's resident memory in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0
