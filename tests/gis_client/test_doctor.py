"""`gisgw gis doctor` against `openssl s_server`: GOST TLS negotiated and reported, RSA plain TLS refused."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.gis_client.cli import gis_app
from app.gis_client.crypto.backend import generate_test_key
from app.gis_client.crypto.keys import load_certificate
from app.gis_client.doctor import certificate_validity, cheap_checks, tls_check
from app.gis_stand.server import free_port
from app.settings import get_settings
from tests.conftest import SCHEMA_DIR, make_settings

from .conftest import KeyFiles, run_openssl

pytestmark = pytest.mark.openssl

GOST_SUITES = "LEGACY-GOST2012-GOST8912-GOST8912:IANA-GOST2012-GOST8912-GOST8912"
runner = CliRunner()


def _wait_listening(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"s_server exited: {proc.stdout.read() if proc.stdout else b''!r}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError("s_server did not start listening")


@pytest.fixture
def s_server(tmp_path: Path) -> Iterator[Callable[..., int]]:
    """Factory: start `openssl s_server` on a free loopback port with a certificate; return the port."""
    started: list[subprocess.Popen[bytes]] = []

    def start(cert: Path, key: Path, *extra: str) -> int:
        port = free_port()
        proc = subprocess.Popen(  # noqa: S603 - openssl with fixed arguments
            ["openssl", "s_server", "-accept", f"127.0.0.1:{port}", "-cert", str(cert), "-key", str(key),
             "-tls1_2", "-www", "-quiet", *extra],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=os.environ.copy(),
        )  # fmt: skip
        started.append(proc)
        _wait_listening(port, proc)
        return port

    yield start
    for proc in started:
        proc.kill()
        proc.wait(timeout=10)


@pytest.fixture
def gost_server_pair(tmp_path: Path) -> tuple[Path, Path]:
    key_pem, cert_pem = generate_test_key("/CN=localhost/O=GIS test", alt_names=["127.0.0.1", "localhost"])
    (tmp_path / "gost-key.pem").write_bytes(key_pem)
    (tmp_path / "gost-cert.pem").write_bytes(cert_pem)
    return tmp_path / "gost-cert.pem", tmp_path / "gost-key.pem"


@pytest.fixture
def rsa_server_pair(tmp_path: Path) -> tuple[Path, Path]:
    key, cert = tmp_path / "rsa-key.pem", tmp_path / "rsa-cert.pem"
    made = run_openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
                       "-out", str(cert), "-subj", "/CN=localhost", "-days", "2")  # fmt: skip
    assert made.returncode == 0, made.stderr
    return cert, key


def _doctor_env(python_key: KeyFiles, port: int, **extra: str) -> dict[str, str]:
    return {
        "GISGW_GIS_BASE_URL": f"https://127.0.0.1:{port}",
        "GISGW_SIGNING_KEY_PATH": str(python_key.key),
        "GISGW_SIGNING_CERT_PATH": str(python_key.cert),
        "GISGW_SCHEMA_DIR": str(SCHEMA_DIR),
        "GISGW_GIS_CONNECT_TIMEOUT": "3",
        "GISGW_GIS_READ_TIMEOUT": "3",
        **extra,
    }


def _invoke(env: dict[str, str]) -> tuple[int, list[str]]:
    get_settings.cache_clear()
    try:
        result = runner.invoke(gis_app, ["doctor"], env=env)
    finally:
        get_settings.cache_clear()
    return result.exit_code, result.output.splitlines()


def test_doctor_gost_tls_against_s_server(
    s_server: Callable[..., int], gost_server_pair: tuple[Path, Path], python_key: KeyFiles
) -> None:
    cert, key = gost_server_pair
    port = s_server(cert, key, "-cipher", GOST_SUITES)
    code, lines = _invoke(_doctor_env(python_key, port, GISGW_GIS_TLS_CA_FILE=str(cert)))
    tls = [line for line in lines if line.split()[1:2] == ["tls"]]
    assert len(tls) == 1, lines
    assert tls[0].startswith("ok tls 127.0.0.1:"), lines
    assert "TLSv1.2" in tls[0] and ("LEGACY-GOST2012-GOST8912-GOST8912" in tls[0] or "IANA-GOST" in tls[0])
    assert "CN=localhost" in tls[0] or "Common Name: localhost" in tls[0], tls[0]
    for name in ("key", "certificate", "key-match", "backends", "gost94", "schemas"):
        assert any(line.startswith(f"ok {name} ") for line in lines), (name, lines)
    # s_server -www is no GIS: it has no Date header and no SOAP, so those checks fail and so does the run.
    assert any(line.startswith("FAIL getstate ") for line in lines), lines
    assert all(line.split()[0] in ("ok", "FAIL") for line in lines), lines
    assert code == 1


def test_doctor_refuses_rsa_plain_tls(
    s_server: Callable[..., int], rsa_server_pair: tuple[Path, Path], python_key: KeyFiles
) -> None:
    cert, key = rsa_server_pair
    port = s_server(cert, key)
    code, lines = _invoke(_doctor_env(python_key, port))
    tls = [line for line in lines if line.startswith(("ok tls", "FAIL tls"))]
    assert len(tls) == 1 and tls[0].startswith("FAIL tls "), lines
    assert "no-common-cipher" in tls[0] and "cipher suite" in tls[0], tls[0]
    assert code == 1


def test_tls_check_unknown_ca_names_the_cause(
    s_server: Callable[..., int], gost_server_pair: tuple[Path, Path], python_key: KeyFiles, tmp_path: Path
) -> None:
    cert, key = gost_server_pair
    port = s_server(cert, key, "-cipher", GOST_SUITES)
    _, other = generate_test_key("/CN=another CA/O=Lab")
    (tmp_path / "other-ca.pem").write_bytes(other)
    settings = make_settings(
        "sqlite+aiosqlite://",
        gis_base_url=f"https://127.0.0.1:{port}",
        gis_tls_ca_file=tmp_path / "other-ca.pem",
        signing_key_path=python_key.key,
        signing_cert_path=python_key.cert,
    )
    check = tls_check(settings)
    assert not check.ok and "unknown-ca" in check.detail, check


def test_certificate_validity_warns_and_fails(python_key: KeyFiles) -> None:
    cert = load_certificate(python_key.cert_pem)
    fine = certificate_validity(cert, cert.not_before + timedelta(days=1))
    assert fine.ok and "WARNING" not in fine.detail
    close = certificate_validity(cert, cert.not_after - timedelta(days=5))
    assert close.ok and "WARNING" in close.detail and "(5 days)" in close.detail
    expired = certificate_validity(cert, cert.not_after + timedelta(days=1))
    assert not expired.ok and "expired" in expired.detail
    early = certificate_validity(cert, cert.not_before - timedelta(days=1))
    assert not early.ok and "not valid before" in early.detail
    assert datetime.now(UTC) < cert.not_after


def test_cheap_checks_report_a_mismatched_pair(python_key: KeyFiles, tmp_path: Path) -> None:
    key_pem, _ = generate_test_key("/CN=other/O=Lab")
    (tmp_path / "other-key.pem").write_bytes(key_pem)
    settings = make_settings(
        "sqlite+aiosqlite://", signing_key_path=tmp_path / "other-key.pem", signing_cert_path=python_key.cert
    )
    checks = {c.name: c for c in cheap_checks(settings)}
    assert not checks["key-match"].ok and "does not belong" in checks["key-match"].detail
    assert checks["gost94"].ok and checks["schemas"].ok and "16.3.0.0" in checks["schemas"].detail
