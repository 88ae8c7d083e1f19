"""Bench: signed court packages for N ready debtors (PDFs + CMS signatures + one ZIP per court); goal ≤ 60 s.

    .venv/bin/python bench/bench_packages.py --debtors 10000                     # SQLite file in a temp dir
    scripts/with-postgres.sh .venv/bin/python bench/bench_packages.py --pg ...    # PostgreSQL

Seeds one organisation with N debtors who are all ready for a court order (36 ledger months, some paid,
four magistrates' courts by street), then times, with the OpenSSL backend and a local key:

* **drafts**: the `court-packages` operation (re-assess every debtor on the filing date, store a draft case
  with its claim and penalty calculation);
* **gisgw**: the `court-package-export` operation in the e-filing format (three PDFs per debtor, a detached
  CMS signature per file through the GIS port's `sign_detached`, registers, one ZIP per court);
* **floor**: the same PDFs from the same data sets in memory, rendered with the same worker processes and
  signed with the bare CMS template and OpenSSL, written into ZIPs: no database, no masking, no registers.

It prints `packages: gisgw <s>, floor <s>, ratio <r>` and checks a sample of signatures with
`openssl cms -verify -engine gost` (`--verify`).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import uuid
import zipfile
from concurrent.futures import ProcessPoolExecutor
from datetime import date
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from app.gis_client.crypto.openssl_setup import configure_openssl

configure_openssl()
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert  # noqa: E402

from app.db.base import utcnow  # noqa: E402
from app.db.engine import create_engine, create_sessionmaker  # noqa: E402
from app.db.models.accounts import Account  # noqa: E402
from app.db.models.core import Operation, Organisation  # noqa: E402
from app.db.models.court import CourtCase  # noqa: E402
from app.domain.accounts.ledger import encode_months  # noqa: E402
from app.domain.court import documents  # noqa: E402
from app.domain.court.exports import package_fonts, run_export_job  # noqa: E402
from app.domain.court.packages import application_data, run_packages_job  # noqa: E402
from app.domain.kernel.penalties import due_date_for  # noqa: E402
from app.domain.kernel.snils import random_valid_snils  # noqa: E402
from app.gis_client.client import GisClient  # noqa: E402
from app.gis_client.crypto import cms  # noqa: E402
from app.gis_client.crypto.backend import generate_test_key, get_backend  # noqa: E402
from app.gis_client.crypto.signer import LocalKeySigner  # noqa: E402
from app.settings import Settings  # noqa: E402
from bench.ledger_db import add_pg_argument, fresh_database, insert_ledger_rows, months_before  # noqa: E402

ON = date(2025, 11, 20)
STREETS = ("ул. Баумана", "ул. Пушкина", "ул. Толстого", "ул. Гоголя")
COURTS = [
    {"region": "16", "street": street,
     "court": {"name": f"Судебный участок № {i + 1} по Вахитовскому судебному району г. Казани",
               "district": str(i + 1), "address": "г. Казань, ул. Правосудия, д. 2"}}
    for i, street in enumerate(STREETS)
]  # fmt: skip


async def seed(url: str, debtors: int, months: int) -> uuid.UUID:
    """Insert one organisation whose every debtor is ready: identifiers, a court, a claim under the limit."""
    engine = create_engine(url)
    rng = random.Random(14)
    org_id = uuid.uuid4()
    periods = months_before(ON, months)
    dues = [due_date_for(p) for p in periods]
    now = utcnow()
    async with engine.begin() as conn:
        await conn.execute(
            insert(Organisation),
            [{"id": org_id, "name": "ООО «УК Бенч»", "inn": "1655000000", "ogrn": "1021602830000",
              "address": "г. Казань, ул. Баумана, д. 1", "org_type": "management_company",
              "ppa_guid": uuid.uuid4(), "region_code": "16", "created_at": now, "updated_at": now}],
        )  # fmt: skip
    for start in range(0, debtors, 5000):
        n = min(5000, debtors - start)
        houses, flats, accs, links, ledger = [], [], [], [], []
        for i in range(n):
            hid, pid, aid = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
            street = STREETS[(start + i) % len(STREETS)]
            houses.append({"id": hid, "fias_house_guid": uuid.uuid4(), "region": "16",
                           "address": f"г. Казань, {street}, д. {i % 90 + 1}", "created_at": now,
                           "updated_at": now})  # fmt: skip
            flats.append({"id": pid, "house_id": hid, "number_raw": str(i % 200 + 1),
                          "number_norm": str(i % 200 + 1), "kind": "apartment", "residential": True,
                          "created_at": now, "updated_at": now})  # fmt: skip
            accs.append({"id": aid, "organisation_id": org_id, "account_number": f"B{start + i:09d}",
                         "payer_kind": "person", "closed": False, "dispute": False, "bankruptcy": False,
                         "last_name": "Иванов", "first_name": "Иван", "middle_name": "Иванович",
                         "birth_date": date(1970, 1, 1), "birth_place": "г. Казань",
                         "snils": random_valid_snils(rng), "created_at": now, "updated_at": now})  # fmt: skip
            links.append({"account_id": aid, "premises_id": pid})
            rows = []
            for p, due in zip(periods, dues, strict=True):
                charged = Decimal(rng.randrange(150000, 600000)) / 100
                rows.append((p, charged, charged if rng.random() < 0.6 else Decimal(0), due))
            ledger.append({"account_id": aid, "months": encode_months(rows)})
        await insert_ledger_rows(engine, houses, flats, accs, links, ledger)
    await engine.dispose()
    return org_id


def _cpu() -> float:
    """CPU seconds of this process and its finished children (the pool's workers, once shut down)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


async def _progress(_done: int, _total: int | None = None) -> None:
    return None


def _floor_batch(cases: list[dict[str, Any]], fonts: documents.Fonts) -> list[tuple[bytes, ...]]:
    return documents.render_cases(cases, fonts)


def floor(datas: list[dict[str, Any]], settings: Settings, signer: LocalKeySigner, out: Path) -> float:
    """Time the same PDFs rendered (same pool) and signed by the bare libraries, written into ZIPs."""
    fonts = package_fonts(settings)
    processes = settings.court.package_processes
    started = time.perf_counter()
    pool = (
        ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("spawn")) if processes else None
    )
    try:
        batches = [datas[i : i + 100] for i in range(0, len(datas), 100)]
        results = (
            pool.map(_floor_batch, batches, [fonts] * len(batches))
            if pool
            else (_floor_batch(b, fonts) for b in batches)
        )
        per_zip = len(datas) // len(STREETS) + 1
        zf: zipfile.ZipFile | None = None
        n = 0
        for batch in results:
            flat = [f for files in batch for f in files]
            signatures = cms.sign_detached_local(flat, signer=signer, backend=signer.backend)
            for data, signature in zip(flat, signatures, strict=True):
                if zf is None or n % (per_zip * 3) == 0:
                    if zf is not None:
                        zf.close()
                    zf = zipfile.ZipFile(out / f"floor-{n}.zip", "w", compression=zipfile.ZIP_STORED)
                zf.writestr(f"{n}.pdf", data)
                zf.writestr(f"{n}.pdf.sig", signature)
                n += 1
        if zf is not None:
            zf.close()
    finally:
        if pool:
            pool.shutdown()
    return time.perf_counter() - started


