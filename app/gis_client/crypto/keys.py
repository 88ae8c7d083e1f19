"""GOST keys, certificates and the backend protocol: ASN.1 (PKCS#8, SPKI, X.509) with asn1crypto, no OpenSSL.

Shared by both backends (`openssl_backend`, `python_backend`) and by the factory in `backend`; keys never
appear in ``repr`` or logs. Byte orders: gis-protocol.md §6.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol

from asn1crypto import core, pem, x509

from app.gis_client.errors import GisSignatureError

log = logging.getLogger(__name__)

BackendName = Literal["auto", "openssl", "python"]
IssuerStyle = Literal["server", "der"]

OID_GOST2012_256 = "1.2.643.7.1.1.1.1"
OID_GOST2012_512 = "1.2.643.7.1.1.1.2"
OID_GOST2001 = "1.2.643.2.2.19"
OID_STREEBOG256 = "1.2.643.7.1.1.2.2"
OID_SIGN_2012_256 = "1.2.643.7.1.1.3.2"

#: OpenSSL ``paramset:`` letters → curve OIDs (gis-protocol.md §6).
PARAMSETS: dict[str, str] = {
    "A": "1.2.643.2.2.35.1",
    "B": "1.2.643.2.2.35.2",
    "C": "1.2.643.2.2.35.3",
    "XA": "1.2.643.2.2.36.0",
    "XB": "1.2.643.2.2.36.1",
    "TCA": "1.2.643.7.1.2.1.1.1",
    "TCB": "1.2.643.7.1.2.1.1.2",
    "TCC": "1.2.643.7.1.2.1.1.3",
    "TCD": "1.2.643.7.1.2.1.1.4",
}
_CRYPTOPRO_PARAMSETS = {PARAMSETS[n] for n in ("A", "B", "C", "XA", "XB")}

#: Streebog-256 vectors of gis-protocol.md §7 (GOST R 34.11-2012 App. A, RFC 6986), checked at backend start.
STREEBOG_VECTORS: tuple[tuple[bytes, str], ...] = (
    (b"", "3f539a213e97c802cc229d474c6aa32a825a360b2a933a949fd925208d9ce1bb"),
    (b"0123456789" * 6 + b"012", "9d151eefd8590b89daa6ba6cb74af9275dd051026bb149a452fd84e5e57b5500"),
    (
        "Се ветри, Стрибожи внуци, веютъ с моря стрелами на храбрыя плъкы Игоревы".encode("cp1251"),
        "9dd2fe4e90409e5da87f53976d7405b0c0cac628fc669a741d50063c557e8f50",
    ),
)
GOST94_VECTOR = (b"a", "e74c52dd282183bf37af0079c9f78055715a103f17e3133ceff1aacf2f403011")


class GostCryptoError(GisSignatureError):
    """A GOST key, certificate or signature operation failed."""


class BackendUnavailable(GostCryptoError):
    """The requested crypto backend cannot run on this machine."""


# ----------------------------------------------------------------------------------------------------
# ASN.1 structures. asn1crypto's own key classes reject unknown (GOST) algorithms, so the few structures that
# carry GOST keys are declared here with its generic types; Name, Validity and Extensions are reused as is.


class _AlgorithmIdentifier(core.Sequence):  # type: ignore[misc]
    _fields = [("algorithm", core.ObjectIdentifier), ("parameters", core.Any, {"optional": True})]


class _GostKeyParameters(core.Sequence):  # type: ignore[misc]
    _fields = [
        ("public_key_param_set", core.ObjectIdentifier),
        ("digest_param_set", core.ObjectIdentifier, {"optional": True}),
        ("encryption_param_set", core.ObjectIdentifier, {"optional": True}),
    ]


class _SubjectPublicKeyInfo(core.Sequence):  # type: ignore[misc]
    _fields = [("algorithm", _AlgorithmIdentifier), ("public_key", core.OctetBitString)]


class _TbsCertificate(core.Sequence):  # type: ignore[misc]
    _fields = [
        ("version", x509.Version, {"explicit": 0, "default": "v1"}),
        ("serial_number", core.Integer),
        ("signature", _AlgorithmIdentifier),
        ("issuer", x509.Name),
        ("validity", x509.Validity),
        ("subject", x509.Name),
        ("subject_public_key_info", _SubjectPublicKeyInfo),
        ("issuer_unique_id", core.OctetBitString, {"implicit": 1, "optional": True}),
        ("subject_unique_id", core.OctetBitString, {"implicit": 2, "optional": True}),
        ("extensions", x509.Extensions, {"explicit": 3, "optional": True}),
    ]


class _Certificate(core.Sequence):  # type: ignore[misc]
    _fields = [
        ("tbs_certificate", _TbsCertificate),
        ("signature_algorithm", _AlgorithmIdentifier),
        ("signature_value", core.OctetBitString),
    ]


class _PrivateKeyInfo(core.Sequence):  # type: ignore[misc]
    _fields = [
        ("version", core.Integer),
        ("private_key_algorithm", _AlgorithmIdentifier),
        ("private_key", core.OctetString),
        ("attributes", core.Any, {"implicit": 0, "optional": True}),
    ]


# ----------------------------------------------------------------------------------------------------
# Keys and certificates


def _key_algorithm(paramset_oid: str) -> _AlgorithmIdentifier:
    # The engine writes the Streebog digest OID for CryptoPro curves and omits it for TC26 curves (RFC 9215).
    params = {"public_key_param_set": paramset_oid}
    if paramset_oid in _CRYPTOPRO_PARAMSETS:
        params["digest_param_set"] = OID_STREEBOG256
    return _AlgorithmIdentifier(
        {"algorithm": OID_GOST2012_256, "parameters": _GostKeyParameters(params).untag()}
    )


@dataclass(frozen=True)
class GostPublicKey:
    """A GOST R 34.10-2012/256 public key: affine point and curve OID."""

    x: int
    y: int
    paramset_oid: str

    def point_le(self) -> bytes:
        """Return X_le||Y_le as carried in SPKI (RFC 4491)."""
        return self.x.to_bytes(32, "little") + self.y.to_bytes(32, "little")

    def spki_der(self) -> bytes:
        """Return the DER SubjectPublicKeyInfo the OpenSSL engine writes."""
        inner = core.OctetString(self.point_le()).dump()
        spki = _SubjectPublicKeyInfo(
            {"algorithm": _key_algorithm(self.paramset_oid), "public_key": core.OctetBitString(inner)}
        )
        return bytes(spki.dump())


@dataclass(frozen=True)
class GostPrivateKey:
    """A GOST R 34.10-2012/256 private key (scalar hidden from repr)."""

    scalar: int = field(repr=False)
    paramset_oid: str

    def pkcs8_der(self) -> bytes:
        """Return PKCS#8 DER in the engine's form: a bare 32-byte little-endian scalar."""
        info = _PrivateKeyInfo(
            {
                "version": 0,
                "private_key_algorithm": _key_algorithm(self.paramset_oid),
                "private_key": self.scalar.to_bytes(32, "little"),
            }
        )
        return bytes(info.dump())

    def pkcs8_pem(self) -> bytes:
        """Return PKCS#8 PEM (``BEGIN PRIVATE KEY``)."""
        return bytes(pem.armor("PRIVATE KEY", self.pkcs8_der()))


