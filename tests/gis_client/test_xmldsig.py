"""XAdES-BES: round trips on both backends, independent OpenSSL verification, tampering, legacy variants."""

from __future__ import annotations

import base64
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from lxml import etree

from app.gis_client.crypto import xmldsig
from app.gis_client.crypto.backend import get_backend
from app.gis_client.crypto.keys import GostBackend
from app.gis_client.crypto.signer import LocalKeySigner, RemoteSigner, RemoteSignerError
from tests.gis_client.signer_service import create_signer_app

from .conftest import KeyFiles, run_openssl

DS = "{http://www.w3.org/2000/09/xmldsig#}"
XADES = "{http://uri.etsi.org/01903/v1.3.2#}"

ENVELOPE = (
    b'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" '
    b'xmlns:base="http://dom.gosuslugi.ru/schema/integration/base/" '
    b'xmlns:drs="http://dom.gosuslugi.ru/schema/integration/drs/">'
    b"<s:Header><base:RequestHeader><base:Date>2025-03-03T10:15:00.123+03:00</base:Date>"
    b"<base:MessageGUID>4b2f7c1e-0000-4000-8000-000000000001</base:MessageGUID></base:RequestHeader></s:Header>"
    b'<s:Body><drs:importDSRResponsesRequest Id="signed-data-container" base:version="14.0.0.0">\n'
    b"  <drs:action><base:TransportGUID>6f1c1e2a-0000-4000-8000-000000000002</base:TransportGUID>"
    b"<drs:subrequestGUID>6f1c1e2a-0000-4000-8000-000000000003</drs:subrequestGUID>"
    b"<drs:actionType>Send</drs:actionType><drs:responseData><drs:hasDebt>false</drs:hasDebt>"
    b"<drs:executorGUID>6f1c1e2a-0000-4000-8000-000000000004</drs:executorGUID></drs:responseData>"
    b"</drs:action>\n</drs:importDSRResponsesRequest></s:Body></s:Envelope>"
)


async def _sign(files: KeyFiles, backend: GostBackend, **kwargs: str) -> bytes:
    signer = LocalKeySigner(files.key_pem, files.cert_pem, backend)
    root = etree.fromstring(ENVELOPE)
    element = root.find(".//{*}importDSRResponsesRequest")
    assert element is not None
    await xmldsig.sign_element(root, element, signer, backend=backend, **kwargs)
    return bytes(etree.tostring(root))


@pytest.fixture
def keys(python_key: KeyFiles) -> KeyFiles:
    return python_key


async def test_sign_element_roundtrip(keys: KeyFiles, backend: GostBackend) -> None:
    signed = await _sign(keys, backend)
    for verifier in ("openssl", "python"):
        try:
            vb = get_backend(verifier)
        except Exception:  # noqa: BLE001 - openssl may be absent
            continue
        report = xmldsig.verify(signed, backend=vb, trusted_certs=[keys.cert_pem])
        assert report.valid, report.failed()
    names = [c.name for c in report.checks]
    assert names == ["reference-1", "signed-properties", "signature-value", "cert-digest", "issuer-serial",
                     "certificate-trust"]  # fmt: skip


@pytest.mark.parametrize(
    "document",
    [
        ENVELOPE,
        # GIS's own layout: xmldsig bound to `ns3` on the Envelope, so the inserted Signature re-uses it.
        ENVELOPE.replace(b"<s:Envelope ", b'<s:Envelope xmlns:ns3="http://www.w3.org/2000/09/xmldsig#" '),
    ],
)
async def test_sign_body_digest_equals_enveloped_transform(keys: KeyFiles, document: bytes) -> None:
    # The body digest is taken before the Signature is inserted; it must equal the digest of the
    # enveloped-signature transform applied to the signed document (a copy with the Signature removed).
    backend = get_backend("python")
    signer = LocalKeySigner(keys.key_pem, keys.cert_pem, backend)
    root = etree.fromstring(document)
    element = root.find(".//{*}importDSRResponsesRequest")
    assert element is not None
    signature = await xmldsig.sign_element(root, element, signer, backend=backend)
    signed = etree.fromstring(etree.tostring(root))
    target = signed.find(".//{*}importDSRResponsesRequest")
    assert target is not None
    transformed = xmldsig._c14n_without(target, target[0], xmldsig.EXC_C14N, None)
    digest = signature.find(f"{DS}SignedInfo/{DS}Reference/{DS}DigestValue")
    assert digest is not None and digest.text == base64.b64encode(backend.streebog256(transformed)).decode()


async def test_signature_profile_shape(keys: KeyFiles) -> None:
    signed = await _sign(keys, get_backend("auto"))
    root = etree.fromstring(signed)
    element = root.find(".//{*}importDSRResponsesRequest")
    assert element is not None
    sig = element[0]
    assert sig.tag == f"{DS}Signature"
    assert sig.tail is None and element.text == "\n  "
    assert [c.tag for c in sig] == [f"{DS}{t}" for t in ("SignedInfo", "SignatureValue", "KeyInfo", "Object")]
    signing_time = sig.findtext(f".//{XADES}SigningTime") or ""
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d", signing_time)
    assert len(base64.b64decode(sig.findtext(f"{DS}SignatureValue") or "")) == 64
    assert (sig.findtext(f".//{DS}X509SerialNumber") or "").isdigit()
    assert sig.findtext(f".//{DS}X509IssuerName") == "cn=gisgw python,o=Lab"


