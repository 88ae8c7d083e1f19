"""`gisgw gis doctor`: check everything the link to GIS needs, one line per check, before going live.

Cheap checks (files, crypto, schemas) also feed `/readyz`; the network ones (TLS, clock, getState) run on
demand only. Each check returns a `DoctorCheck`; nothing here raises for a failed check.
"""

from __future__ import annotations

import asyncio
import re
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import httpx
from asn1crypto import x509

from app.gis_client.crypto.backend import get_backend
from app.gis_client.crypto.keys import (
    GOST94_VECTOR,
    BackendUnavailable,
    CertificateInfo,
    GostCryptoError,
    GostPrivateKey,
    load_certificate,
    load_private_key,
)
from app.gis_client.errors import GisError, GisFaultError
from app.gis_client.operations import Service, get_state_operation
from app.gis_client.parse import parse_state
from app.gis_client.tls import GisTlsConfigError, build_ssl_context, tls_error, tls_mode
from app.gis_client.wire.envelope import build_get_state, new_guid, serialize
from app.gis_client.wire.transport import Transport, build_http_client
from app.settings import Settings

#: Days before expiry from which the certificate check warns (still ok: GIS accepts it until the end).
EXPIRY_WARNING_DAYS = 30
#: Clock skew tolerated against GIS's Date header (SigningTime and Date are compared by GIS, §15 item 3).
MAX_SKEW_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class DoctorCheck:
    """The outcome of one check: its name, whether it passed, and a one-line detail."""

    name: str
    ok: bool
    detail: str

    def line(self) -> str:
        """Return the report line: `ok name detail` or `FAIL name detail`."""
        return f"{'ok' if self.ok else 'FAIL'} {self.name} {self.detail}".rstrip()


@dataclass
class _Material:
    key: GostPrivateKey | None = None
    cert: CertificateInfo | None = None


def _load_material(settings: Settings, material: _Material) -> list[DoctorCheck]:
    checks: list[DoctorCheck] = []
    if settings.signing.remote_signer_url and settings.signing.key_path is None:
        checks.append(
            DoctorCheck(
                "key", True, f"signing goes through the remote signer {settings.signing.remote_signer_url}"
            )
        )
    elif settings.signing.key_path is None:
        checks.append(DoctorCheck("key", False, "GISGW_SIGNING_KEY_PATH is not set"))
    else:
        try:
            material.key = load_private_key(settings.signing.key_path.read_bytes())
            checks.append(DoctorCheck("key", True, f"{settings.signing.key_path} readable (GOST 2012-256)"))
        except OSError as exc:
            checks.append(
                DoctorCheck("key", False, f"cannot read {settings.signing.key_path}: {exc.strerror}")
            )
        except (GostCryptoError, ValueError) as exc:
            checks.append(DoctorCheck("key", False, f"{settings.signing.key_path}: {exc}"))
    if settings.signing.cert_path is None:
        checks.append(DoctorCheck("certificate", False, "GISGW_SIGNING_CERT_PATH is not set"))
        return checks
    try:
        material.cert = load_certificate(settings.signing.cert_path.read_bytes())
    except OSError as exc:
        checks.append(
            DoctorCheck("certificate", False, f"cannot read {settings.signing.cert_path}: {exc.strerror}")
        )
        return checks
    except (GostCryptoError, ValueError) as exc:
        checks.append(DoctorCheck("certificate", False, f"{settings.signing.cert_path}: {exc}"))
        return checks
    checks.append(certificate_validity(material.cert))
    return checks


def certificate_validity(cert: CertificateInfo, now: datetime | None = None) -> DoctorCheck:
    """Check the validity period of the signing certificate; warn under 30 days to expiry."""
    moment = now or datetime.now(UTC)
    subject = cert.subject_name()
    if moment < cert.not_before:
        return DoctorCheck("certificate", False, f"{subject} not valid before {cert.not_before:%Y-%m-%d}")
    if moment > cert.not_after:
        return DoctorCheck("certificate", False, f"{subject} expired {cert.not_after:%Y-%m-%d}")
    days = (cert.not_after - moment).days
    warning = (
        f" WARNING: renew it, under {EXPIRY_WARNING_DAYS} days left" if days < EXPIRY_WARNING_DAYS else ""
    )
    return DoctorCheck(
        "certificate", True, f"{subject} valid until {cert.not_after:%Y-%m-%d} ({days} days){warning}"
    )


def _key_match(material: _Material) -> DoctorCheck:
    if material.key is None or material.cert is None:
        return DoctorCheck("key-match", False, "needs both the key and the certificate")
    try:
        public = get_backend("auto").public_key(material.key)
    except GostCryptoError as exc:
        return DoctorCheck("key-match", False, str(exc))
    if public != material.cert.public_key:
        return DoctorCheck("key-match", False, "the key does not belong to the certificate")
    return DoctorCheck("key-match", True, f"key matches the certificate (paramset {material.cert.paramset})")


