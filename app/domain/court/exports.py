"""Bulk export of application packages: one ZIP per magistrate's court, signed files and a register.

An export takes the draft cases of a finished package operation (`packages.run_packages_job`), writes each
application's files with a format adapter (`adapters.py`), signs every file with a detached CMS signature
through the GIS port (the information system's key, local or remote signer: `file.sig` beside `file`), and
adds the register of applications (XLSX and CSV: number, debtor masked per scope, period, principal,
penalties, duty), signed too. One ZIP per court of the court table, as each court files on its own.

An operation with progress; resumable: each court's ZIP is written under a temporary name and renamed when
complete, so a re-run after a crash skips the courts already done. Rendering runs in a process pool when
`GISGW_COURT_PACKAGE_PROCESSES` > 0 and the export is large (fpdf2 is pure Python: a second core halves it).
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import multiprocessing
import os
import uuid
import zipfile
from collections import deque
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models.core import Operation
from app.db.models.court import DRAFT, CourtCase
from app.domain.court.adapters import FORMATS, ApplicationData, PackageAdapter, PackageFile, adapter_for
from app.domain.court.documents import Fonts, prepare_fonts
from app.domain.court.packages import PACKAGES_JOB, application_data
from app.domain.kernel import audit, errors
from app.domain.kernel import operations as ops
from app.domain.kernel.access import Principal
from app.domain.kernel.calendar import moscow_today
from app.domain.kernel.gis_port import DocumentSigningGis
from app.domain.kernel.masking import mask
from app.settings import Settings

EXPORT_JOB = "court-package-export"
#: Applications rendered per batch (one fpdf2 pass, one signing call).
BATCH = 100
#: Below this many applications a process pool costs more (start-up, imports) than it saves.
POOL_MIN_CASES = 300
REGISTER_COLUMNS = (
    "number",
    "case_id",
    "account_number",
    "debtor",
    "period_from",
    "period_to",
    "principal",
    "penalties",
    "total",
    "duty",
    "files",
)


def package_fonts(settings: Settings) -> Fonts:
    """Return the document fonts: the gateway's Cyrillic PDF font and the monospaced table font."""
    fonts = Fonts(regular=settings.monitoring.notice_font, mono=settings.court.document_table_font)
    for path in (fonts.regular, fonts.mono):
        if not path.is_file():
            raise errors.UpstreamUnavailable(
                f"Font {path} for PDF documents is missing: install the fonts-dejavu-core package.",
                rule="pdf_font",
            )
    return prepare_fonts(fonts, settings.court.packages_dir / ".fonts")


def court_key(court: Mapping[str, Any] | None) -> str:
    """Return a stable, file-name-safe key of a court: its district and a hash of its name."""
    if not court:
        return "court-unknown"
    digest = hashlib.sha256(f"{court.get('name')}|{court.get('district')}".encode()).hexdigest()[:10]
    district = "".join(ch for ch in str(court.get("district", "")) if ch.isalnum())[:20] or "x"
    return f"court-{district}-{digest}"


def export_dir(settings: Settings, operation_id: uuid.UUID) -> Path:
    """Return the folder of one export's ZIPs."""
    return settings.court.packages_dir / str(operation_id)


async def request_export(
    *,
    session: AsyncSession,
    principal: Principal,
    package_operation_id: uuid.UUID,
    fmt: str,
    sign: bool,
) -> Operation:
    """Queue the export of a finished package operation in one format, signed or not."""
    if fmt not in FORMATS:
        raise errors.RuleViolation(
            f"Unknown package format {fmt!r}.",
            errors=[errors.FieldProblem("body.format", "format", f"one of {', '.join(FORMATS)}")],
            rule="format",
        )
    package = await ops.get_or_raise(session=session, principal=principal, operation_id=package_operation_id)
    if package.kind != PACKAGES_JOB:
        raise errors.NotFoundError(f"Package export {package_operation_id} not found.")
    if package.status != ops.SUCCEEDED:
        raise errors.ConflictError("The package operation has not finished yet.", rule="packages_pending")
    op = await ops.create(
        session=session,
        principal=principal,
        kind=EXPORT_JOB,
        organisation_id=package.organisation_id,
        params={
            "package_operation_id": str(package_operation_id),
            "format": fmt,
            "sign": sign,
            # The scope of the requester decides what the files show (the register, the debtor block).
            "pii": principal.can_see_pii,
            "actor": principal.actor,
        },
    )
    await audit.record(
        session=session,
        principal=principal,
        action="court_packages.bundle",
        resource_type="operation",
        resource_id=op.id,
        organisation_id=package.organisation_id,
    )
    return op


