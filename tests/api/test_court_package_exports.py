"""Signed court packages: drafts → export per court → ZIPs downloaded, every `.sig` verified by OpenSSL."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
import uuid
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.api.deps import get_session
from app.db.models.accounts import AccountPremises, House, Premises
from app.db.models.core import Operation
from app.domain.court.exports import run_export_job
from app.domain.court.packages import run_packages_job
from app.domain.kernel import operations as ops
from app.main import create_app
from tests.api.test_court_orders import ON, seed_account
from tests.conftest import make_settings
from tests.factories import COURTS, bearer, make_org, make_token

SECOND_COURT = {
    "region": "16",
    "street": "ул. Пушкина",
    "court": {
        "name": "Судебный участок № 7 по Вахитовскому району г. Казани",
        "district": "7",
        "address": "Казань",
    },
}
FONTS_PRESENT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf").is_file()


def _engine_available() -> bool:
    exe = shutil.which("openssl")
    if exe is None:
        return False
    return subprocess.run([exe, "engine", "gost"], capture_output=True, check=False).returncode == 0


pytestmark = [
    pytest.mark.openssl,
    pytest.mark.skipif(
        not (_engine_available() and FONTS_PRESENT), reason="gost engine or DejaVu fonts missing"
    ),
]


@pytest.fixture
async def packages_app(
    session: AsyncSession, database_url: str, tmp_path: Path
) -> AsyncIterator[tuple[httpx.AsyncClient, FastAPI]]:
    """The app with two courts and its own packages folder, its requests sharing the test's session."""
    settings = make_settings(
        database_url,
        court_courts=[*COURTS, SECOND_COURT],
        court_packages_dir=tmp_path / "packages",
        court_package_processes=0,
    )
    app = create_app(settings)

    async def _session() -> AsyncIterator[AsyncSession]:
        yield session
        await session.flush()

    app.dependency_overrides[get_session] = _session
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://gisgw.test") as client:
            yield client, app


class _Shared:
    """Session factory handing out the test's session (commits become flushes)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def __call__(self) -> Any:
        return self

    async def __aenter__(self) -> AsyncSession:
        return self.session

    async def __aexit__(self, *exc: object) -> None:
        await self.session.flush()


async def _run(job: Any, op: Operation, app: FastAPI, session: AsyncSession) -> dict[str, Any]:
    """Run an operation's job the way the worker does, on the test's session and the app's GIS port."""
    calls: list[tuple[int, int | None]] = []

    async def progress(done: int, total: int | None = None) -> None:
        calls.append((done, total))

    ctx = SimpleNamespace(
        settings=app.state.ctx.settings, sessionmaker=_Shared(session), gis=app.state.ctx.gis
    )
    original = session.commit
    session.commit = session.flush  # type: ignore[method-assign]
    try:
        result: dict[str, Any] = await job(op, progress, ctx)
    finally:
        session.commit = original  # type: ignore[method-assign]
    op.status, op.result = ops.SUCCEEDED, result
    await session.flush()
    result["_progress"] = calls
    return result


async def _drafts(client: httpx.AsyncClient, app: FastAPI, session: AsyncSession, token: str) -> Operation:
    org = await make_org(session, region_code="16")
    await session.flush()
    ids = [await seed_account(session, org.id) for _ in range(3)]
    ids.append(await seed_account(session, org.id, snils=None))  # blocked: no identifier
    # The third debtor lives in a street the second court serves.
    house = await session.scalar(
        select(House)
        .join(Premises, Premises.house_id == House.id)
        .join(AccountPremises, AccountPremises.premises_id == Premises.id)
        .where(AccountPremises.account_id == ids[2])
    )
    assert house is not None
    house.address = "г. Казань, ул. Пушкина, д. 3"
    await session.flush()
    token_org = token
    r = await client.post(
        "/api/v1/court-orders/packages",
        json={
            "organisation_id": str(org.id),
            "account_ids": [str(i) for i in ids],
            "on_date": ON.isoformat(),
        },
        headers=bearer(token_org),
    )
    assert r.status_code == 202, r.text
    op = await session.get(Operation, uuid.UUID(r.json()["id"]))
    assert op is not None
    result = await _run(run_packages_job, op, app, session)
    assert result["cases"] == 3
    return op


