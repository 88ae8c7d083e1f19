"""GOST primitives for XMLDSig: Streebog/GOST-94 digests, GOST R 34.10-2012/256 keys, certificates, backends.

Two interchangeable backends sit behind `GostBackend` (see gis-protocol.md §6 for every byte order):

* ``openssl``: OpenSSL 3 with the gost provider (digests through hashlib) and the gost engine (signatures
  through a small ctypes layer, `openssl_backend`); about 0.1 ms per signature.
* ``python``: PyPI ``gostcrypto`` with the documented byte-order fixes (`python_backend`); slow, run it in an
  executor.

`get_backend("auto")` prefers OpenSSL and falls back to Python. ASN.1 (PKCS#8, SPKI, X.509) is parsed and
built with ``asn1crypto``; keys never appear in ``repr`` or logs.
"""

from __future__ import annotations

import ipaddress
import logging
import secrets
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from asn1crypto import core, pem, x509

from app.gis_client.crypto.keys import (
    OID_SIGN_2012_256,
    PARAMSETS,
    STREEBOG_VECTORS,
    BackendName,
    BackendUnavailable,
    CertificateInfo,
    GostBackend,
    GostCryptoError,
    GostPrivateKey,
    _AlgorithmIdentifier,
    _Certificate,
    _SubjectPublicKeyInfo,
    _TbsCertificate,
)
from app.gis_client.crypto.openssl_backend import OpenSSLBackend
from app.gis_client.crypto.python_backend import PythonBackend, curve_for

log = logging.getLogger(__name__)


def attachment_hash(data: bytes, backend: GostBackend | None = None) -> str:
    """Return AttachmentHASH: GOST R 34.11-94 (CryptoPro paramset), lower-case hex, OpenSSL byte order."""
    return (backend or get_backend("auto")).gost94_cryptopro(data).hex()


def self_test(backend: GostBackend) -> None:
    """Check the §7 Streebog vectors; raise BackendUnavailable if the backend computes something else."""
    for data, expected in STREEBOG_VECTORS:
        if backend.streebog256(data).hex() != expected:
            raise BackendUnavailable(f"{backend.name}: Streebog-256 self-test failed")


_BACKENDS: dict[str, GostBackend] = {}


def get_backend(name: BackendName | str = "auto") -> GostBackend:
    """Return a self-tested backend: "openssl", "python", or "auto" (OpenSSL if it works, else Python)."""
    if name in _BACKENDS:
        return _BACKENDS[name]
    backend: GostBackend
    if name == "openssl":
        backend = OpenSSLBackend()
    elif name == "python":
        backend = PythonBackend()
    elif name == "auto":
        try:
            backend = get_backend("openssl")
        except BackendUnavailable as exc:
            log.warning("OpenSSL GOST backend unavailable (%s); using pure Python", exc)
            backend = get_backend("python")
        _BACKENDS[name] = backend
        return backend
    else:
        raise ValueError(f"unknown crypto backend {name!r}")
    self_test(backend)
    _BACKENDS[name] = backend
    return backend


# ----------------------------------------------------------------------------------------------------
# Test keys and certificates


def curve_order(paramset_oid: str) -> int:
    """Return the subgroup order q of a 256-bit GOST curve."""

    return int(curve_for(paramset_oid).q)


def _random_private_key(paramset: str) -> GostPrivateKey:
    oid = PARAMSETS.get(paramset.upper())
    if oid is None:
        raise GostCryptoError(f"unknown paramset {paramset!r}; use one of {', '.join(PARAMSETS)}")
    q = curve_order(oid)
    return GostPrivateKey(scalar=1 + secrets.randbelow(q - 1), paramset_oid=oid)


