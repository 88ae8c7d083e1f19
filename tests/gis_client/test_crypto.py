"""GOST backends: §7 vectors, key/certificate parsing, signatures checked by the OpenSSL engine and back."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from app.gis_client.crypto import backend as crypto
from app.gis_client.crypto.backend import generate_test_key, get_backend, verify_certificate_signature
from app.gis_client.crypto.gost94 import gost94_cryptopro
from app.gis_client.crypto.keys import (
    GOST94_VECTOR,
    STREEBOG_VECTORS,
    GostBackend,
    format_dn,
    load_certificate,
    load_private_key,
)

from .conftest import KeyFiles, run_openssl

E = ("-engine", "gost")


@pytest.mark.parametrize(("data", "expected"), STREEBOG_VECTORS, ids=["empty", "63-bytes", "igor"])
def test_streebog256_vectors(backend: GostBackend, data: bytes, expected: str) -> None:
    assert backend.streebog256(data).hex() == expected


def test_gost94_vector(backend: GostBackend) -> None:
    assert backend.gost94_cryptopro(GOST94_VECTOR[0]).hex() == GOST94_VECTOR[1]


def test_gost94_empty_message_is_rfc5831_value(backend: GostBackend) -> None:
    assert backend.gost94_cryptopro(b"").hex() == (
        "981e5f3ca30c841487830f84fb433e13ac1101569b9c13584ac483234cd656c0"
    )


@pytest.mark.openssl
@pytest.mark.parametrize("size", [1, 31, 32, 33, 64, 95, 1000])
def test_gost94_pure_python_matches_openssl(size: int) -> None:
    data = os.urandom(size)
    assert gost94_cryptopro(data) == get_backend("openssl").gost94_cryptopro(data)


@pytest.mark.openssl
def test_gost94_matches_openssl_cli(tmp_path: Path) -> None:
    payload = tmp_path / "file.bin"
    payload.write_bytes(b"attachment " * 100)
    out = run_openssl("dgst", *E, "-md_gost94", "-r", str(payload)).stdout.decode().split()[0]
    assert gost94_cryptopro(payload.read_bytes()).hex() == out


def test_get_backend_auto_reports_a_name() -> None:
    assert get_backend("auto").name in {"openssl", "python"}
    with pytest.raises(ValueError):
        get_backend("bogus")


@pytest.mark.openssl
def test_openssl_backend_activates_after_late_configuration() -> None:
    # hashlib initialises OpenSSL before configure_openssl() sets OPENSSL_CONF: the backend must still work.
    code = (
        "import hashlib, os; hashlib.sha256(b'x'); os.environ.pop('OPENSSL_CONF', None)\n"
        "from app.gis_client.crypto.backend import get_backend\n"
        "print(get_backend('auto').name)"
    )
    env = {k: v for k, v in os.environ.items() if k != "OPENSSL_CONF"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.strip() == "openssl"


@pytest.mark.openssl
@pytest.mark.parametrize("paramset", ["A", "B", "C", "XA", "XB", "TCA", "TCB", "TCC", "TCD"])
def test_load_engine_key_matches_certificate(
    openssl_keys: Callable[[str], KeyFiles], backend: GostBackend, paramset: str
) -> None:
    files = openssl_keys(paramset)
    key = load_private_key(files.key_pem)
    cert = load_certificate(files.cert_pem)
    assert backend.public_key(key) == cert.public_key
    assert cert.paramset == paramset
    assert verify_certificate_signature(cert, cert, backend)
    assert "scalar" not in repr(key)


@pytest.mark.openssl
@pytest.mark.parametrize("paramset", ["A", "TCB", "XA", "TCA"])
def test_signature_verified_by_openssl_engine(
    openssl_keys: Callable[[str], KeyFiles], backend: GostBackend, paramset: str, tmp_path: Path
) -> None:
    files = openssl_keys(paramset)
    key = load_private_key(files.key_pem)
    data = b"canonical SignedInfo stand-in"
    (tmp_path / "data.bin").write_bytes(data)
    digest = run_openssl(
        "dgst", "-provider", "gostprov", "-md_gost12_256", "-binary", str(tmp_path / "data.bin")
    )
    assert digest.stdout == backend.streebog256(data)
    (tmp_path / "data.hash").write_bytes(digest.stdout)
    (tmp_path / "data.sig").write_bytes(backend.sign_digest(key, digest.stdout))
    res = run_openssl("pkeyutl", *E, "-verify", "-certin", "-inkey", str(files.cert),
                      "-in", str(tmp_path / "data.hash"), "-sigfile", str(tmp_path / "data.sig"))  # fmt: skip
    assert res.returncode == 0, res.stdout + res.stderr


@pytest.mark.openssl
@pytest.mark.parametrize("paramset", ["A", "TCB", "C", "TCA"])
def test_openssl_signature_verifies_with_backend(
    openssl_keys: Callable[[str], KeyFiles], backend: GostBackend, paramset: str, tmp_path: Path
) -> None:
    files = openssl_keys(paramset)
    data = tmp_path / "data.bin"
    data.write_bytes(b"message signed by openssl dgst")
    sig = tmp_path / "data.sig"
    res = run_openssl("dgst", *E, "-md_gost12_256", "-sign", str(files.key), "-out", str(sig), str(data))
    assert res.returncode == 0, res.stderr
    cert = load_certificate(files.cert_pem)
    digest = backend.streebog256(data.read_bytes())
    assert backend.verify_digest(cert.public_key, digest, sig.read_bytes())
    assert not backend.verify_digest(cert.public_key, backend.streebog256(b"other"), sig.read_bytes())


@pytest.mark.openssl
@pytest.mark.parametrize("paramset", ["A", "TCB"])
def test_generate_test_key_accepted_by_openssl(backend: GostBackend, paramset: str, tmp_path: Path) -> None:
    key_pem, cert_pem = generate_test_key("/CN=keygen test/O=gisgw", paramset, backend=backend)
    (tmp_path / "k.pem").write_bytes(key_pem)
    (tmp_path / "c.pem").write_bytes(cert_pem)
    res = run_openssl("verify", *E, "-CAfile", str(tmp_path / "c.pem"), str(tmp_path / "c.pem"))
    assert res.returncode == 0, res.stdout + res.stderr
    pub_from_key = run_openssl("pkey", *E, "-in", str(tmp_path / "k.pem"), "-pubout").stdout
    pub_from_cert = run_openssl("x509", *E, "-in", str(tmp_path / "c.pem"), "-pubkey", "-noout").stdout
    assert pub_from_key and pub_from_key == pub_from_cert


def test_generate_test_key_without_openssl(python_key: KeyFiles) -> None:
    python = get_backend("python")
    key = load_private_key(python_key.key_pem)
    cert = load_certificate(python_key.cert_pem)
    assert python.public_key(key) == cert.public_key
    assert verify_certificate_signature(cert, cert, python)
    assert cert.subject_name() == "cn=gisgw python,o=Lab"  # asn1crypto writes DER order O, CN


def test_format_dn_styles() -> None:
    rdns = (
        (("2.5.4.6", "RU"),),
        (("2.5.4.10", 'ООО "Рога, копыта"'),),
        (("1.2.643.100.1", "1027700132195"),),
        (("2.5.4.3", "li-key"),),
    )
    assert format_dn(rdns) == 'cn=li-key,1.2.643.100.1=1027700132195,o=ООО \\"Рога\\, копыта\\",c=RU'
    assert format_dn(rdns, "der") == 'C=RU, O=ООО "Рога\\, копыта", 1.2.643.100.1=1027700132195, CN=li-key'


def test_unknown_paramset_rejected() -> None:
    with pytest.raises(crypto.GostCryptoError):
        generate_test_key("/CN=x", "ZZ", backend=get_backend("python"))


def test_garbage_key_rejected() -> None:
    with pytest.raises(crypto.GostCryptoError):
        load_private_key(b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
    with pytest.raises(crypto.GostCryptoError):
        load_certificate(b"\x30\x03\x02\x01\x00")
