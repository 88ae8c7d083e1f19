"""TLS to GIS ZhKKh: GOST cipher suites in-process, one SSL context per process, handshake failures typed.

GIS production and the SIT stands want TLS 1.2 with GOST suites and the information system's GOST 2012
client certificate (gis-protocol.md §1). Python's own ``ssl`` speaks that once the OpenSSL gost engine is
the default in the libcrypto it links (§6, §16), so no stunnel is needed: `build_ssl_context` makes the
engine default, then one context that the SOAP transport and the file store share through one httpx client.
"""

from __future__ import annotations

import logging
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from app.gis_client.errors import GisError
from app.gis_client.wire.tls_errors import GisTlsError, tls_error
from app.settings import Settings

log = logging.getLogger(__name__)

__all__ = ["GisTlsError", "build_ssl_context", "gost_context", "tls_error", "tls_mode"]

TlsMode = Literal["gost", "standard", "off"]

#: GOST suites of TLS 1.2 the gost engine offers, the two GIS-era ones first (§16).
GOST_CIPHERS = (
    "LEGACY-GOST2012-GOST8912-GOST8912:IANA-GOST2012-GOST8912-GOST8912:"
    "GOST2012-MAGMA-MAGMAOMAC:GOST2012-KUZNYECHIK-KUZNYECHIKOMAC"
)


class GisTlsConfigError(GisError):
    """The TLS settings cannot work (engine missing, unreadable certificate or key, https with TLS off)."""


def tls_mode(settings: Settings) -> TlsMode:
    """Return the effective TLS mode: the setting, else gost for https and off for http."""
    if settings.gis.tls is not None:
        return settings.gis.tls
    return "gost" if settings.gis.base_url.lower().startswith("https:") else "off"


@dataclass(frozen=True, slots=True)
class ClientCertificate:
    """Paths of the TLS client certificate and key (the signing pair unless configured apart)."""

    cert_path: Path
    key_path: Path


def client_certificate(settings: Settings) -> ClientCertificate | None:
    """Return the TLS client certificate to present, or None when none is configured."""
    cert = settings.gis.tls_cert_path or settings.signing.cert_path
    key = settings.gis.tls_key_path or (
        settings.signing.key_path if settings.gis.tls_cert_path is None else None
    )
    if cert is None or key is None:
        return None
    return ClientCertificate(cert, key)


def enable_gost_ciphers() -> None:
    """Make the gost engine the default in Python's libcrypto; raise GisTlsConfigError if it cannot be."""
    from app.gis_client.crypto.keys import GostCryptoError
    from app.gis_client.crypto.openssl_backend import enable_gost_tls

    try:
        enable_gost_tls()
    except GostCryptoError as exc:
        raise GisTlsConfigError(f"GOST TLS needs the OpenSSL gost engine: {exc}") from None


def gost_context(*, server: bool = False) -> ssl.SSLContext:
    """Return a fresh TLS 1.2 context limited to the GOST suites (engine made default first)."""
    enable_gost_ciphers()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER if server else ssl.PROTOCOL_TLS_CLIENT)
    # GOST suites exist in TLS 1.2 only (RFC 9189); a TLS 1.3 offer would pick a non-GOST suite.
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.set_ciphers(GOST_CIPHERS)
    except ssl.SSLError:
        raise GisTlsConfigError("no GOST cipher suite available: the gost engine is not active") from None
    return context


def build_ssl_context(settings: Settings) -> ssl.SSLContext | None:
    """Build the one client SSL context of the process from settings (None for plain HTTP)."""
    mode = tls_mode(settings)
    https = settings.gis.base_url.lower().startswith("https:")
    if mode == "off":
        if https:
            raise GisTlsConfigError("GISGW_GIS_TLS=off needs an http:// GISGW_GIS_BASE_URL")
        return None
    if not https:
        raise GisTlsConfigError(f"GISGW_GIS_TLS={mode} needs an https:// GISGW_GIS_BASE_URL")
    context = gost_context() if mode == "gost" else ssl.create_default_context()
    ca_file = settings.gis.tls_ca_file
    if ca_file is not None:
        try:
            context.load_verify_locations(cafile=str(ca_file))
        except (OSError, ssl.SSLError) as exc:
            raise GisTlsConfigError(f"cannot read GISGW_GIS_TLS_CA_FILE {ca_file}: {exc}") from None
        context.verify_mode = ssl.CERT_REQUIRED
        context.check_hostname = True
    elif mode == "gost":
        # GIS's server certificate is issued by a Russian CA no system store carries; without the chain it
        # cannot be checked, so say so loudly rather than fail every call (public clients skip it, §1).
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        log.warning("GISGW_GIS_TLS_CA_FILE is not set: the GIS server certificate is NOT verified")
    pair = client_certificate(settings)
    if pair is not None:
        try:
            context.load_cert_chain(certfile=str(pair.cert_path), keyfile=str(pair.key_path))
        except (OSError, ssl.SSLError) as exc:
            raise GisTlsConfigError(
                f"cannot load the TLS client certificate {pair.cert_path} with key {pair.key_path}: {exc}"
            ) from None
    elif mode == "gost":
        log.warning(
            "no TLS client certificate (GISGW_GIS_TLS_CERT_PATH or the signing pair): GIS will refuse"
        )
    return context
