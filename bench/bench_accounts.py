"""Accounts benchmark: bulk import on PostgreSQL, then search latency through the HTTP API with wrk.

    .venv/bin/python bench/bench_accounts_gen.py var/bench/accounts-1m.jsonl --accounts 1000000
    GISGW_PG_OPTIONS="-c shared_buffers=2GB" scripts/with-postgres.sh \
        .venv/bin/python bench/bench_accounts.py var/bench/accounts-1m.jsonl

Needs GISGW_TEST_DATABASE_URL (scripts/with-postgres.sh sets it): a fresh database is created in that
server, migrated, filled by `import_file` (the code path of the accounts-import operation), and then served by
uvicorn (2 workers, uvloop, httptools) while wrk drives four search kinds with 50 connections: first as
steady-rate clients (each waits a random pause, PAUSE_MS on average, after every response), then
closed-loop (saturation). Prints Markdown tables.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from app.db.engine import create_engine, create_sessionmaker  # noqa: E402
from app.db.migrate import upgrade  # noqa: E402
from app.domain.accounts.importing import import_file  # noqa: E402
from app.domain.kernel.access import create_key  # noqa: E402
from app.settings import REPO_ROOT  # noqa: E402
from bench.bench_accounts_gen import account_number, els  # noqa: E402
from tests.factories import make_org  # noqa: E402

SPELLINGS = ["кв.{n}", "КВ {n}", "квартира № {n}", "kb. {n}", "{n}", " кв {n} "]


async def create_database(base_url: str) -> str:
    """Create an empty database on the server of base_url; return its URL."""
    import asyncpg

    url = make_url(base_url)
    name = f"gisgw_bench_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(user=url.username, host=url.host, port=url.port, database=url.database)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return url.set(database=name).render_as_string(hide_password=False)


async def run_import(
    url: str, path: Path, processes: int | None = None, chunk: int = 5000
) -> tuple[uuid.UUID, str, dict[str, object]]:
    """Import the file; return the organisation, a read key and the figures."""
    engine = create_engine(url)
    sm = create_sessionmaker(engine)
    async with sm() as s, s.begin():
        org = await make_org(s)
        key = await create_key(session=s, name="bench", scopes=["read"], organisation_ids=[org.id])
    started = time.perf_counter()
    report = await import_file(
        sessionmaker=sm, path=path, fmt="jsonl", organisation_id=org.id, processes=processes, chunk_size=chunk
    )
    seconds = time.perf_counter() - started
    # What a bulk load is followed by in production too: VACUUM sets the visibility map (index-only scans) and
    # ANALYZE the statistics, so autovacuum does not wake up on 12 M new rows in the middle of the searches.
    vacuum_started = time.perf_counter()
    async with engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text("VACUUM (ANALYZE)"))
        vacuum_seconds = time.perf_counter() - vacuum_started
        size = await conn.scalar(text("SELECT pg_size_pretty(pg_database_size(current_database()))"))
    await engine.dispose()
    figures = {
        "accounts": report.applied,
        "rejected": report.rejected,
        "ledger_months": report.ledger_months,
        "seconds": round(seconds, 1),
        "accounts_per_s": round(report.applied / seconds),
        "ledger_rows_per_s": round(report.ledger_months / seconds),
        "database_size": size,
        "vacuum_analyze_seconds": round(vacuum_seconds, 1),
    }
    return org.id, key.token, figures


async def path_sets(url: str, n_accounts: int, out_dir: Path, samples: int = 5000) -> dict[str, Path]:
    """Write one file of request paths per search kind."""
    import random

    rng = random.Random(1)
    engine = create_engine(url)
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                text(
                    "SELECT h.fias_house_guid, p.number_raw, p.number_norm FROM premises p "
                    "JOIN houses h ON h.id = p.house_id ORDER BY random() LIMIT :n"
                ),
                {"n": samples},
            )
        ).all()
    await engine.dispose()
    from urllib.parse import quote

    base = "/api/v1/accounts?"
    sets = {
        "house+premises (exact)": [
            f"{base}fias_house_guid={g}&premises={quote(raw)}&exact=true" for g, raw, _n in rows
        ],
        "account number": [
            f"{base}account_number={account_number(rng.randrange(n_accounts))}" for _ in range(samples)
        ],
        "ЕЛС": [f"{base}els={quote(els(rng.randrange(n_accounts)))}" for _ in range(samples)],
        "house+premises (normalised)": [
            f"{base}fias_house_guid={g}&premises={quote(rng.choice(SPELLINGS).format(n=norm))}"
            for g, _raw, norm in rows
        ],
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    files = {}
    for i, (name, paths) in enumerate(sets.items()):
        f = out_dir / f"paths-{i}.txt"
        f.write_text("\n".join(paths) + "\n", encoding="utf-8")
        files[name] = f
    return files


def wrk(port: int, paths: Path, token: str, connections: int, seconds: int, pause: int = 0) -> dict[str, str]:
    """Run wrk (each connection waiting `pause` ms after every response) and return throughput and latency."""
    cmd = [
        "wrk",
        f"-t{min(2, connections)}",
        f"-c{connections}",
        f"-d{seconds}s",
        "--latency",
        "-s",
        str(REPO_ROOT / "bench" / "bench_accounts.lua"),
        f"http://127.0.0.1:{port}",
        "--",
        str(paths),
        token,
        str(pause),
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    pct = dict(re.findall(r"^\s+(50|75|90|99)%\s+(\S+)$", out, re.M))
    rps = re.search(r"Requests/sec:\s+(\S+)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": rps.group(1) if rps else "?",
        "p50": pct.get("50", "?"),
        "p90": pct.get("90", "?"),
        "p99": pct.get("99", "?"),
        "errors": non2xx.group(1) if non2xx else "0",
    }


def serve(url: str, port: int, workers: int) -> subprocess.Popen[bytes]:
    """Start the gateway (uvicorn with uvloop and httptools) against the benchmark database."""
    env = {
        **os.environ,
        "GISGW_DATABASE_URL": url,
        "GISGW_WORKERS_ENABLED": "false",
        "GISGW_LOG_LEVEL": "WARNING",
        "GISGW_ENV": "test",
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "app.main:create_app",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--loop",
            "uvloop",
            "--http",
            "httptools",
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        env=env,
        cwd=REPO_ROOT,
    )
    import httpx

    for _ in range(100):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code < 500:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.terminate()
    raise RuntimeError("the gateway did not start")


def main() -> None:
    """Run the benchmark and print the results as Markdown."""
    fmt = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=fmt)
    parser.add_argument("file", type=Path)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument(
        "--pauses",
        type=int,
        nargs="+",
        default=[500, 100, 0],
        help="mean ms each connection waits after a response (uniform 0..2x): steady-rate clients; "
        "0 = saturation (closed loop)",
    )
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument("--database-url", default=os.environ.get("GISGW_TEST_DATABASE_URL"))
    parser.add_argument(
        "--processes", type=int, default=None, help="parser processes (default: auto; 0 = a thread)"
    )
    parser.add_argument("--writers", type=int, default=None, help="chunks written at once (default: 2)")
    parser.add_argument("--chunk", type=int, default=5000, help="accounts per transaction")
    parser.add_argument("--import-only", action="store_true")
    parser.add_argument(
        "--staged",
        action="store_true",
        help="measurement knob: always stage and upsert (no direct COPY on an initial load)",
    )
    parser.add_argument(
        "--models-encoder",
        action="store_true",
        help="measurement knob: validate every line with the pydantic models (no msgspec fast path)",
    )
    args = parser.parse_args()
    if not args.database_url:
        sys.exit("run under scripts/with-postgres.sh or pass --database-url")
    import app.db.bulk_accounts as bulk
    import app.domain.accounts.import_fast as fast
    import app.domain.accounts.importing as importer

    if args.staged:
        bulk.DIRECT_LOAD = False
    if args.models_encoder:
        fast.FAST_ENCODER = False
    if args.writers is not None:
        importer.WRITERS = args.writers
    url = asyncio.run(create_database(args.database_url))
    upgrade(url)
    org, token, figures = asyncio.run(run_import(url, args.file, args.processes, args.chunk))
    print("## import\n")
    for k, v in figures.items():
        print(f"- {k}: {v}")
    sys.stdout.flush()
    if args.import_only:
        return
    files = asyncio.run(path_sets(url, int(str(figures["accounts"])), REPO_ROOT / "var" / "bench"))
    proc = serve(url, args.port, args.workers)
    try:
        print(f"\n## search (wrk, {args.connections} connections, uvicorn --workers {args.workers})\n")
        print("| search | pause per client | req/s | p50 | p90 | p99 | non-2xx |")
        print("|---|---|---|---|---|---|---|")
        for name, paths in files.items():
            wrk(args.port, paths, token, args.connections, 3)  # warm-up: pools, caches, plans
            for pause in args.pauses:
                r = wrk(args.port, paths, token, args.connections, args.seconds, pause)
                label = f"{pause} ms" if pause else "none (saturation)"
                cells = [name, label, r["rps"], r["p50"], r["p90"], r["p99"], r["errors"]]
                print("| " + " | ".join(str(c) for c in cells) + " |")
                sys.stdout.flush()
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    del org


if __name__ == "__main__":
    main()
