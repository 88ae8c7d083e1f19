"""Accounts benchmark: bulk import on PostgreSQL, then search latency through the HTTP API with wrk.

    .venv/bin/python bench/bench_accounts_gen.py var/bench/accounts-1m.jsonl --accounts 1000000
    GISGW_PG_OPTIONS="-c shared_buffers=2GB" scripts/with-postgres.sh \
        .venv/bin/python bench/bench_accounts.py var/bench/accounts-1m.jsonl

Needs GISGW_TEST_DATABASE_URL (scripts/with-postgres.sh sets it): a fresh database is created in that
server, migrated, filled by `import_file` (the code path of the accounts-import operation), and then served by
uvicorn (2 workers, uvloop, httptools) while wrk drives four search kinds with 50 connections: first as
steady-rate clients (each waits a random pause, PAUSE_MS on average, after every response), then
closed-loop (saturation). Prints Markdown tables.

The floor (issue #20): the same searches' SQL — recorded from gisgw's own search code for every request
path wrk sends — run by raw asyncpg from 50 tasks on 50 connections (uvloop, one process), no HTTP. At
saturation gisgw and the floor run alternately for `--rounds` rounds per search kind; the last line is the
ratio line (req/s: higher is better; ratio = gisgw / floor, the median of the pair-by-pair ratios).
`--before DIR` serves a second gateway from another checkout (e.g. `git archive main | tar -x -C DIR`) in
the same rounds, for a before/after comparison measured side by side.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
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
from bench.floor import Pairs, ratio_line  # noqa: E402
from bench.stand_process import cpu_seconds  # noqa: E402
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
    total = re.search(r"(\d+) requests in", out)
    return {
        "requests": total.group(1) if total else "0",
        "rps": rps.group(1) if rps else "?",
        "p50": pct.get("50", "?"),
        "p90": pct.get("90", "?"),
        "p99": pct.get("99", "?"),
        "errors": non2xx.group(1) if non2xx else "0",
    }


def serve(url: str, port: int, workers: int, root: Path = REPO_ROOT) -> subprocess.Popen[bytes]:
    """Start the gateway (uvicorn with uvloop and httptools) from the checkout `root` against the database."""
    env = {
        **os.environ,
        "PYTHONPATH": str(root),
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
        cwd=root,
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


Statement = tuple[str, tuple[object, ...]]


async def record_statements(url: str, org: uuid.UUID, files: dict[str, Path]) -> dict[str, list[Statement]]:
    """Run gisgw's search for every path of every file once; return the SQL and arguments asyncpg received."""
    from urllib.parse import parse_qsl, urlsplit

    import asyncpg

    from app.api.accounts import AccountSearchParams, _search
    from app.domain.kernel.access import Principal

    principal = Principal(
        key_id=None, name="bench", scopes=frozenset({"read"}), organisation_ids=frozenset({org})
    )
    recorded: list[Statement] = []
    original = asyncpg.connection.Connection.fetch

    async def recording(self: object, query: str, *args: object, **kw: object) -> object:
        recorded.append((query, args))
        return await original(self, query, *args, **kw)  # type: ignore[arg-type]

    engine = create_engine(url)
    out: dict[str, list[Statement]] = {}
    asyncpg.connection.Connection.fetch = recording  # type: ignore[method-assign]
    try:
        async with engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            for name, path in files.items():
                recorded.clear()
                for line in path.read_text(encoding="utf-8").splitlines():
                    query = dict(parse_qsl(urlsplit(line).query))
                    await _search(conn, principal, AccountSearchParams.model_validate(query))
                out[name] = list(recorded)
    finally:
        asyncpg.connection.Connection.fetch = original  # type: ignore[method-assign]
        await engine.dispose()
    return out


async def _floor(url: str, statements: list[Statement], tasks: int, seconds: float) -> tuple[float, float]:
    import asyncpg

    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    conns = [await asyncpg.connect(dsn) for _ in range(tasks)]
    done = 0
    stop = False

    async def worker(conn: asyncpg.Connection, seed: int) -> None:
        nonlocal done
        rng = random.Random(seed)
        while not stop:
            sql, args = statements[rng.randrange(len(statements))]
            await conn.fetch(sql, *args)
            done += 1

    try:
        for conn in conns:  # prepare every statement on every connection first, as gisgw's warm-up does
            for sql, args in statements[:200]:
                await conn.fetch(sql, *args)
        cpu, wall = time.process_time(), time.perf_counter()
        running = [asyncio.create_task(worker(c, i)) for i, c in enumerate(conns)]
        await asyncio.sleep(seconds)
        stop = True
        await asyncio.gather(*running)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    finally:
        for conn in conns:
            await conn.close()
    return done / wall, cpu * 1000 / max(done, 1)