def _verify(folder: Path, name: str, data: bytes, signature: bytes) -> bool:
    content, sig = folder / name.replace("/", "_"), folder / (name.replace("/", "_") + ".sig")
    content.write_bytes(data)
    sig.write_bytes(signature)
    done = subprocess.run(
        ["openssl", "cms", "-verify", "-engine", "gost", "-inform", "DER", "-binary",
         "-content", str(content), "-noverify", "-in", str(sig), "-out", "/dev/null"],
        capture_output=True, check=False,
    )  # fmt: skip
    return done.returncode == 0 and b"Verification successful" in done.stderr


async def test_export_signed_zips_per_court_verified_by_openssl(
    packages_app: tuple[httpx.AsyncClient, FastAPI], session: AsyncSession, tmp_path: Path
) -> None:
    client, app = packages_app
    token = await make_token(session, scopes=["court", "pii"], all_orgs=True)
    package = await _drafts(client, app, session, token)

    r = await client.post(
        f"/api/v1/court-orders/packages/{package.id}/exports",
        json={"format": "efiling-pdf"},
        headers=bearer(token),
    )
    assert r.status_code == 202, r.text
    export = await session.get(Operation, uuid.UUID(r.json()["id"]))
    assert export is not None and export.kind == "court-package-export"
    result = await _run(run_export_job, export, app, session)
    assert result["cases"] == 3 and result["signed"] and result["pii"]
    assert result["_progress"][-1] == (3, 3)
    assert sorted(a["district"] for a in result["archives"]) == ["3", "7"]

    checked = 0
    work = tmp_path / "verify"
    work.mkdir()
    for archive in result["archives"]:
        r = await client.get(archive["url"], headers=bearer(token))
        assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
        with zipfile.ZipFile(io.BytesIO(r.content)) as zf:
            names = set(zf.namelist())
            members = {n: zf.read(n) for n in names}
        files = sorted(n for n in names if not n.endswith(".sig"))
        assert {"register.csv", "register.xlsx"} <= set(files)
        pdfs = [n for n in files if n.endswith(".pdf")]
        assert len(pdfs) == 3 * archive["cases"]
        for name in files:  # every file has its signature, and OpenSSL accepts each
            assert f"{name}.sig" in names
            assert _verify(work, name, members[name], members[f"{name}.sig"]), name
            checked += 1
        # A tampered PDF fails against its signature.
        application = next(n for n in pdfs if n.endswith("/application.pdf"))
        tampered = members[application].replace(b"/Title", b"/Titla", 1)
        assert tampered != members[application]
        assert not _verify(work, "tampered.pdf", tampered, members[f"{application}.sig"])
        # The documents read back: the application names the debtor (pii export) and its court.
        text = PdfReader(io.BytesIO(members[application])).pages[0].extract_text()
        assert "Петров Пётр Петрович" in text and f"участок № {archive['district']}" in text
        rows = list(csv.reader(io.StringIO(members["register.csv"].decode("utf-8-sig")), delimiter=";"))
        assert rows[0][:4] == ["number", "case_id", "account_number", "debtor"]
        assert len(rows) == archive["cases"] + 1 and rows[1][3] == "Петров Пётр Петрович"
        sheet = load_workbook(io.BytesIO(members["register.xlsx"]), read_only=True).active
        assert sheet is not None
        assert len(list(sheet.iter_rows(values_only=True))) == archive["cases"] + 2  # title, header, rows
    assert checked == 3 * 3 + 2 * 2

    # Resumable: a re-run finds every court's ZIP complete and rewrites none.
    stamps = {p: p.stat().st_mtime_ns for p in (tmp_path / "packages" / str(export.id)).glob("*.zip")}
    again = await _run(run_export_job, export, app, session)
    assert again["archives"] == result["archives"] and again["_progress"] == [(3, 3)]
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps

    # Without `pii` the download of a pii export is refused; a stranger's key sees nothing.
    plain = await make_token(session, scopes=["court"], all_orgs=True)
    r = await client.get(result["archives"][0]["url"], headers=bearer(plain))
    assert r.status_code == 403 and r.headers["content-type"] == "application/problem+json"
    other = await make_org(session)
    stranger = await make_token(session, scopes=["court", "pii"], orgs=[other.id])
    assert (await client.get(result["archives"][0]["url"], headers=bearer(stranger))).status_code == 404


