"""GisClient: file-store uploads (single PUT, multi-part, X-Upload-Error), AttachmentHASH, runtime wiring."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import AsyncIterator

import httpx
import pytest
import respx
from asgi_lifespan import LifespanManager
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.engine import create_engine, create_sessionmaker
from app.gis_client.client import GisClient
from app.gis_client.services.file_store import PART_SIZE, GisFileStoreError, encode_filename
from app.main import create_app
from tests.conftest import make_settings
from tests.gis_client.exchange_support import make_engine, new_org

BASE = "http://gis.test"
STORE = f"{BASE}/ext-bus-file-store-service/rest/debtreq"


@pytest.fixture
async def client(
    fresh_database_url: str,
) -> AsyncIterator[tuple[GisClient, async_sessionmaker[AsyncSession]]]:
    db = create_engine(fresh_database_url)
    sm = create_sessionmaker(db)
    engine = make_engine(fresh_database_url, BASE)
    gis = GisClient(
        settings=engine.settings,
        sessionmaker=sm,
        engine=engine,
        transport=engine.transport,
        backend=engine.backend,
    )
    try:
        yield gis, sm
    finally:
        await engine.transport.aclose()
        await db.dispose()


def test_encode_filename_strips_forbidden_and_uses_rfc2047() -> None:
    encoded = encode_filename('Судебный "приказ"?.pdf')
    assert encoded.startswith("=?UTF-8?B?") and encoded.endswith("?=")
    assert base64.b64decode(encoded[10:-2]).decode() == "Судебный приказ.pdf"


async def test_attachment_hash_is_gost94_cryptopro_openssl_order(
    client: tuple[GisClient, async_sessionmaker[AsyncSession]],
) -> None:
    gis, _ = client
    assert gis.attachment_hash(b"a") == "e74c52dd282183bf37af0079c9f78055715a103f17e3133ceff1aacf2f403011"


@respx.mock
async def test_small_file_is_one_put_with_md5(
    client: tuple[GisClient, async_sessionmaker[AsyncSession]],
) -> None:
    gis, sm = client
    org_id = await new_org(sm)
    route = respx.put(STORE).mock(return_value=httpx.Response(200, headers={"X-Upload-UploadID": "guid-1"}))
    data = b"%PDF-1.4 test"
    assert await gis.upload_file(org_id, "debtreq", "акт.pdf", data) == "guid-1"
    request = route.calls.last.request
    assert request.headers["Content-MD5"] == base64.b64encode(hashlib.md5(data).digest()).decode()
    assert request.headers["X-Upload-OrgPPAGUID"]
    assert request.headers["X-Upload-Filename"].startswith("=?UTF-8?B?")


@respx.mock
async def test_large_file_goes_in_parts_then_completed(
    client: tuple[GisClient, async_sessionmaker[AsyncSession]],
) -> None:
    gis, sm = client
    org_id = await new_org(sm)
    opened = respx.post(f"{STORE}/?upload").mock(
        return_value=httpx.Response(200, headers={"X-Upload-UploadID": "up-1"})
    )
    part = respx.put(f"{STORE}/up-1").mock(return_value=httpx.Response(200))
    done = respx.post(f"{STORE}/up-1?completed").mock(return_value=httpx.Response(200))
    data = b"x" * (PART_SIZE * 2 + 10)
    assert await gis.upload_file(org_id, "debtreq", "big.pdf", data) == "up-1"
    assert opened.calls.last.request.headers["X-Upload-Part-Count"] == "3"
    assert opened.calls.last.request.headers["X-Upload-Length"] == str(len(data))
    numbers = [c.request.headers["X-Upload-Partnumber"] for c in part.calls]
    assert numbers == ["1", "2", "3"]
    assert len(part.calls[2].request.content) == 10
    assert done.called


@respx.mock
async def test_upload_error_header_is_typed(
    client: tuple[GisClient, async_sessionmaker[AsyncSession]],
) -> None:
    gis, sm = client
    org_id = await new_org(sm)
    respx.put(STORE).mock(return_value=httpx.Response(400, headers={"X-Upload-Error": "FileVirusInfection"}))
    with pytest.raises(GisFileStoreError) as info:
        await gis.upload_file(org_id, "debtreq", "virus.exe", b"x")
    assert info.value.code == "FileVirusInfection" and not info.value.retryable


async def test_runtime_builds_one_client_with_probes(fresh_database_url: str) -> None:
    app = create_app(make_settings(fresh_database_url, workers_enabled=True, worker_poll_interval=0.05))
    async with LifespanManager(app):
        ctx = app.state.ctx
        assert isinstance(ctx.gis, GisClient)
        ok, detail = await app.state.readiness["crypto"]()
        assert ok and detail["self_test"] == "ok"
        ok, detail = await app.state.readiness["gis"]()
        assert ok  # outside production an absent GIS is reported, not fatal
        assert "reachable" in detail
        ok, detail = await app.state.readiness["gis_link"]()
        assert ok and detail["gost94"].startswith("ok ")  # no signing key in tests: reported, not fatal
        assert detail["key"].startswith("FAIL ")
    assert ctx.gis is None
