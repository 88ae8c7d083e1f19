"""Bench the gateway's memory under abuse (issue #19): hostile bodies, a large GIS answer, 50 clients at once.

Starts `gisgw serve` (uvicorn, one process, SQLite) and the stand, measures the gateway's resident set at
rest, then runs in parallel: hostile 100 MB JSON bodies (half declared by Content-Length, half chunked) with
no key (401 expected) and with a key (413 expected), both without the gateway reading them; a fetch of
`--subrequests` subrequests from the stand (30 pages of GIS answers for 3,000); `--clients` clients on
ordinary read routes. The gateway's RSS is sampled from /proc every 20 ms throughout.

Run: `.venv/bin/python bench/bench_memory.py [--subrequests 3000] [--clients 50] [--hostile 6]
[--bound-mb 400]`.
Last line: `memory: gisgw <peak> MB, floor <idle> MB, ratio <r>`. Figures: docs/benchmarks.md
"## Memory under abuse".
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.gis_client.crypto.openssl_setup import configure_openssl

configure_openssl()

import httpx  # noqa: E402

from app.db.migrate import upgrade  # noqa: E402
from tests.harness import (  # noqa: E402
    StandHandle,
    admin_token,
    gateway_settings,
    make_keys,
    rss_mb,
    run_stand,
    start_gateway_process,
)

MB = 1_048_576
HOSTILE_BYTES = 100 * MB
_PIECE = b"A" * MB  # one buffer, sent again and again: the client does not hold 100 MB


@dataclass
class Sampler:
    """The gateway's RSS sampled from /proc until stopped."""

    pid: int
    interval: float = 0.02
    samples: list[float] = field(default_factory=list)

    async def run(self, stop: asyncio.Event) -> None:
        """Sample until `stop` is set."""
        while not stop.is_set():
            value = rss_mb(self.pid)
            if value is not None:
                self.samples.append(value)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.interval)

    @property
    def peak(self) -> float:
        """The highest sample."""
        return max(self.samples)


@dataclass
class Hostile:
    """What one hostile post got: the status line's code and how much of the body went out before it."""

    keyed: bool
    chunked: bool
    status: int | None
    sent_bytes: int
    seconds: float