def _independent_check(signed: bytes, files: KeyFiles, tmp_path: Path) -> None:
    """Check with OpenSSL only: libxml2 C14N (via lxml) for octets, the gost provider/engine for crypto."""
    root = etree.fromstring(signed)
    sig = root.find(f".//{DS}Signature")
    assert sig is not None
    signed_info = sig.find(f"{DS}SignedInfo")
    refs = signed_info.findall(f"{DS}Reference")  # type: ignore[union-attr]

    def openssl_digest(octets: bytes) -> bytes:
        path = tmp_path / "octets.bin"
        path.write_bytes(octets)
        res = run_openssl("dgst", "-provider", "gostprov", "-md_gost12_256", "-binary", str(path))
        assert res.returncode == 0, res.stderr
        return res.stdout

    props = sig.find(f".//{XADES}SignedProperties")
    assert props is not None
    assert openssl_digest(etree.tostring(props, method="c14n", exclusive=True)) == base64.b64decode(
        refs[1].findtext(f"{DS}DigestValue") or ""
    )
    # Enveloped transform on a fresh parse: drop the Signature (it has no tail here) and canonicalise.
    fresh = etree.fromstring(signed)
    body = fresh.find(".//{*}importDSRResponsesRequest")
    assert body is not None
    fresh_sig = body.find(f"{DS}Signature")
    assert fresh_sig is not None and not fresh_sig.tail
    body.remove(fresh_sig)
    assert openssl_digest(etree.tostring(body, method="c14n", exclusive=True)) == base64.b64decode(
        refs[0].findtext(f"{DS}DigestValue") or ""
    )
    (tmp_path / "si.hash").write_bytes(
        openssl_digest(etree.tostring(signed_info, method="c14n", exclusive=True))
    )
    (tmp_path / "si.sig").write_bytes(base64.b64decode(sig.findtext(f"{DS}SignatureValue") or ""))
    res = run_openssl("pkeyutl", "-engine", "gost", "-verify", "-certin", "-inkey", str(files.cert),
                      "-in", str(tmp_path / "si.hash"), "-sigfile", str(tmp_path / "si.sig"))  # fmt: skip
    assert res.returncode == 0, res.stdout + res.stderr
    cert_der = base64.b64decode(sig.findtext(f".//{DS}X509Certificate") or "")
    assert openssl_digest(cert_der) == base64.b64decode(
        sig.findtext(f".//{XADES}CertDigest/{DS}DigestValue") or ""
    )


@pytest.mark.openssl
@pytest.mark.parametrize("paramset", ["A", "TCB", "XA", "TCA"])
async def test_signed_xml_verified_by_openssl(
    openssl_keys: Callable[[str], KeyFiles], backend: GostBackend, paramset: str, tmp_path: Path
) -> None:
    files = openssl_keys(paramset)
    signed = await _sign(files, backend)
    _independent_check(signed, files, tmp_path)


def _tamper(signed: bytes, mutate: Callable[[etree._Element], None]) -> bytes:
    root = etree.fromstring(signed)
    mutate(root)
    return bytes(etree.tostring(root))


def _set_text(path: str, value: Callable[[str], str]) -> Callable[[etree._Element], None]:
    def mutate(root: etree._Element) -> None:
        el = root.find(path)
        assert el is not None
        el.text = value(el.text or "")

    return mutate


