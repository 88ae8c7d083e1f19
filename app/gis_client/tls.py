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

from app.gis_client.errors import GisError, GisTransportError
from app.settings import Settings

log = logging.getLogger(__name__)

TlsMode = Literal["gost", "standard", "off"]

#: GOST suites of TLS 1.2 the gost engine offers, the two GIS-era ones first (§16).
GOST_CIPHERS = (
    "LEGACY-GOST2012-GOST8912-GOST8912:IANA-GOST2012-GOST8912-GOST8912:"
    "GOST2012-MAGMA-MAGMAOMAC:GOST2012-KUZNYECHIK-KUZNYECHIKOMAC"
)


class GisTlsConfigError(GisError):
    """The TLS settings cannot work (engine missing, unreadable certificate or key, https with TLS off)."""


class GisTlsError(GisTransportError):
    """The TLS handshake with GIS failed; `cause` names why in a word, the message in a sentence.

    Nothing was sent (the handshake precedes the request), and resending cannot help until settings or
    certificates change, so the retry policy treats it as final.
    """

    def __init__(self, cause: str, message: str) -> None:
        super().__init__(message)
        self.cause = cause


def tls_mode(settings: Settings) -> TlsMode:
    """Return the effective TLS mode: the setting, else gost for https and off for http."""
    if settings.gis_tls is not None:
        return settings.gis_tls
    return "gost" if settings.gis_base_url.lower().startswith("https:") else "off"


@dataclass(frozen=True, slots=True)
class ClientCertificate:
    """Paths of the TLS client certificate and key (the signing pair unless configured apart)."""

    cert_path: Path
    key_path: Path


def client_certificate(settings: Settings) -> ClientCertificate | None:
    """Return the TLS client certificate to present, or None when none is configured."""
    cert = settings.gis_tls_cert_path or settings.signing_cert_path
    key = settings.gis_tls_key_path or (
        settings.signing_key_path if settings.gis_tls_cert_path is None else None
    )
    if cert is None or key is None:
        return None
    return ClientCertificate(cert, key)


def enable_gost_ciphers() -> None:
    """Make the gost engine the default in Python's libcrypto; raise GisTlsConfigError if it cannot be."""
    from app.gis_client.crypto import GostCryptoError
    from app.gis_client.crypto_openssl import enable_gost_tls

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
    https = settings.gis_base_url.lower().startswith("https:")
    if mode == "off":
        if https:
            raise GisTlsConfigError("GISGW_GIS_TLS=off needs an http:// GISGW_GIS_BASE_URL")
        return None
    if not https:
        raise GisTlsConfigError(f"GISGW_GIS_TLS={mode} needs an https:// GISGW_GIS_BASE_URL")
    context = gost_context() if mode == "gost" else ssl.create_default_context()
    ca_file = settings.gis_tls_ca_file
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


# OpenSSL reason codes (ssl.SSLError.reason) and certificate verify codes → a word and a sentence.
_REASONS: dict[str, tuple[str, str]] = {
    "NO_SHARED_CIPHER": ("no-common-cipher", "no cipher suite in common with the server"),
    "NO_CIPHERS_AVAILABLE": ("no-common-cipher", "no cipher suite in common with the server"),
    "SSLV3_ALERT_HANDSHAKE_FAILURE": (
        "no-common-cipher",
        "the server ended the handshake (no common cipher suite: GOST suites against a non-GOST server?)",
    ),
    "WRONG_SIGNATURE_TYPE": ("no-common-cipher", "the server's certificate type fits no offered suite"),
    "TLSV1_ALERT_UNKNOWN_CA": (
        "certificate-refused",
        "the server refused our client certificate (unknown CA)",
    ),
    "SSLV3_ALERT_BAD_CERTIFICATE": ("certificate-refused", "the server refused our client certificate"),
    "SSLV3_ALERT_CERTIFICATE_UNKNOWN": ("certificate-refused", "the server refused our client certificate"),
    "TLSV13_ALERT_CERTIFICATE_REQUIRED": (
        "certificate-refused",
        "the server requires a client certificate and got none",
    ),
    "PEER_DID_NOT_RETURN_A_CERTIFICATE": (
        "certificate-refused",
        "the server requires a client certificate and got none",
    ),
    "SSLV3_ALERT_CERTIFICATE_EXPIRED": ("expired", "the server refused our client certificate as expired"),
    "SSLV3_ALERT_CERTIFICATE_REVOKED": ("certificate-refused", "the server says our certificate is revoked"),
    # The server hung up mid-handshake without an alert (Python's asyncio servers, the stand among them, drop
    # the connection instead of sending one): after our certificate went out, that is its refusal.
    "UNEXPECTED_EOF_WHILE_READING": (
        "certificate-refused",
        "the server closed the connection during the handshake (most often: it does not accept our client "
        "certificate)",
    ),
    "WRONG_VERSION_NUMBER": ("not-tls", "the server does not speak TLS there (plain HTTP port?)"),
    "UNSUPPORTED_PROTOCOL": ("protocol", "no TLS version in common with the server"),
    "TLSV1_ALERT_PROTOCOL_VERSION": ("protocol", "no TLS version in common with the server"),
}
_VERIFY_CODES: dict[int, tuple[str, str]] = {
    9: ("not-yet-valid", "the server certificate is not valid yet"),
    10: ("expired", "the server certificate has expired"),
    18: ("unknown-ca", "the server certificate is self-signed and not in GISGW_GIS_TLS_CA_FILE"),
    19: ("unknown-ca", "the server chain ends in a root not in GISGW_GIS_TLS_CA_FILE"),
    20: ("unknown-ca", "the server certificate's issuer is not in GISGW_GIS_TLS_CA_FILE"),
    21: ("unknown-ca", "the server certificate's issuer is not in GISGW_GIS_TLS_CA_FILE"),
    62: ("hostname", "the server certificate does not name the host of GISGW_GIS_BASE_URL"),
}


def tls_error(exc: BaseException) -> GisTlsError | None:
    """Return the typed handshake failure carried by an exception chain, or None if it holds no ssl error."""
    seen: set[int] = set()
    node: BaseException | None = exc
    while node is not None and id(node) not in seen:
        seen.add(id(node))
        if isinstance(node, ssl.SSLCertVerificationError):
            cause, text = _VERIFY_CODES.get(
                node.verify_code, ("unknown-ca", f"server certificate not accepted: {node.verify_message}")
            )
            return GisTlsError(cause, f"TLS handshake with GIS failed: {text} ({node.verify_message})")
        if isinstance(node, ssl.SSLWantReadError | ssl.SSLWantWriteError):
            pass  # non-blocking flow control that async stacks leave in the chain, not a failure
        elif isinstance(node, ssl.SSLError):
            reason = node.reason or ""
            cause, text = _REASONS.get(reason, ("tls", f"TLS error {reason or node}"))
            return GisTlsError(
                cause, f"TLS handshake with GIS failed: {text} [{reason or type(node).__name__}]"
            )
        node = node.__cause__ or node.__context__
    return None