def _der_from(data: bytes, *, expect: str) -> bytes:
    if pem.detect(data):
        try:
            kind, _headers, der = pem.unarmor(data)
        except ValueError as exc:
            raise GostCryptoError(f"bad PEM: {exc}") from None
        if expect not in kind:
            raise GostCryptoError(f"expected PEM {expect}, got {kind}")
        return bytes(der)
    return data


def _gost_params(alg: _AlgorithmIdentifier) -> str:
    oid = alg["algorithm"].dotted
    if oid != OID_GOST2012_256:
        if oid in (OID_GOST2001, OID_GOST2012_512):
            raise GostCryptoError(f"key algorithm {oid} is not supported (only GOST R 34.10-2012/256)")
        raise GostCryptoError(f"not a GOST key: algorithm {oid}")
    params = _GostKeyParameters.load(alg["parameters"].dump())
    paramset = str(params["public_key_param_set"].dotted)
    if paramset not in PARAMSETS.values():
        raise GostCryptoError(f"unknown GOST paramset {paramset}")
    return paramset


def load_private_key(data: bytes) -> GostPrivateKey:
    """Load an unencrypted PKCS#8 GOST 2012-256 private key (PEM or DER) as written by the gost engine."""
    der = _der_from(data, expect="PRIVATE KEY")
    try:
        info = _PrivateKeyInfo.load(der)
        paramset = _gost_params(info["private_key_algorithm"])
        raw = bytes(info["private_key"].native)
    except (ValueError, TypeError, KeyError) as exc:
        raise GostCryptoError(f"unreadable private key: {type(exc).__name__}") from None
    if len(raw) == 32:  # engine form: bare little-endian scalar
        scalar = int.from_bytes(raw, "little")
    elif raw[:1] == b"\x04":  # OCTET STRING wrapping the little-endian scalar
        scalar = int.from_bytes(core.OctetString.load(raw).native, "little")
    elif raw[:1] == b"\x02":  # INTEGER, big-endian (other tools)
        scalar = int(core.Integer.load(raw).native)
    else:
        raise GostCryptoError("unreadable private key value")
    if scalar <= 0:
        raise GostCryptoError("private key scalar is zero")
    return GostPrivateKey(scalar=scalar, paramset_oid=paramset)