def _parse_subject(subject: str) -> x509.Name:
    # Accept OpenSSL's "/CN=a/O=b" and RFC 4514-ish "CN=a,O=b" (no escapes: test subjects only).
    text = subject.strip()
    items = (
        [p for p in text.split("/") if p] if text.startswith("/") else [p.strip() for p in text.split(",")]
    )
    names = {"CN": "common_name", "O": "organization_name", "OU": "organizational_unit_name",
             "C": "country_name", "L": "locality_name", "ST": "state_or_province_name",
             "E": "email_address", "EMAILADDRESS": "email_address"}  # fmt: skip
    values: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or key.strip().upper() not in names:
            raise GostCryptoError(f"unsupported subject attribute {key!r}")
        values[names[key.strip().upper()]] = value.strip()
    return x509.Name.build(values, use_printable=False)


def build_self_signed_certificate(
    private_key: GostPrivateKey,
    subject: str,
    *,
    backend: GostBackend,
    days: int = 365,
    serial: int | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    alt_names: Sequence[str] = (),
) -> bytes:
    """Build a self-signed CA certificate (DER) for a GOST 2012-256 key; OpenSSL's verify accepts it.

    ``alt_names`` (host names or IP addresses) become a subjectAltName, for a TLS server certificate.
    """
    public = backend.public_key(private_key)
    name = _parse_subject(subject)
    start = now().replace(microsecond=0) - timedelta(minutes=5)
    ski = backend.streebog256(public.point_le())[:20]
    extensions = x509.Extensions(
        [
            {"extn_id": "basic_constraints", "critical": True, "extn_value": {"ca": True}},
            {"extn_id": "key_identifier", "critical": False, "extn_value": ski},
            {
                "extn_id": "key_usage",
                "critical": True,
                "extn_value": {"digital_signature", "non_repudiation", "key_cert_sign", "crl_sign"},
            },
        ]
    )
    if alt_names:
        extensions.append(
            {
                "extn_id": "subject_alt_name",
                "critical": False,
                "extn_value": [_general_name(n) for n in alt_names],
            }
        )
    sig_alg = _AlgorithmIdentifier({"algorithm": OID_SIGN_2012_256})
    tbs = _TbsCertificate(
        {
            "version": "v3",
            "serial_number": serial if serial is not None else secrets.randbits(127) | 1 << 126,
            "signature": sig_alg,
            "issuer": name,
            "validity": {
                "not_before": x509.Time({"utc_time": start}),
                "not_after": x509.Time({"utc_time": start + timedelta(days=days)}),
            },
            "subject": name,
            "subject_public_key_info": _SubjectPublicKeyInfo.load(public.spki_der()),
            "extensions": extensions,
        }
    )
    tbs_der = bytes(tbs.dump())
    signature = backend.sign_digest(private_key, backend.streebog256(tbs_der))
    cert = _Certificate(
        {
            "tbs_certificate": tbs,
            "signature_algorithm": sig_alg,
            "signature_value": core.OctetBitString(signature),
        }
    )
    return bytes(cert.dump())


def _general_name(name: str) -> x509.GeneralName:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return x509.GeneralName(name="dns_name", value=name)
    return x509.GeneralName(name="ip_address", value=name)


def generate_test_key(
    subject: str = "/CN=gisgw test/O=gisgw",
    paramset: str = "A",
    *,
    backend: GostBackend | None = None,
    alt_names: Sequence[str] = (),
) -> tuple[bytes, bytes]:
    """Generate a GOST 2012-256 key and a self-signed certificate; return (key_pem, cert_pem)."""
    backend = backend or get_backend("auto")
    key = _random_private_key(paramset)
    cert_der = build_self_signed_certificate(key, subject, backend=backend, alt_names=alt_names)
    return key.pkcs8_pem(), bytes(pem.armor("CERTIFICATE", cert_der))


def verify_certificate_signature(
    cert: CertificateInfo, issuer: CertificateInfo, backend: GostBackend
) -> bool:
    """Check that issuer's key signed cert (GOST 2012-256 with Streebog-256 only)."""
    if cert.signature_algorithm != OID_SIGN_2012_256 or len(cert.signature) != 64:
        return False
    return backend.verify_digest(issuer.public_key, backend.streebog256(cert.tbs_der), cert.signature)