def archive_path(*, settings: Settings, op: Operation, principal: Principal, key: str) -> Path:
    """Return a finished export's ZIP of a court, checking kind and scope (`pii` exports need `pii`)."""
    if op.kind != EXPORT_JOB:
        raise errors.NotFoundError(f"Package bundle export {op.id} not found.")
    if (op.params or {}).get("pii") and not principal.can_see_pii:
        raise errors.PermissionDenied(
            "This export shows personal data: downloading it needs the `pii` scope.", rule="pii_scope"
        )
    if not key.startswith("court-") or not all(ch.isalnum() or ch == "-" for ch in key):
        raise errors.NotFoundError(f"No archive {key} in export {op.id}.")
    path = export_dir(settings, op.id) / f"{key}.zip"
    if not path.is_file():
        raise errors.NotFoundError(f"No archive {key} in export {op.id} (yet).")
    return path


# ---------------------------------------------------------------------------------------------- the job


def _name_for_register(debtor: Mapping[str, Any], *, pii: bool) -> str:
    parts = [debtor.get("last_name"), debtor.get("first_name"), debtor.get("middle_name")]
    return " ".join(p for p in (mask(x, pii=pii, form="initial") for x in parts if x) if p)


@dataclass
class _Register:
    rows: list[tuple[Any, ...]] = field(default_factory=list)

    def add(self, number: int, case: CourtCase, files: int, *, pii: bool) -> None:
        self.rows.append(
            (
                number,
                str(case.id),
                (case.debtor or {}).get("account_number") or "",
                _name_for_register(case.debtor or {}, pii=pii),
                case.period_from.strftime("%m.%Y"),
                case.period_to.strftime("%m.%Y"),
                case.principal,
                case.penalties,
                case.total,
                case.duty,
                files,
            )
        )

    def csv(self) -> bytes:
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
        writer.writerow(REGISTER_COLUMNS)
        writer.writerows(self.rows)
        return ("\ufeff" + buffer.getvalue()).encode()  # BOM: Excel opens UTF-8 CSV right

    def xlsx(self, title: str) -> bytes:
        wb = Workbook(write_only=True)
        ws = wb.create_sheet("Реестр")
        ws.append([title])
        ws.append(list(REGISTER_COLUMNS))
        for row in self.rows:
            ws.append(list(row))
        out = io.BytesIO()
        wb.save(out)
        return out.getvalue()


def _batches(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _write_batch(adapter: PackageAdapter, cases: Sequence[ApplicationData], today: date) -> Any:
    # Top level so a process pool can run it.
    return adapter.write(cases, today=today)


class _Renderer:
    """Runs the adapter in-process or in a pool of worker processes, keeping a few batches in flight."""

    def __init__(self, adapter: PackageAdapter, today: date, processes: int) -> None:
        self._adapter = adapter
        self._today = today
        self._pool: Executor | None = None
        if processes > 0:
            # spawn: a fork of a process running an event loop and a database pool is not safe.
            self._pool = ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("spawn"))
        self.ahead = 2 * processes if processes > 0 else 1

    def submit(self, cases: Sequence[ApplicationData]) -> asyncio.Future[Any]:
        if self._pool is None:
            # A thread, not the event loop: a batch takes seconds and the loop serves HTTP meanwhile.
            return asyncio.ensure_future(asyncio.to_thread(_write_batch, self._adapter, cases, self._today))
        return asyncio.wrap_future(self._pool.submit(_write_batch, self._adapter, list(cases), self._today))

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)


async def _signed(
    files: list[PackageFile], *, signer: DocumentSigningGis | None
) -> list[tuple[PackageFile, bytes | None]]:
    if signer is None:
        return [(f, None) for f in files]
    signatures = await signer.sign_detached([f.data for f in files])
    return list(zip(files, signatures, strict=True))