def public_key_from_spki(spki_der: bytes) -> GostPublicKey:
    """Parse a DER SubjectPublicKeyInfo holding a GOST 2012-256 key."""
    spki = _SubjectPublicKeyInfo.load(spki_der)
    paramset = _gost_params(spki["algorithm"])
    point = core.OctetString.load(bytes(spki["public_key"].native)).native
    if len(point) != 64:
        raise GostCryptoError(f"public key point has {len(point)} bytes, expected 64")
    return GostPublicKey(
        x=int.from_bytes(point[:32], "little"), y=int.from_bytes(point[32:], "little"), paramset_oid=paramset
    )


# RFC 4514 §3 short names (the GIS server lower-cases them); anything else is written as a dotted OID.
_RFC4514_NAMES = {
    "2.5.4.3": "cn",
    "2.5.4.7": "l",
    "2.5.4.8": "st",
    "2.5.4.10": "o",
    "2.5.4.11": "ou",
    "2.5.4.6": "c",
    "2.5.4.9": "street",
    "0.9.2342.19200300.100.1.25": "dc",
    "0.9.2342.19200300.100.1.1": "uid",
}
# .NET X500DistinguishedName names used by client M; OU, E, T, G, SN go out as OIDs (gis-protocol.md §5).
_DER_STYLE_NAMES = {"2.5.4.3": "CN", "2.5.4.7": "L", "2.5.4.8": "S", "2.5.4.10": "O", "2.5.4.6": "C",
                    "2.5.4.9": "STREET"}  # fmt: skip


def _escape_rfc4514(value: str) -> str:
    out = []
    for i, ch in enumerate(value):
        if ch in ',+"\\<>;' or (i == 0 and ch in "# ") or (i == len(value) - 1 and ch == " "):
            out.append("\\" + ch)
        else:
            out.append(ch)
    return "".join(out)


def format_dn(rdns: tuple[tuple[tuple[str, str], ...], ...], style: IssuerStyle = "server") -> str:
    """Format a DN (RDNs in DER order, each a tuple of (oid, value)) as X509IssuerName."""
    if style == "server":
        # RFC 4514: last RDN first, "," without space, lower-case short names, OIDs for the rest.
        parts = [
            "+".join(f"{_RFC4514_NAMES.get(oid, oid)}={_escape_rfc4514(val)}" for oid, val in rdn)
            for rdn in reversed(rdns)
        ]
        return ",".join(parts)
    if style == "der":
        parts = [
            "+".join(
                f"{_DER_STYLE_NAMES.get(oid, oid)}={val.replace(',', chr(92) + ',')}" for oid, val in rdn
            )
            for rdn in rdns
        ]
        return ", ".join(parts)
    raise ValueError(f"unknown issuer style {style!r}")


def _name_rdns(name: x509.Name) -> tuple[tuple[tuple[str, str], ...], ...]:
    rdns = []
    for rdn in name.chosen:
        atvs = []
        for atv in rdn:
            value = atv["value"].native
            atvs.append((str(atv["type"].dotted), value if isinstance(value, str) else str(value)))
        rdns.append(tuple(atvs))
    return tuple(rdns)


