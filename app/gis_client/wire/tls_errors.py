"""TLS handshake failures with GIS, typed: what the transport raises instead of a raw ssl exception.

The SSL context itself (GOST suites through the gost engine, the client certificate) is built once at start
by `app.gis_client.tls`; this module only reads the failures, so the wire layer needs no crypto.
"""

from __future__ import annotations

import ssl

from app.gis_client.errors import GisTransportError


class GisTlsError(GisTransportError):
    """The TLS handshake with GIS failed; `cause` names why in a word, the message in a sentence.

    Nothing was sent (the handshake precedes the request), and resending cannot help until settings or
    certificates change, so the retry policy treats it as final.
    """

    def __init__(self, cause: str, message: str) -> None:
        super().__init__(message)
        self.cause = cause


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