def verify_sample(zip_path: Path, k: int, work: Path) -> int:
    """Check k signatures of one ZIP with `openssl cms -verify -engine gost`; return how many passed."""
    ok = 0
    with zipfile.ZipFile(zip_path) as zf:
        names = [n for n in zf.namelist() if n.endswith(".pdf")][:k]
        for name in names:
            (work / "f").write_bytes(zf.read(name))
            (work / "f.sig").write_bytes(zf.read(name + ".sig"))
            done = subprocess.run(
                ["openssl", "cms", "-verify", "-engine", "gost", "-inform", "DER", "-binary",
                 "-content", str(work / "f"), "-noverify", "-in", str(work / "f.sig"), "-out", "/dev/null"],
                capture_output=True, check=False,
            )  # fmt: skip
            ok += done.returncode == 0
    return ok


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--debtors", type=int, default=10_000)
    parser.add_argument("--months", type=int, default=36)
    parser.add_argument("--processes", type=int, default=2, help="GISGW_COURT_PACKAGE_PROCESSES")
    parser.add_argument("--verify", type=int, default=20, help="signatures to check with openssl")
    add_pg_argument(parser)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-packages-"))
    url = await fresh_database(args.pg, "bench-packages", work)
    t0 = time.perf_counter()
    org_id = await seed(url, args.debtors, args.months)
    seeded = time.perf_counter() - t0
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database={"url": url},
        court={"courts": COURTS, "packages_dir": work / "packages", "package_processes": args.processes},
    )
    backend = get_backend("openssl")
    key_pem, cert_pem = generate_test_key("/CN=ООО УК Бенч/O=gisgw bench", backend=backend)
    signer = LocalKeySigner(key_pem, cert_pem, backend)
    engine = create_engine(url)
    sessionmaker = create_sessionmaker(engine)
    # The GIS port as the gateway runs it; only its signing is used here (no exchanges).
    gis = GisClient(
        settings=settings,
        sessionmaker=sessionmaker,
        engine=SimpleNamespace(signer=signer),  # type: ignore[arg-type]
        transport=None,  # type: ignore[arg-type]
        backend=backend,
    )
    ctx = SimpleNamespace(settings=settings, sessionmaker=sessionmaker, gis=gis)
    async with sessionmaker() as session, session.begin():
        package = Operation(kind="court-packages", organisation_id=org_id, status="running",
                            params={"run_id": None, "account_ids": None, "on_date": ON.isoformat(),
                                    "group_by": "account", "actor": "bench"})  # fmt: skip
        session.add(package)
    async with sessionmaker() as session:
        from sqlalchemy import select

        ids = (await session.scalars(select(Account.id).where(Account.organisation_id == org_id))).all()
    package.params = {**package.params, "account_ids": [str(i) for i in ids]}
    t0 = time.perf_counter()
    drafts = await run_packages_job(package, _progress, ctx)  # type: ignore[arg-type]
    drafted = time.perf_counter() - t0
    export = Operation(
        id=uuid.uuid4(), kind="court-package-export", organisation_id=org_id,
        params={"package_operation_id": str(package.id), "format": "efiling-pdf", "sign": True, "pii": True,
                "actor": "bench"},
    )  # fmt: skip
    t0, cpu0 = time.perf_counter(), _cpu()
    result = await run_export_job(export, _progress, ctx)  # type: ignore[arg-type]
    exported, export_cpu = time.perf_counter() - t0, _cpu() - cpu0
    async with sessionmaker() as session:
        cases = (
            await session.scalars(select(CourtCase).where(CourtCase.package_operation_id == package.id))
        ).all()
        datas = [dict(application_data(c, show_pii=True)) for c in cases]
    await engine.dispose()
    floor_dir = work / "floor"
    floor_dir.mkdir()
    cpu0 = _cpu()
    floored = floor(datas, settings, signer, floor_dir)
    floor_cpu = _cpu() - cpu0
    size = sum(a["bytes"] for a in result["archives"])
    first_zip = work / "packages" / str(export.id) / f"{result['archives'][0]['court_key']}.zip"
    verified = verify_sample(first_zip, args.verify, work)
    db = "postgresql" if args.pg else "sqlite"
    print(
        f"backend={db} debtors={args.debtors} months={args.months} processes={args.processes} "
        f"seed={seeded:.1f}s load={os.getloadavg()[0]:.1f}"
    )
    print(f"drafts: {drafted:.1f}s ({drafts['cases']} ready cases, {drafts['blocked']} blocked)")
    print(
        f"export: {exported:.1f}s, {result['cases']} applications, {3 * result['cases']} PDFs + signatures, "
        f"{len(result['archives'])} ZIPs, {size / 1e6:.0f} MB; openssl verified {verified}/{args.verify}"
    )
    print(f"packages: gisgw {exported:.1f}s, floor {floored:.1f}s, ratio {exported / floored:.2f}")
    print(f"cpu (this process + pool workers): gisgw {export_cpu:.1f}s, floor {floor_cpu:.1f}s")
    print(f"drafts + export: {drafted + exported:.1f}s (goal ≤ 60 s for the export)")


if __name__ == "__main__":
    asyncio.run(main())
