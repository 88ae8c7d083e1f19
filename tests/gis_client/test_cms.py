"""Detached CMS signatures: verified by the OpenSSL gost engine, tampering refused, remote signer too."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import uvicorn
from asn1crypto import cms

from app.gis_client.crypto.backend import get_backend
from app.gis_client.crypto.cms import CmsBuilder, sign_detached
from app.gis_client.crypto.signer import LocalKeySigner, RemoteSigner
from tests.gis_client.signer_service import create_signer_app

from .conftest import KeyFiles, run_openssl

pytestmark = pytest.mark.openssl

WHEN = datetime(2026, 12, 5, 9, 30, tzinfo=UTC)


def _verify(tmp_path: Path, content: bytes, signature: bytes) -> bool:
    (tmp_path / "file.pdf").write_bytes(content)
    (tmp_path / "file.pdf.sig").write_bytes(signature)
    result = run_openssl(
        "cms", "-verify", "-engine", "gost", "-inform", "DER", "-binary",
        "-content", str(tmp_path / "file.pdf"), "-noverify", "-in", str(tmp_path / "file.pdf.sig"),
        "-out", "/dev/null",
    )  # fmt: skip
    return result.returncode == 0 and b"Verification successful" in result.stderr


async def test_sign_detached_verified_by_openssl(tmp_path: Path, openssl_keys: object) -> None:
    keys: KeyFiles = openssl_keys("A")  # type: ignore[operator]
    backend = get_backend("openssl")
    signer = LocalKeySigner(keys.key_pem, keys.cert_pem, backend)
    documents = [b"%PDF-1.4 first", b"%PDF-1.4 second" * 500, b""]
    signatures = await sign_detached(documents, signer=signer, backend=backend, signing_time=WHEN)
    for document, signature in zip(documents, signatures, strict=True):
        assert _verify(tmp_path, document, signature)
    # A changed byte in the file, or another file's signature, fails.
    assert not _verify(tmp_path, b"%PDF-1.4 firsT", signatures[0])
    assert not _verify(tmp_path, documents[0], signatures[1])


async def test_sign_detached_layout(openssl_keys: object) -> None:
    keys: KeyFiles = openssl_keys("B")  # type: ignore[operator]
    backend = get_backend("openssl")
    signer = LocalKeySigner(keys.key_pem, keys.cert_pem, backend)
    [der] = await sign_detached([b"content"], signer=signer, backend=backend, signing_time=WHEN)
    info = cms.ContentInfo.load(der)
    signed = info["content"]
    assert info["content_type"].native == "signed_data"
    assert signed["encap_content_info"]["content"].native is None  # detached
    assert signed["certificates"][0].chosen.dump() == signer.certificate.der
    signer_info = signed["signer_infos"][0]
    assert signer_info["digest_algorithm"]["algorithm"].dotted == "1.2.643.7.1.1.2.2"
    assert signer_info["signature_algorithm"]["algorithm"].dotted == "1.2.643.7.1.1.1.1"
    attrs = {a["type"].native: a["values"][0] for a in signer_info["signed_attrs"]}
    assert attrs["message_digest"].native == backend.streebog256(b"content")
    assert attrs["signing_time"].native == WHEN
    assert attrs["signing_certificate_v2"]["certs"][0]["cert_hash"].native == backend.streebog256(
        signer.certificate.der
    )
    # The spliced template is exactly what asn1crypto encodes for the same values.
    builder = CmsBuilder(signer.certificate, backend, WHEN)
    rebuilt = builder._signed_data(  # noqa: SLF001
        signer.certificate,
        builder._attributes(signer.certificate, backend, WHEN, backend.streebog256(b"content")),  # noqa: SLF001
        signer_info["signature"].native,
    )
    assert rebuilt == der


@pytest.fixture(scope="module")
def remote_signer_url(python_key: KeyFiles) -> Iterator[str]:
    local = LocalKeySigner(python_key.key_pem, python_key.cert_pem, get_backend("auto"))
    app = create_signer_app(local, token="cms-token")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 5
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    yield f"http://127.0.0.1:{port}/sign"
    server.should_exit = True
    thread.join(timeout=5)


async def test_sign_detached_through_remote_signer(
    tmp_path: Path, python_key: KeyFiles, remote_signer_url: str
) -> None:
    async with httpx.AsyncClient() as client:
        signer = RemoteSigner(remote_signer_url, python_key.cert_pem, client, token="cms-token")
        [signature] = await sign_detached([b"remote"], signer=signer, backend=get_backend("auto"))
    assert _verify(tmp_path, b"remote", signature)
    assert not _verify(tmp_path, b"remotE", signature)


def test_sign_detached_local_matches_async(tmp_path: Path, openssl_keys: object) -> None:
    from app.gis_client.crypto.cms import sign_detached_local

    keys: KeyFiles = openssl_keys("A")  # type: ignore[operator]
    backend = get_backend("openssl")
    signer = LocalKeySigner(keys.key_pem, keys.cert_pem, backend)
    [signature] = sign_detached_local([b"sync"], signer=signer, backend=backend, signing_time=WHEN)
    assert _verify(tmp_path, b"sync", signature)
