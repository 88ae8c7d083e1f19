"""Crypto fixtures: OpenSSL-made GOST keys per paramset, backends, and an `openssl` runner."""

from __future__ import annotations

from app.gis_client.crypto.openssl_setup import configure_openssl

configure_openssl()  # before anything below touches OpenSSL (the root conftest does it too)

import shutil  # noqa: E402
import subprocess  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from app.gis_client.crypto.backend import generate_test_key, get_backend  # noqa: E402
from app.gis_client.crypto.keys import BackendUnavailable, GostBackend  # noqa: E402


def _engine_available() -> bool:
    exe = shutil.which("openssl")
    if exe is None:
        return False
    probe = subprocess.run([exe, "engine", "gost"], capture_output=True, text=True, check=False)
    return probe.returncode == 0


OPENSSL_ENGINE = _engine_available()


def run_openssl(*args: str, input: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    """Run `openssl args...` and return the completed process (no check)."""
    return subprocess.run(["openssl", *args], input=input, capture_output=True, check=False)


@pytest.fixture(autouse=True)
def _skip_without_engine(request: pytest.FixtureRequest) -> None:
    if request.node.get_closest_marker("openssl") and not OPENSSL_ENGINE:
        pytest.skip("OpenSSL gost engine not installed (libengine-gost-openssl)")


@dataclass(frozen=True)
class KeyFiles:
    """A key/certificate pair on disk."""

    key: Path
    cert: Path

    @property
    def key_pem(self) -> bytes:
        return self.key.read_bytes()

    @property
    def cert_pem(self) -> bytes:
        return self.cert.read_bytes()


@pytest.fixture(scope="session")
def openssl_keys(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], KeyFiles]:
    """Return a factory of engine-generated key + self-signed certificate per paramset (cached)."""
    cache: dict[str, KeyFiles] = {}
    base = tmp_path_factory.mktemp("openssl-keys")

    def make(paramset: str) -> KeyFiles:
        if not OPENSSL_ENGINE:
            pytest.skip("OpenSSL gost engine not installed")
        if paramset not in cache:
            files = KeyFiles(base / f"key-{paramset}.pem", base / f"cert-{paramset}.pem")
            e = ("-engine", "gost")
            gen = run_openssl(
                "genpkey",
                *e,
                "-algorithm",
                "gost2012_256",
                "-pkeyopt",
                f"paramset:{paramset}",
                "-out",
                str(files.key),
            )
            assert gen.returncode == 0, gen.stderr
            subj = f"/CN=GOST test {paramset}/O=Lab"
            req = run_openssl(
                "req", *e, "-x509", "-new", "-key", str(files.key), "-md_gost12_256", "-subj", subj,
                "-days", "30", "-out", str(files.cert),
            )  # fmt: skip
            assert req.returncode == 0, req.stderr
            cache[paramset] = files
        return cache[paramset]

    return make


@pytest.fixture(scope="session")
def python_key(tmp_path_factory: pytest.TempPathFactory) -> KeyFiles:
    """Return a key pair made without OpenSSL (pure-Python backend)."""
    base = tmp_path_factory.mktemp("python-key")
    key_pem, cert_pem = generate_test_key("/CN=gisgw python/O=Lab", "TCB", backend=get_backend("python"))
    files = KeyFiles(base / "key.pem", base / "cert.pem")
    files.key.write_bytes(key_pem)
    files.cert.write_bytes(cert_pem)
    return files


@pytest.fixture(params=["openssl", "python"])
def backend(request: pytest.FixtureRequest) -> GostBackend:
    """Each available backend in turn."""
    try:
        return get_backend(request.param)
    except BackendUnavailable as exc:
        pytest.skip(str(exc))