def _flip_b64(text: str) -> str:
    raw = bytearray(base64.b64decode(text))
    raw[len(raw) // 2] ^= 1
    return base64.b64encode(bytes(raw)).decode()


@pytest.mark.parametrize(
    ("mutate", "failing"),
    [
        (_set_text(".//{*}hasDebt", lambda _t: "true"), {"reference-1"}),
        (_set_text(f".//{XADES}SigningTime", lambda t: t.replace(":", ".", 1)), {"signed-properties"}),
        (_set_text(f".//{DS}SignatureValue", _flip_b64), {"signature-value"}),
        (_set_text(f".//{DS}X509Certificate", _flip_b64), {"cert-digest", "signature-value"}),
        (_set_text(f".//{DS}Reference/{DS}DigestValue", _flip_b64), {"reference-1", "signature-value"}),
    ],
    ids=["body-text", "signing-time", "signature-value", "certificate", "signed-info"],
)
async def test_verify_reports_tampering(
    keys: KeyFiles, mutate: Callable[[etree._Element], None], failing: set[str]
) -> None:
    backend = get_backend("auto")
    signed = await _sign(keys, backend)
    report = xmldsig.verify(_tamper(signed, mutate), backend=backend)
    assert not report.valid
    assert {c.name for c in report.failed()} >= failing
    assert {c.name for c in report.failed()} <= failing | {"signature-value", "issuer-serial"}


async def test_verify_tolerates_signature_tail_text(keys: KeyFiles) -> None:
    # Whitespace after the signature: the enveloped transform keeps the tail, lxml remove() drops it.
    backend = get_backend("auto")
    signed = await _sign(keys, backend)
    moved = signed.replace(
        b'base:version="14.0.0.0">\n  <ds:Signature', b'base:version="14.0.0.0"><ds:Signature'
    )
    moved = moved.replace(b"</ds:Signature><drs:action>", b"</ds:Signature>\n  <drs:action>")
    assert moved != signed
    assert xmldsig.verify(moved, backend=backend).valid


async def test_verify_inclusive_c14n_and_gost94_signed_properties(
    keys: KeyFiles, backend: GostBackend
) -> None:
    signed = await _sign(
        keys, backend, signed_info_c14n=xmldsig.INCL_C14N, signed_properties_digest=xmldsig.DIG_GOST94
    )
    root = etree.fromstring(signed)
    ref2 = root.findall(f".//{DS}Reference")[1]
    assert ref2.find(f"{DS}Transforms") is None
    report = xmldsig.verify(signed, backend=backend)
    assert report.valid, report.failed()
    # Inclusive c14n is computed in document context: a re-rooted copy must not verify.
    sig = root.find(f".//{DS}Signature")
    assert sig is not None
    assert not xmldsig.verify(etree.tostring(sig), backend=backend).valid


async def test_verify_accepts_xmldsig_more_uris(keys: KeyFiles) -> None:
    backend = get_backend("auto")
    signed = await _sign(keys, backend)
    swapped = signed.replace(
        b"urn:ietf:params:xml:ns:cpxmlsec:algorithms:gostr34112012-256",
        b"http://www.w3.org/2001/04/xmldsig-more#gostr34112012-256",
    )
    report = xmldsig.verify(swapped, backend=backend)
    # Only the SignatureValue breaks: the URIs are inside SignedInfo; the digests themselves are accepted.
    assert {c.name for c in report.failed()} <= {"signature-value", "signed-properties"}
    assert report.check("reference-1") is not None and report.check("reference-1").ok  # type: ignore[union-attr]


async def test_verify_2001_signature_says_unsupported(keys: KeyFiles) -> None:
    backend = get_backend("auto")
    signed = await _sign(keys, backend)
    old = signed.replace(
        b"urn:ietf:params:xml:ns:cpxmlsec:algorithms:gostr34102012-gostr34112012-256",
        b"http://www.w3.org/2001/04/xmldsig-more#gostr34102001-gostr3411",
    )
    check = xmldsig.verify(old, backend=backend).check("signature-value")
    assert check is not None and not check.ok and "2001" in check.reason


async def test_verify_untrusted_certificate(keys: KeyFiles) -> None:
    from app.gis_client.crypto.backend import generate_test_key

    backend = get_backend("auto")
    signed = await _sign(keys, backend)
    _other_key, other_cert = generate_test_key("/CN=other CA", "A", backend=backend)
    check = xmldsig.verify(signed, backend=backend, trusted_certs=[other_cert]).check("certificate-trust")
    assert check is not None and not check.ok


async def test_verify_duplicate_id_is_refused(keys: KeyFiles) -> None:
    backend = get_backend("auto")
    signed = await _sign(keys, backend)
    wrapped = signed.replace(b"</s:Header>", b'<base:x Id="signed-data-container"/></s:Header>')
    check = xmldsig.verify(wrapped, backend=backend).check("reference-1")
    assert check is not None and not check.ok


def test_verify_without_signature_is_unusable() -> None:
    with pytest.raises(xmldsig.UnusableSignatureError):
        xmldsig.verify(ENVELOPE)


# ---- RemoteSigner over real HTTP against the reference service


@pytest.fixture(scope="module")
def signer_url(python_key: KeyFiles) -> Iterator[str]:
    local = LocalKeySigner(python_key.key_pem, python_key.cert_pem, get_backend("auto"))
    app = create_signer_app(local, token="s3cret-token")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 5
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    assert server.started
    yield f"http://127.0.0.1:{port}/sign"
    server.should_exit = True
    thread.join(timeout=5)


async def test_remote_signer_signs_verifiable_xml(signer_url: str, python_key: KeyFiles) -> None:
    backend = get_backend("auto")
    async with httpx.AsyncClient(timeout=5) as client:
        signer = RemoteSigner(signer_url, python_key.cert_pem, client, token="s3cret-token")
        root = etree.fromstring(ENVELOPE)
        element = root.find(".//{*}importDSRResponsesRequest")
        assert element is not None
        await xmldsig.sign_element(root, element, signer, backend=backend)
    report = xmldsig.verify(etree.tostring(root), backend=backend, trusted_certs=[python_key.cert_pem])
    assert report.valid, report.failed()


async def test_remote_signer_wrong_token_is_problem(signer_url: str, python_key: KeyFiles) -> None:
    async with httpx.AsyncClient(timeout=5) as client:
        signer = RemoteSigner(signer_url, python_key.cert_pem, client, token="wrong")
        with pytest.raises(RemoteSignerError, match="401"):
            await signer.sign_digest(b"\0" * 32)