@dataclass(frozen=True)
class CertificateInfo:
    """What XMLDSig needs from an X.509 certificate."""

    der: bytes = field(repr=False)
    serial: int
    issuer_rdns: tuple[tuple[tuple[str, str], ...], ...]
    subject_rdns: tuple[tuple[tuple[str, str], ...], ...]
    not_before: datetime
    not_after: datetime
    public_key: GostPublicKey
    tbs_der: bytes = field(repr=False)
    signature_algorithm: str
    signature: bytes = field(repr=False)

    def issuer_name(self, style: IssuerStyle = "server") -> str:
        """Return the issuer DN formatted for X509IssuerName."""
        return format_dn(self.issuer_rdns, style)

    def subject_name(self, style: IssuerStyle = "server") -> str:
        """Return the subject DN formatted like the issuer."""
        return format_dn(self.subject_rdns, style)

    @property
    def paramset(self) -> str:
        """Return the OpenSSL paramset letter of the certificate key."""
        return paramset_name(self.public_key.paramset_oid)

    def pem(self) -> bytes:
        """Return the certificate as PEM."""
        return bytes(pem.armor("CERTIFICATE", self.der))


def paramset_name(oid: str) -> str:
    """Return the first OpenSSL paramset letter naming a curve OID."""
    for name, value in PARAMSETS.items():
        if value == oid:
            return name
    raise GostCryptoError(f"unknown paramset {oid}")


def load_certificate(data: bytes) -> CertificateInfo:
    """Parse an X.509 certificate (PEM or DER) with a GOST 2012-256 public key."""
    return _certificate_from_der(_der_from(data, expect="CERTIFICATE"))


# Every GIS answer carries the same few certificates; parsing one with asn1crypto costs more than the
# signature check itself, so the parsed (immutable) CertificateInfo is kept per DER. Refusals are not cached.
@functools.lru_cache(maxsize=64)
def _certificate_from_der(der: bytes) -> CertificateInfo:
    try:
        cert = _Certificate.load(der)
        tbs = cert["tbs_certificate"]
        validity = tbs["validity"]
        info = CertificateInfo(
            der=der,
            serial=int(tbs["serial_number"].native),
            issuer_rdns=_name_rdns(tbs["issuer"]),
            subject_rdns=_name_rdns(tbs["subject"]),
            not_before=validity["not_before"].native,
            not_after=validity["not_after"].native,
            public_key=public_key_from_spki(tbs["subject_public_key_info"].dump()),
            tbs_der=bytes(tbs.dump()),
            signature_algorithm=str(cert["signature_algorithm"]["algorithm"].dotted),
            signature=bytes(cert["signature_value"].native),
        )
        # Re-encoding must give the received bytes, or the certificate is not DER (and the digest would lie).
        if len(bytes(cert.dump())) != len(der):
            raise GostCryptoError("trailing data after certificate")
    except GostCryptoError:
        raise
    except (ValueError, TypeError, KeyError) as exc:
        raise GostCryptoError(f"unreadable certificate: {exc}") from None
    return info


# ----------------------------------------------------------------------------------------------------
# Backends


class GostBackend(Protocol):
    """GOST primitives; every byte order follows gis-protocol.md §6 (OpenSSL = CryptoPro = RFC 4491)."""

    name: str

    def streebog256(self, data: bytes) -> bytes:
        """Return Streebog-256 of data in library (RFC 6986) byte order."""

    def gost94_cryptopro(self, data: bytes) -> bytes:
        """Return GOST R 34.11-94 (CryptoPro paramset) in OpenSSL byte order."""

    def sign_digest(self, private_key: GostPrivateKey, digest: bytes) -> bytes:
        """Sign a Streebog-256 digest as hashed; return 64 bytes s||r."""

    def verify_digest(self, public_key: GostPublicKey, digest: bytes, signature: bytes) -> bool:
        """Check a 64-byte s||r signature over a digest as hashed."""

    def public_key(self, private_key: GostPrivateKey) -> GostPublicKey:
        """Derive the public key of a private key."""