def _cross_backends(material: _Material) -> DoctorCheck:
    """Sign with each backend and verify with the other (§6 byte orders, both ways)."""
    if material.key is None:
        return DoctorCheck("backends", False, "needs the signing key")
    try:
        openssl, python = get_backend("openssl"), get_backend("python")
    except BackendUnavailable as exc:
        return DoctorCheck("backends", False, f"both backends are needed: {exc}")
    digest = openssl.streebog256(b"gisgw doctor")
    public = openssl.public_key(material.key)
    if not python.verify_digest(public, digest, openssl.sign_digest(material.key, digest)):
        return DoctorCheck("backends", False, "an OpenSSL signature does not verify in Python")
    if not openssl.verify_digest(public, digest, python.sign_digest(material.key, digest)):
        return DoctorCheck("backends", False, "a Python signature does not verify in OpenSSL")
    return DoctorCheck("backends", True, "openssl → python and python → openssl signatures verify")


def _gost94() -> DoctorCheck:
    data, expected = GOST94_VECTOR
    try:
        actual = get_backend("auto").gost94_cryptopro(data).hex()
    except GostCryptoError as exc:
        return DoctorCheck("gost94", False, str(exc))
    if actual != expected:
        return DoctorCheck("gost94", False, f"GOST R 34.11-94 of 'a' is {actual}, expected {expected}")
    return DoctorCheck("gost94", True, "GOST R 34.11-94 (CryptoPro) test vector matches (AttachmentHASH)")


_VERSION = re.compile(r"\d+\.\d+\.\d+\.\d+")


def _schemas(settings: Settings) -> DoctorCheck:
    from app.gis_client.wire.schemas import SchemaSet

    try:
        schemas = SchemaSet.load(settings.gis.schema_dir)
    except GisError as exc:
        return DoctorCheck("schemas", False, str(exc))
    folder = schemas.schema_dir
    version = folder.name if _VERSION.fullmatch(folder.name) else None
    changelog = folder / "changelog.txt"
    if version is None and changelog.is_file():
        found = _VERSION.findall(changelog.read_text(errors="replace")[:4000])
        version = max(found, key=lambda v: tuple(int(p) for p in v.split(".")), default=None)
    return DoctorCheck("schemas", True, f"{folder} (formats {version or 'version unknown'})")


def _tls_certificate(settings: Settings) -> DoctorCheck | None:
    """Check a TLS client certificate configured apart from the signing one (None when it is the same)."""
    if settings.gis.tls_cert_path is None or tls_mode(settings) == "off":
        return None
    try:
        cert = load_certificate(settings.gis.tls_cert_path.read_bytes())
    except OSError as exc:
        return DoctorCheck(
            "tls-certificate", False, f"cannot read {settings.gis.tls_cert_path}: {exc.strerror}"
        )
    except (GostCryptoError, ValueError) as exc:
        return DoctorCheck("tls-certificate", False, f"{settings.gis.tls_cert_path}: {exc}")
    check = certificate_validity(cert)
    return DoctorCheck("tls-certificate", check.ok, check.detail)


def readiness_checks(settings: Settings) -> list[DoctorCheck]:
    """Run the checks cheap enough for every /readyz: key, certificates, key match, GOST-94 vector."""
    material = _Material()
    checks = _load_material(settings, material)
    if material.key is not None or settings.signing.key_path is not None:
        checks.append(_key_match(material))
    tls_cert = _tls_certificate(settings)
    if tls_cert is not None:
        checks.append(tls_cert)
    checks.append(_gost94())
    return checks


def cheap_checks(settings: Settings) -> list[DoctorCheck]:
    """Run the checks that touch no network: signing material, both crypto backends, schemas."""
    material = _Material()
    checks = _load_material(settings, material)
    if material.key is not None or settings.signing.key_path is not None:
        checks.append(_key_match(material))
        checks.append(_cross_backends(material))
    tls_cert = _tls_certificate(settings)
    if tls_cert is not None:
        checks.append(tls_cert)
    checks.append(_gost94())
    checks.append(_schemas(settings))
    return checks


def _peer_summary(der: bytes | None) -> str:
    if not der:
        return "no server certificate"
    try:
        cert = x509.Certificate.load(der)
        subject = cert.subject.human_friendly
        not_after = cert["tbs_certificate"]["validity"]["not_after"].native
    except (ValueError, KeyError) as exc:
        return f"unreadable server certificate ({exc})"
    days = (not_after - datetime.now(UTC)).days
    return f"server {subject}, valid until {not_after:%Y-%m-%d} ({days} days)"