async def test_export_masked_without_pii_and_stream_format(
    packages_app: tuple[httpx.AsyncClient, FastAPI], session: AsyncSession
) -> None:
    client, app = packages_app
    token = await make_token(session, scopes=["court"], all_orgs=True)
    package = await _drafts(client, app, session, token)
    r = await client.post(
        f"/api/v1/court-orders/packages/{package.id}/exports",
        json={"format": "jsonl", "sign": False},
        headers=bearer(token),
    )
    assert r.status_code == 202, r.text
    export = await session.get(Operation, uuid.UUID(r.json()["id"]))
    assert export is not None
    result = await _run(run_export_job, export, app, session)
    assert not result["pii"] and not result["signed"]
    archive = next(a for a in result["archives"] if a["district"] == "3")
    r = await client.get(archive["url"], headers=bearer(token))
    assert r.status_code == 200
    with zipfile.ZipFile(io.BytesIO(r.content)) as zf:
        names = zf.namelist()
        lines = zf.read("applications.jsonl").decode().splitlines()
        register = zf.read("register.csv").decode("utf-8-sig")
    assert not any(n.endswith(".sig") for n in names) and len(lines) == archive["cases"] == 2
    assert "Петров" not in lines[0] and "***" in lines[0]
    assert "Петров" not in register and "П. П. П." in register


async def test_export_bad_input_is_problem_json(
    packages_app: tuple[httpx.AsyncClient, FastAPI], session: AsyncSession
) -> None:
    client, app = packages_app
    token = await make_token(session, scopes=["court", "pii"], all_orgs=True)
    org = await make_org(session, region_code="16")
    ids = [await seed_account(session, org.id)]
    r = await client.post(
        "/api/v1/court-orders/packages",
        json={
            "organisation_id": str(org.id),
            "account_ids": [str(i) for i in ids],
            "on_date": ON.isoformat(),
        },
        headers=bearer(token),
    )
    package_id = r.json()["id"]
    url = f"/api/v1/court-orders/packages/{package_id}/exports"
    r = await client.post(url, json={"format": "efiling-pdf"}, headers=bearer(token))
    assert r.status_code == 409 and "not finished" in r.json()["detail"]  # not run yet
    r = await client.post(url, json={"format": "gis-operator"}, headers=bearer(token))
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    assert r.json()["errors"][0]["path"] == "body.format"
    r = await client.post(url, json={"format": "jsonl", "colour": "red"}, headers=bearer(token))
    assert r.status_code == 422
    r = await client.post(
        f"/api/v1/court-orders/packages/{uuid.uuid4()}/exports", json={}, headers=bearer(token)
    )
    assert r.status_code == 404
    r = await client.get(
        f"/api/v1/court-orders/package-exports/{package_id}/court-3-abc.zip", headers=bearer(token)
    )
    assert r.status_code == 404  # a package operation is not an export
    no_court = await make_token(session, scopes=["read"], all_orgs=True)
    assert (await client.post(url, json={}, headers=bearer(no_court))).status_code == 403