async def hostile_post(host: str, port: int, path: str, token: str | None, *, chunked: bool) -> Hostile:
    """Stream a 100 MB JSON body over a raw socket until the gateway answers; stop sending at its answer."""
    started = time.monotonic()
    reader, writer = await asyncio.open_connection(host, port)
    head = [f"POST {path} HTTP/1.1", f"Host: {host}:{port}", "Content-Type: application/json"]
    if token:
        head.append(f"Authorization: Bearer {token}")
    head.append("Transfer-Encoding: chunked" if chunked else f"Content-Length: {HOSTILE_BYTES}")
    writer.write(("\r\n".join(head) + "\r\n\r\n").encode("ascii"))
    status_line = asyncio.create_task(reader.readline())
    sent = 0
    try:
        while sent < HOSTILE_BYTES and not status_line.done():
            piece = b'{"name": "' + _PIECE[10:] if sent == 0 else _PIECE
            writer.write(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
            drain = asyncio.create_task(writer.drain())
            await asyncio.wait({drain, status_line}, return_when=asyncio.FIRST_COMPLETED)
            if not drain.done():
                drain.cancel()
                break
            drain.result()
            sent += len(piece)
        line = await asyncio.wait_for(status_line, 60)
    except (ConnectionError, TimeoutError):
        line = status_line.result() if status_line.done() and not status_line.exception() else b""
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
    parts = line.split()
    status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
    return Hostile(token is not None, chunked, status, sent, time.monotonic() - started)


async def ordinary_client(
    client: httpx.AsyncClient,
    paths: list[str],
    statuses: Counter[int | str],
    stop: asyncio.Event,
    offset: int,
) -> None:
    """Read ordinary routes one after another until `stop`."""
    n = offset
    while not stop.is_set():
        try:
            resp = await client.get(paths[n % len(paths)])
            statuses[resp.status_code] += 1
        except httpx.HTTPError as exc:
            statuses[type(exc).__name__] += 1
            print(f"{time.strftime('%H:%M:%S')} {paths[n % len(paths)]}: {exc!r}", file=sys.stderr)  # noqa: T201
        n += 1


async def wait_operation(client: httpx.AsyncClient, op_id: str, timeout: float) -> dict[str, Any]:
    """Poll an operation until it finishes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        data: dict[str, Any] = (await client.get(f"/api/v1/operations/{op_id}")).json()
        if data["status"] in ("succeeded", "failed"):
            return data
        await asyncio.sleep(0.2)
    raise AssertionError(f"operation {op_id} did not finish in {timeout} s")


@dataclass(frozen=True)
class Sizes:
    """The run's sizes (command-line options)."""

    subrequests: int
    clients: int
    hostile: int
    bound_mb: float
    min_seconds: float


async def main(sizes: Sizes) -> int:
    """Run the bench; return 0 when the peak is under the bound and nothing answered 5xx."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        database_url = f"sqlite+aiosqlite:///{folder / 'gisgw.db'}"
        await asyncio.to_thread(upgrade, database_url)
        keys = make_keys(folder)
        token = await admin_token(database_url)
        async with run_stand(f"sqlite+aiosqlite:///{folder / 'stand.db'}") as stand:
            values = gateway_settings(database_url, stand.base_url, keys)
            gateway = start_gateway_process(values, folder / "gateway.log")
            try:
                await gateway.ready()
                return await _measure(gateway.proc.pid, gateway.base_url, stand, keys.cert_pem, token, sizes)
            finally:
                gateway.stop()
                # The gateway's log outlives the temporary folder, for a look after a failed run.
                keep = Path("var") / "bench-memory-gateway.log"
                keep.parent.mkdir(exist_ok=True)
                keep.write_bytes(gateway.log_path.read_bytes())


async def _measure(
    pid: int, base_url: str, stand: StandHandle, cert_pem: str, token: str, sizes: Sizes
) -> int:
    headers = {"Authorization": f"Bearer {token}"}
    # Idle connections expire on the client before uvicorn's 5 s keep-alive closes them on the server: with
    # both at 5 s a request sent on a connection the server is closing at that instant fails (ReadError).
    limits = httpx.Limits(max_connections=sizes.clients + 10, keepalive_expiry=2.0)
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=120, limits=limits) as api:
        org = (
            await api.post(
                "/api/v1/organisations",
                json={
                    "name": "ООО «УК Память»",
                    "inn": "7701234567",
                    "org_type": "management_company",
                    "ppa_guid": "5c1e2f7a-0d8e-4a4b-9c5d-2e1f0a9b8c7d",
                    "executor_guid": "4b0d1e6f-9c7d-4939-8b4c-1d0e9f8a7b6c",
                },
            )
        ).json()
        seeded = time.monotonic()
        await stand.seed(
            ppa_guid=org["ppa_guid"], cert_pem=cert_pem, subrequests=sizes.subrequests, accounts=2000
        )
        print(f"stand seeded with {sizes.subrequests} subrequests in {time.monotonic() - seeded:.1f} s")  # noqa: T201
        paths = [
            "/healthz",
            "/api/v1/organisations",
            f"/api/v1/organisations/{org['id']}",
            f"/api/v1/debt-requests?organisation_id={org['id']}&limit=100",
            f"/api/v1/debt-requests?organisation_id={org['id']}&status=received&limit=20",
            "/api/v1/dashboard",
            "/api/v1/audit?limit=50",
            f"/api/v1/accounts?organisation_id={org['id']}&scope=organisation&account_number=100&limit=50",
        ]
        for path in paths * 3:  # warm every route once or more before the floor is taken
            await api.get(path)
        await asyncio.sleep(2)
        idle = statistics.median([rss_mb(pid) or 0.0 for _ in range(5)])
        print(f"idle RSS {idle:.0f} MB")  # noqa: T201

        stop_sampling, stop_clients = asyncio.Event(), asyncio.Event()
        sampler = Sampler(pid)
        sampling = asyncio.create_task(sampler.run(stop_sampling))
        statuses: Counter[int | str] = Counter()
        started = time.monotonic()
        readers = [
            asyncio.create_task(ordinary_client(api, paths, statuses, stop_clients, n))
            for n in range(sizes.clients)
        ]
        host, port = base_url.removeprefix("http://").split(":")
        hostile_posts = [
            hostile_post(host, int(port), "/api/v1/organisations", key, chunked=n % 2 == 1)
            for key in (None, token)
            for n in range(sizes.hostile)
        ]
        fetch = (await api.post(f"/api/v1/organisations/{org['id']}/debt-requests/fetch", json={})).json()
        results = await asyncio.gather(
            asyncio.gather(*hostile_posts), wait_operation(api, fetch["id"], timeout=600)
        )
        hostiles: list[Hostile] = results[0]
        fetched: dict[str, Any] = results[1]
        fetch_seconds = time.monotonic() - started
        await asyncio.sleep(max(0.0, sizes.min_seconds - (time.monotonic() - started)))
        stop_clients.set()
        await asyncio.gather(*readers)
        load_seconds = time.monotonic() - started
        await asyncio.sleep(1)
        stop_sampling.set()
        await sampling
        after = rss_mb(pid) or 0.0

    peak = sampler.peak
    fives = sum(count for status, count in statuses.items() if isinstance(status, int) and status >= 500)
    errors = sum(count for status, count in statuses.items() if isinstance(status, str))
    by_kind = Counter(
        (("key" if h.keyed else "no key") + (", chunked" if h.chunked else ", Content-Length"), h.status)
        for h in hostiles
    )
    sent_mb = max(h.sent_bytes for h in hostiles) / MB
    print(  # noqa: T201
        f"hostile 100 MB bodies: {dict(by_kind)}; at most {sent_mb:.1f} MB of one sent before its answer, "
        f"slowest answer {max(h.seconds for h in hostiles):.2f} s"
    )
    print(  # noqa: T201
        f"fetch of {sizes.subrequests}: {fetched['status']}, "
        f"{(fetched.get('result') or {}).get('new')} new, {fetch_seconds:.1f} s"
    )
    total = sum(statuses.values())
    print(  # noqa: T201
        f"{sizes.clients} clients: {total} requests in {load_seconds:.1f} s ({total / load_seconds:.0f}/s), "
        f"statuses {dict(sorted(statuses.items(), key=str))}"
    )
    print(  # noqa: T201
        f"RSS: idle {idle:.0f} MB, peak {peak:.0f} MB ({len(sampler.samples)} samples), "
        f"after {after:.0f} MB; "
        f"5xx {fives}; bound {sizes.bound_mb:.0f} MB"
    )
    failures = []
    if peak >= sizes.bound_mb:
        failures.append(f"peak {peak:.0f} MB is not under the bound {sizes.bound_mb:.0f} MB")
    if fives or errors:
        failures.append(f"{fives} answers 5xx, {errors} failed connections from ordinary clients")
    if any(h.status != (413 if h.keyed else 401) for h in hostiles):
        failures.append(f"hostile bodies answered {dict(by_kind)} (401 without a key, 413 with one expected)")
    if fetched["status"] != "succeeded" or fetched["result"]["new"] != sizes.subrequests:
        failures.append(f"the fetch ended {fetched}")
    for failure in failures:
        print(f"FAILED: {failure}", file=sys.stderr)  # noqa: T201
    print(f"memory: gisgw {peak:.0f} MB, floor {idle:.0f} MB, ratio {peak / idle:.2f}")  # noqa: T201
    return 1 if failures else 0


def _parse() -> Sizes:
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=raw)
    add = parser.add_argument
    add("--subrequests", type=int, default=3000, help="subrequests the fetch brings (the large GIS answer)")
    add("--clients", type=int, default=50, help="concurrent clients on ordinary routes")
    add("--hostile", type=int, default=6, help="100 MB bodies without a key, and as many with one")
    add("--bound-mb", type=float, default=400.0, help="the stated RSS bound the peak must be under")
    add("--min-seconds", type=float, default=20.0, help="keep the clients going at least this long")
    ns = parser.parse_args()
    return Sizes(ns.subrequests, ns.clients, ns.hostile, ns.bound_mb, ns.min_seconds)


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main(_parse())))