def tls_check(settings: Settings, timeout: float = 10.0) -> DoctorCheck:
    """Open a TLS connection to GISGW_GIS_BASE_URL as the gateway would; report protocol, suite, server."""
    mode = tls_mode(settings)
    url = urlsplit(settings.gis.base_url)
    if mode == "off":
        return DoctorCheck("tls", True, f"off: {settings.gis.base_url} is plain http (GISGW_GIS_TLS=off)")
    try:
        context = build_ssl_context(settings)
    except GisTlsConfigError as exc:
        return DoctorCheck("tls", False, str(exc))
    assert context is not None
    host, port = url.hostname or "", url.port or 443
    try:
        with socket.create_connection((host, port), timeout=timeout) as raw:
            server_hostname = settings.gis.host_header or host
            with context.wrap_socket(raw, server_hostname=server_hostname) as tls:
                version, cipher = tls.version(), tls.cipher()
                peer = tls.getpeercert(binary_form=True)
    except OSError as exc:
        typed = tls_error(exc)
        if typed is not None:
            return DoctorCheck("tls", False, f"{host}:{port} {typed.cause}: {typed}")
        return DoctorCheck("tls", False, f"{host}:{port} cannot connect: {exc}")
    suite = cipher[0] if cipher else "?"
    return DoctorCheck("tls", True, f"{host}:{port} {mode} {version} {suite}; {_peer_summary(peer)}")


async def _network_checks(settings: Settings, org_ppa_guid: str | None) -> list[DoctorCheck]:
    checks: list[DoctorCheck] = []
    try:
        client = build_http_client(settings, build_ssl_context(settings))
    except GisTlsConfigError as exc:
        return [DoctorCheck("clock", False, str(exc)), DoctorCheck("getstate", False, str(exc))]
    transport = Transport.from_settings(settings, client)
    try:
        checks.append(await _clock(client))
        checks.append(await _get_state(transport, org_ppa_guid))
    finally:
        await transport.aclose()
    return checks


async def _clock(client: httpx.AsyncClient) -> DoctorCheck:
    try:
        started = time.time()
        response = await client.get("/", timeout=10.0)
        local = (started + time.time()) / 2
    except httpx.HTTPError as exc:
        typed = tls_error(exc)
        reason = f"{typed.cause}: {typed}" if typed else type(exc).__name__
        return DoctorCheck("clock", False, f"no answer from GIS to read its Date header ({reason})")
    header = response.headers.get("Date")
    if not header:
        return DoctorCheck("clock", False, f"GIS answered HTTP {response.status_code} without a Date header")
    try:
        remote = parsedate_to_datetime(header).timestamp()
    except (TypeError, ValueError):
        return DoctorCheck("clock", False, f"unreadable Date header {header!r}")
    skew = local - remote
    # The Date header has whole seconds: up to one second of the difference is its rounding.
    ok = abs(skew) <= MAX_SKEW_SECONDS
    return DoctorCheck(
        "clock", ok, f"skew {skew:+.1f} s against GIS's Date header (limit {MAX_SKEW_SECONDS:.0f} s)"
    )


async def _get_state(transport: Transport, org_ppa_guid: str | None) -> DoctorCheck:
    """Ask getState for an unknown message: any SOAP answer proves the round trip (GIS says "not found")."""
    op = get_state_operation(Service.DEBT_REQUESTS)
    root = build_get_state(Service.DEBT_REQUESTS, new_guid(), org_ppa_guid=org_ppa_guid or new_guid())
    started = time.perf_counter()
    try:
        document = await transport.call(op.path, op.soap_action_header, serialize(root))
        state = parse_state(document)
    except GisFaultError as exc:
        ms = (time.perf_counter() - started) * 1000
        return DoctorCheck("getstate", True, f"GIS answered a SOAP Fault {exc.code or '?'} in {ms:.0f} ms")
    except GisError as exc:
        return DoctorCheck("getstate", False, f"{type(exc).__name__}: {exc}")
    ms = (time.perf_counter() - started) * 1000
    return DoctorCheck("getstate", True, f"GIS answered RequestState {state.request_state} in {ms:.0f} ms")


def run_doctor(
    settings: Settings,
    *,
    network: bool = True,
    org_ppa_guid: str | None = None,
    emit: Callable[[DoctorCheck], None] | None = None,
) -> list[DoctorCheck]:
    """Run every check (the network ones unless told not to); emit each as it completes."""
    results: list[DoctorCheck] = []

    def add(check: DoctorCheck) -> None:
        results.append(check)
        if emit is not None:
            emit(check)

    for check in cheap_checks(settings):
        add(check)
    if network:
        add(tls_check(settings))
        for check in asyncio.run(_network_checks(settings, org_ppa_guid)):
            add(check)
    return results
