"""Bench the court premises count: N premises placed in GIS counted from the stand for some months of 2025.

Run: `.venv/bin/python bench/bench_premises_count.py [--premises 200000] [--per-house 10000] [--months 3]
[--concurrency 4] [--database-url URL]`. The stand runs as its own process (`gisgw stand serve`, SQLite, zero
delays) with one premises block (every premises with a payment document in each month counted); timed: one
`court-premises-count` operation through the gateway's HTTP API and workers: exportAccountData per house,
then exportPaymentDocumentData per month and 1000 accounts, every exchange signed, its answer's signature and
XSD checked, journaled and stored. CPU is the gateway process's (this one).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the checkout's app and bench, not an install

from app.gis_client.crypto.openssl_setup import configure_openssl  # noqa: E402

configure_openssl()

import httpx  # noqa: E402

from app.gis_stand.server import free_port, serving  # noqa: E402
from app.main import create_app  # noqa: E402
from bench.stand_process import (  # noqa: E402
    bench_settings,
    cpu_seconds,
    prepare_gateway,
    rss_mb,
    start_stand,
    wait_http,
    wait_op,
)

PPA = "7c1f6a69-4d5e-4f3b-8a2c-1e3d4c5b6f70"


async def run(
    premises: int, per_house: int, months: int, concurrency: int, database_url: str | None
) -> dict[str, Any]:
    """Seed a block, count once; return the timings."""
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        stand, stand_url = start_stand(tmp)
        try:
            await wait_http(stand_url)
            gateway = await prepare_gateway(tmp, database_url)
            url, token, cert_pem = gateway.url, gateway.token, gateway.cert_pem
            settings = bench_settings(gateway, stand_url, court={"premises_count_concurrency": concurrency})
            app = create_app(settings)
            port = free_port()
            async with serving(app, "127.0.0.1", port), httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {token}"}, timeout=600
            ) as client, httpx.AsyncClient(base_url=stand_url, timeout=600) as admin:  # fmt: skip
                org = (
                    await client.post(
                        "/api/v1/organisations",
                        json={"name": "АО «РЦ Бенч»", "inn": "7701234567", "org_type": "settlement_centre",
                              "ppa_guid": PPA, "executor_guid": "2d3e4f5a-6b7c-4d8e-9f0a-1b2c3d4e5f60"},
                    )
                ).json()  # fmt: skip
                created = await admin.post(
                    "/stand/admin/orgs", json={"ppa_guid": PPA, "cert_pem": cert_pem.decode()}
                )
                created.raise_for_status()
                started = time.perf_counter()
                block = await admin.post(
                    "/stand/admin/premises-blocks",
                    json={"org_ppa_guid": PPA, "premises": premises, "per_house": per_house,
                          "documents": {f"2025-{m:02d}": premises for m in range(1, months + 1)}},
                )  # fmt: skip
                block.raise_for_status()
                seed_s = time.perf_counter() - started
                wall, cpu, rss = time.perf_counter(), time.process_time(), rss_mb()
                stand_cpu = cpu_seconds(stand.pid)
                op = (
                    await client.post(
                        "/api/v1/court-orders/premises-count",
                        json={"organisation_id": org["id"], "months": list(range(1, months + 1)),
                              "fias_house_guids": block.json()["fias_house_guids"]},
                    )
                ).json()  # fmt: skip
                result = await wait_op(client, op)
                wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
                verdict = (
                    await client.get(
                        "/api/v1/court-orders/eligibility",
                        params={"organisation_id": org["id"], "on_date": "2026-03-02"},
                    )
                ).json()
            stand_cpu = cpu_seconds(stand.pid) - stand_cpu
        finally:
            stand.send_signal(signal.SIGTERM)
            stand.wait(timeout=30)
    report = result["result"]
    return {
        "premises": premises,
        "per_house": per_house,
        "months": months,
        "concurrency": concurrency,
        "database": url.split(":")[0],
        "block_seed_s": round(seed_s, 3),
        "exchanges": report["exchanges"],
        "count_wall_s": round(wall, 1),
        "gateway_cpu_s": round(cpu, 1),
        "stand_cpu_s": round(stand_cpu, 1),
        "exchanges_per_s": round(report["exchanges"] / wall, 1),
        "cpu_ms_per_exchange": round(1000 * cpu / report["exchanges"]),
        "rss_mb": {"before": round(rss, 1), "after": round(rss_mb(), 1)},
        "gis_premises": {k: v["gis_premises"] for k, v in report["months"].items()},
        "verdict": verdict["verdict"],
    }


def main() -> None:
    """Parse arguments, run, print JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--premises", type=int, default=200_000)
    parser.add_argument("--per-house", type=int, default=10_000)
    parser.add_argument("--months", type=int, default=1, help="months of 2025 counted, from January")
    parser.add_argument("--concurrency", type=int, default=4, help="GISGW_COURT_PREMISES_COUNT_CONCURRENCY")
    parser.add_argument(
        "--database-url", default=None, help="gateway database (default: SQLite in a temp dir)"
    )
    args = parser.parse_args()
    result = asyncio.run(run(args.premises, args.per_house, args.months, args.concurrency, args.database_url))
    print(json.dumps(result, indent=2, ensure_ascii=False))  # noqa: T201


if __name__ == "__main__":
    main()