async def _build_court_zip(
    *,
    path: Path,
    court: Mapping[str, Any] | None,
    case_ids: Sequence[uuid.UUID],
    load: Callable[[Sequence[uuid.UUID]], Awaitable[Sequence[CourtCase]]],
    adapter: PackageAdapter,
    renderer: _Renderer,
    signer: DocumentSigningGis | None,
    pii: bool,
    on_batch: Callable[[int], Awaitable[None]],
) -> None:
    tmp = path.with_suffix(".zip.part")
    register = _Register()
    stream = io.BytesIO()
    id_batches = list(_batches(case_ids, BATCH))
    # Batches loaded and handed to the renderer ahead of the one being signed and written: the worker
    # processes draw the next documents while this process signs the last ones.
    in_flight: deque[tuple[Sequence[CourtCase], asyncio.Future[Any]]] = deque()
    loaded = 0
    number = 0
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as zf:

        def put(name: str, file: PackageFile, signature: bytes | None) -> None:
            # PDFs and signatures hardly compress (their streams are deflated already).
            zf.writestr(name, file.data)
            if signature is not None:
                zf.writestr(f"{name}.sig", signature)

        while True:
            while loaded < len(id_batches) and len(in_flight) <= renderer.ahead:
                cases = await load(id_batches[loaded])
                data = [application_data(c, show_pii=pii) for c in cases]
                in_flight.append((cases, renderer.submit(data)))
                loaded += 1
            if not in_flight:
                break
            cases, future = in_flight.popleft()
            written: list[tuple[PackageFile, ...]] = await future
            flat: list[tuple[str, PackageFile]] = []
            for case, files in zip(cases, written, strict=True):
                number += 1
                folder = f"{number:05d}_{str(case.id)[:8]}"
                register.add(number, case, len(files), pii=pii)
                for f in files:
                    if adapter.layout == "stream":
                        stream.write(f.data)
                    else:
                        flat.append((f"{folder}/{f.name}", f))
            for (name, f), (_, signature) in zip(
                flat, await _signed([f for _, f in flat], signer=signer), strict=True
            ):
                put(name, f, signature)
            await on_batch(len(cases))
        title = f"Реестр заявлений о вынесении судебного приказа: {(court or {}).get('name', '—')}"
        extra = [
            PackageFile("register.csv", register.csv()),
            PackageFile("register.xlsx", register.xlsx(title)),
        ]
        if adapter.layout == "stream":
            extra.insert(0, PackageFile(f"applications.{adapter.name}", stream.getvalue()))
        for f, signature in await _signed(extra, signer=signer):
            put(f.name, f, signature)
    os.replace(tmp, path)


async def run_export_job(op: Operation, progress: ops.Progress, ctx: Any) -> dict[str, Any]:
    """Write one signed ZIP per court for the draft cases of a package operation (resumable per court)."""
    params = dict(op.params or {})
    settings: Settings = ctx.settings
    fmt, sign, pii = params["format"], bool(params["sign"]), bool(params["pii"])
    adapter = adapter_for(fmt, fonts=lambda: package_fonts(settings))
    signer: DocumentSigningGis | None = None
    if sign:
        if ctx.gis is None:
            raise errors.UpstreamUnavailable("The signer is not running.", rule="signer")
        signer = ctx.gis
    out_dir = export_dir(settings, op.id)
    out_dir.mkdir(parents=True, exist_ok=True)
    package_id = uuid.UUID(params["package_operation_id"])
    # Only ids and courts up front; the cases themselves are read a batch at a time.
    async with ctx.sessionmaker() as session:
        heads = (
            await session.execute(
                select(CourtCase.id, CourtCase.court)
                .where(CourtCase.package_operation_id == package_id, CourtCase.status == DRAFT)
                .order_by(CourtCase.id)
            )
        ).all()
    by_court: dict[str, list[uuid.UUID]] = {}
    courts: dict[str, Mapping[str, Any] | None] = {}
    for case_id, court in heads:
        key = court_key(court)
        by_court.setdefault(key, []).append(case_id)
        courts[key] = court

    async def load(ids: Sequence[uuid.UUID]) -> Sequence[CourtCase]:
        async with ctx.sessionmaker() as session:
            rows = (await session.scalars(select(CourtCase).where(CourtCase.id.in_(list(ids))))).all()
        order = {case_id: i for i, case_id in enumerate(ids)}
        return sorted(rows, key=lambda c: order[c.id])

    total = len(heads)
    todo = [k for k in sorted(by_court) if not (out_dir / f"{k}.zip").is_file()]
    remaining = sum(len(by_court[k]) for k in todo)
    done = total - remaining
    await progress(done, total)
    processes = settings.court.package_processes if remaining >= POOL_MIN_CASES else 0
    renderer = _Renderer(adapter, moscow_today(), processes)

    async def on_batch(n: int) -> None:
        nonlocal done
        done += n
        await progress(done, total)

    try:
        for key in todo:
            await _build_court_zip(
                path=out_dir / f"{key}.zip",
                court=courts[key],
                case_ids=by_court[key],
                load=load,
                adapter=adapter,
                renderer=renderer,
                signer=signer,
                pii=pii,
                on_batch=on_batch,
            )
    finally:
        renderer.close()
    archives = [
        {
            "court_key": key,
            "court": (courts[key] or {}).get("name"),
            "district": (courts[key] or {}).get("district"),
            "cases": len(by_court[key]),
            "bytes": (out_dir / f"{key}.zip").stat().st_size,
            "url": f"/api/v1/court-orders/package-exports/{op.id}/{key}.zip",
        }
        for key in sorted(by_court)
    ]
    return {"format": fmt, "signed": sign, "pii": pii, "cases": total, "archives": archives}