def floor(url: str, statements: list[Statement], tasks: int, seconds: float) -> tuple[float, float]:
    """Run the statements by raw asyncpg from `tasks` tasks, one connection each: req/s, ms CPU per req."""
    try:
        import uvloop

        return uvloop.run(_floor(url, statements, tasks, seconds))
    except ImportError:
        return asyncio.run(_floor(url, statements, tasks, seconds))


def workers_cpu(proc: subprocess.Popen[bytes]) -> float:
    """CPU seconds used so far by the uvicorn worker processes (children of the supervisor)."""
    children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
    return sum(cpu_seconds(int(pid)) for pid in children)


def saturation_rounds(
    args: argparse.Namespace,
    url: str,
    token: str,
    files: dict[str, Path],
    statements: dict[str, list[Statement]],
    gateways: dict[str, tuple[subprocess.Popen[bytes], int]],
) -> None:
    """Alternate each gateway with the floor at saturation, `args.rounds` rounds per search kind."""
    print(f"\n## saturation against the floor ({args.connections} clients, {args.rounds} rounds)\n")
    print(
        "| search | round | "
        + " | ".join(f"{g} req/s (ms CPU/req)" for g in gateways)
        + " | floor req/s (ms CPU/req) |"
    )
    print("|---|---|" + "---|" * (len(gateways) + 1))
    # Exact lookups (house+premises exact, account number, ЕЛС) make the line; the normalised
    # premises search (a wider SELECT) has its own.
    pairs: dict[tuple[str, str], Pairs] = {}
    for name, paths in files.items():
        kind = "normalised" if "normalised" in name else "exact"
        for _proc, port in gateways.values():
            wrk(port, paths, token, args.connections, 3)  # warm-up: pools, caches, plans
        for rnd in range(args.rounds):
            cells: dict[str, tuple[float, float]] = {}
            order = [*gateways, "floor"]
            if rnd % 2:
                order.reverse()
            for who in order:
                if who == "floor":
                    cells[who] = floor(url, statements[name], args.connections, args.seconds)
                    continue
                proc, port = gateways[who]
                cpu = workers_cpu(proc)
                r = wrk(port, paths, token, args.connections, args.seconds)
                used = workers_cpu(proc) - cpu
                if r["errors"] != "0":
                    print(f"{who}: {r['errors']} non-2xx responses", file=sys.stderr)
                cells[who] = (float(r["rps"]), used * 1000 / max(int(r["requests"]), 1))
            for g in gateways:
                # Pairs holds the rates; its ratio is gisgw / floor (higher is better here).
                pairs.setdefault((g, kind), Pairs()).add(cells[g][0], cells["floor"][0])
            row = [name, str(rnd + 1)] + [
                f"{rps:,.0f} ({ms:.3f})" for rps, ms in (*(cells[g] for g in gateways), cells["floor"])
            ]
            print("| " + " | ".join(row) + " |")
            sys.stdout.flush()
    print()
    for (g, kind), pr in sorted(pairs.items(), key=lambda item: (item[0][0] == "gisgw", item[0][1])):
        who = "" if g == "gisgw" else f" ({g})"
        label = f"{kind} account lookups at saturation{who}, PostgreSQL"
        ratio_line(label, pr.gisgw_median, pr.floor_median, "req/s", ratio=pr.ratio)


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
    parser.add_argument(
        "--rounds", type=int, default=3, help="saturation rounds against the floor per search"
    )
    parser.add_argument(
        "--before",
        type=Path,
        default=None,
        help="another checkout served alongside (before/after, side by side)",
    )
    parser.add_argument("--no-floor", action="store_true", help="only the paced and saturation tables")
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
    statements = asyncio.run(record_statements(url, org, files))
    gateways = {"gisgw": (serve(url, args.port, args.workers), args.port)}
    if args.before is not None:
        gateways["before"] = (serve(url, args.port + 1, args.workers, args.before.resolve()), args.port + 1)
    proc, port = gateways["gisgw"]
    try:
        if any(args.pauses):
            print(f"\n## search (wrk, {args.connections} connections, uvicorn --workers {args.workers})\n")
            print("| search | pause per client | req/s | p50 | p90 | p99 | non-2xx |")
            print("|---|---|---|---|---|---|---|")
            for name, paths in files.items():
                wrk(port, paths, token, args.connections, 3)  # warm-up: pools, caches, plans
                for pause in args.pauses:
                    r = wrk(port, paths, token, args.connections, args.seconds, pause)
                    label = f"{pause} ms" if pause else "none (saturation)"
                    cells = [name, label, r["rps"], r["p50"], r["p90"], r["p99"], r["errors"]]
                    print("| " + " | ".join(str(c) for c in cells) + " |")
                    sys.stdout.flush()
        if not args.no_floor:
            saturation_rounds(args, url, token, files, statements, gateways)
    finally:
        for p, _port in gateways.values():
            p.terminate()
            p.wait(timeout=20)


if __name__ == "__main__":
    main()
