"""Build the one GIS client of the process (transport, schemas, signer) and close it on shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.gis_client import journal
from app.gis_client.client import GisClient
from app.gis_client.crypto.backend import generate_test_key, get_backend, self_test
from app.gis_client.crypto.keys import GostBackend
from app.gis_client.crypto.signer import LocalKeySigner, RemoteSigner, Signer
from app.gis_client.doctor import readiness_checks
from app.gis_client.errors import GisError, SchemaPackageMissing
from app.gis_client.exchange import CompletionHook, ExchangeEngine, collect_pending
from app.gis_client.operations import NS_SOAP, SERVICES, Service
from app.gis_client.retry import RetryPolicy
from app.gis_client.tls import build_ssl_context, tls_error
from app.gis_client.wire.safexml import XmlParseError, parse_xml
from app.gis_client.wire.schemas import SchemaSet
from app.gis_client.wire.transport import Transport, build_http_client
from app.settings import Settings

log = logging.getLogger(__name__)

#: Development/test key made on first start when no key is configured (relative to the working directory).
EPHEMERAL_KEY_DIR = Path("var/keys")
_JOURNAL_CLEANUP_EVERY = 3600.0


#: An empty SOAP 1.1 request: GIS and the stand answer it with a SOAP Fault, a web server with anything else.
PROBE_ENVELOPE = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">'
    b"<soapenv:Header/><soapenv:Body/></soapenv:Envelope>"
)


def is_soap_envelope(content: bytes) -> bool:
    """Return whether an HTTP body is a SOAP 1.1 envelope (what every GIS answer is, Faults included)."""
    try:
        root = parse_xml(content)
    except XmlParseError:
        return False
    return bool(root.tag == f"{{{NS_SOAP}}}Envelope")


def load_schemas(settings: Settings) -> SchemaSet | None:
    """Compile the official XSD set once; None (with a warning) outside production when it is missing."""
    try:
        return SchemaSet.load(settings.gis.schema_dir)
    except SchemaPackageMissing:
        if settings.env == "production":
            raise
        log.warning("GIS XSD package missing at %s: messages will NOT be validated", settings.gis.schema_dir)
        return None


def ensure_development_key(backend: GostBackend | None = None) -> tuple[Path, Path]:
    """Create (once) the self-signed development key under var/keys; return the key and certificate paths."""
    key_path, cert_path = EPHEMERAL_KEY_DIR / "test-key.pem", EPHEMERAL_KEY_DIR / "test-cert.pem"
    if not (key_path.is_file() and cert_path.is_file()):
        key_pem, cert_pem = generate_test_key("/CN=gisgw development key/O=gisgw", backend=backend)
        EPHEMERAL_KEY_DIR.mkdir(parents=True, exist_ok=True)
        key_path.write_bytes(key_pem)
        key_path.chmod(0o600)
        cert_path.write_bytes(cert_pem)
    return key_path, cert_path


def build_signer(settings: Settings, backend: GostBackend, http_client: httpx.AsyncClient) -> Signer:
    """Return the signer: local key, remote service, or (development/test only) an ephemeral test key."""
    if settings.signing.remote_signer_url:
        if settings.signing.cert_path is None:
            raise RuntimeError(
                "GISGW_REMOTE_SIGNER_URL needs GISGW_SIGNING_CERT_PATH (the certificate to embed)"
            )
        token = (
            settings.signing.remote_signer_token.get_secret_value()
            if settings.signing.remote_signer_token
            else None
        )
        return RemoteSigner(
            settings.signing.remote_signer_url, settings.signing.cert_path.read_bytes(), http_client, token
        )
    if settings.signing.key_path is not None and settings.signing.cert_path is not None:
        return LocalKeySigner(
            settings.signing.key_path.read_bytes(), settings.signing.cert_path.read_bytes(), backend
        )
    if settings.env == "production":
        raise RuntimeError("no signing key: set GISGW_SIGNING_KEY_PATH/CERT_PATH or GISGW_REMOTE_SIGNER_URL")
    key_path, cert_path = ensure_development_key(backend)
    log.warning(
        "!!! No signing key configured: signing with a SELF-SIGNED TEST KEY from %s. GIS will reject these "
        "messages; set GISGW_SIGNING_KEY_PATH and GISGW_SIGNING_CERT_PATH for a real stand. !!!",
        EPHEMERAL_KEY_DIR,
    )
    return LocalKeySigner(key_path.read_bytes(), cert_path.read_bytes(), backend)


async def exchange_loop(client: GisClient, stop: asyncio.Event) -> None:
    """Drive GIS exchanges (and clean the journal hourly) until `stop` is set."""
    settings, sessionmaker = client.settings, client.sessionmaker
    if not settings.workers.enabled:
        return
    loop = asyncio.get_running_loop()
    next_cleanup = loop.time()
    while not stop.is_set():
        if loop.time() >= next_cleanup:
            next_cleanup = loop.time() + _JOURNAL_CLEANUP_EVERY
            try:
                async with sessionmaker() as session, session.begin():
                    removed = await journal.cleanup(session, retention_days=settings.journal.retention_days)
                    await collect_pending(session)
                if removed:
                    log.info("journal cleanup removed %d entries", removed)
            except Exception:
                log.exception("journal cleanup failed")
        handled = 0
        try:
            handled = await client.engine.drive_once(sessionmaker)
        except Exception:
            log.exception("exchange driver failed; retrying")
        if not handled:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=settings.workers.poll_interval)


Probe = Callable[[], Awaitable[tuple[bool, dict[str, Any]]]]


@dataclass(frozen=True)
class GisRuntime:
    """The running GIS client with what the app publishes of it: the signer and three readiness probes."""

    client: GisClient
    signer: Signer
    crypto_probe: Probe
    gis_probe: Probe
    link_probe: Probe


@contextlib.asynccontextmanager
async def open_gis(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    hooks: Mapping[str, CompletionHook],
    audit: CompletionHook | None,
) -> AsyncIterator[GisRuntime]:
    """Build the GIS client once (schemas, crypto, signer, shared transport) and close it on exit.

    `hooks` (ref_kind → completion hook) and `audit` come from the composition root (app.main), which also
    publishes the client: gis_client knows no domain area and no app context.
    """
    schemas = await asyncio.to_thread(load_schemas, settings)
    backend = get_backend(settings.signing.crypto_backend)
    # The one SSL context of the process (GOST TLS by default for https), built now so a bad certificate or
    # a missing gost engine stops the start instead of the first exchange.
    http_client = build_http_client(settings, build_ssl_context(settings))
    transport = Transport.from_settings(settings, http_client)
    # The remote signer gets a client of its own: GIS's client carries the GOST context, Basic auth and Host.
    signer_client = httpx.AsyncClient(
        timeout=httpx.Timeout(settings.gis.read_timeout, connect=settings.gis.connect_timeout)
    )
    try:
        signer = build_signer(settings, backend, signer_client)
        engine = ExchangeEngine(
            settings=settings,
            transport=transport,
            signer=signer,
            backend=backend,
            schemas=schemas,
            policy=RetryPolicy.from_settings(settings),
            hooks=hooks,
            audit=audit,
        )
        client = GisClient(
            settings=settings,
            sessionmaker=sessionmaker,
            engine=engine,
            transport=transport,
            backend=backend,
        )

        async def crypto_probe() -> tuple[bool, dict[str, Any]]:
            try:
                self_test(backend)
                return True, {"backend": backend.name, "self_test": "ok"}
            except GisError as exc:
                return False, {"backend": backend.name, "self_test": str(exc)}

        async def gis_probe() -> tuple[bool, dict[str, Any]]:
            # Any HTTP answer means the endpoint (or the stunnel in front of it) is reachable. Outside
            # production an absent GIS (no stand running) is reported but does not make the gateway unready:
            # exchanges wait durably in the database either way.
            # Reachable is not enough: any web server answers GET / (a 404 said "GIS ok"). An empty SOAP
            # envelope posted to a service must come back as a SOAP envelope (GIS answers it with a Fault).
            service = SERVICES[Service.DEBT_REQUESTS]
            try:
                response = await http_client.post(
                    service.path,
                    content=PROBE_ENVELOPE,
                    headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '"urn:probe"'},
                    timeout=2.0,
                )
            except httpx.HTTPError as exc:
                detail = {"url": settings.gis.base_url, "reachable": False, "error": type(exc).__name__}
                handshake = tls_error(exc)
                if handshake is not None:
                    detail["tls"] = f"{handshake.cause}: {handshake}"
                return settings.env != "production", detail
            shaped = is_soap_envelope(response.content)
            return shaped, {
                "url": settings.gis.base_url,
                "reachable": True,
                "http_status": response.status_code,
                "soap": shaped,
            }

        async def link_probe() -> tuple[bool, dict[str, Any]]:
            # The doctor's cheap checks (files and crypto only). Outside production a missing key or
            # certificate (development signs with an ephemeral test key) is reported, not fatal.
            checks = await asyncio.to_thread(readiness_checks, settings)
            detail: dict[str, Any] = {c.name: f"{'ok' if c.ok else 'FAIL'} {c.detail}" for c in checks}
            return all(c.ok for c in checks) or settings.env != "production", detail

        yield GisRuntime(client, signer, crypto_probe, gis_probe, link_probe)
    finally:
        await transport.aclose()
        await signer_client.aclose()
