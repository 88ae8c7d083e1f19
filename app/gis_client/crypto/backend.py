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

import functools
import ipaddress
import logging
import os
import secrets
import shutil
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
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
    der = _der_from(data, expect="CERTIFICATE")
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


def attachment_hash(data: bytes, backend: GostBackend | None = None) -> str:
    """Return AttachmentHASH: GOST R 34.11-94 (CryptoPro paramset), lower-case hex, OpenSSL byte order."""
    return (backend or get_backend("auto")).gost94_cryptopro(data).hex()


def self_test(backend: GostBackend) -> None:
    """Check the §7 Streebog vectors; raise BackendUnavailable if the backend computes something else."""
    for data, expected in STREEBOG_VECTORS:
        if backend.streebog256(data).hex() != expected:
            raise BackendUnavailable(f"{backend.name}: Streebog-256 self-test failed")


_OPENSSL_CNF = Path(__file__).with_name("openssl-gost.cnf")
_ENGINE_DIRS = ("/usr/lib/x86_64-linux-gnu/engines-3", "/usr/lib/aarch64-linux-gnu/engines-3",
                "/usr/lib64/engines-3", "/usr/lib/engines-3")  # fmt: skip
_MODULE_DIRS = ("/usr/lib/x86_64-linux-gnu/ossl-modules", "/usr/lib/aarch64-linux-gnu/ossl-modules",
                "/usr/lib64/ossl-modules", "/usr/lib/ossl-modules")  # fmt: skip


def _openssl_dirs() -> tuple[list[str], list[str]]:
    engines, modules = list(_ENGINE_DIRS), list(_MODULE_DIRS)
    exe = shutil.which("openssl")
    if exe:
        try:
            out = subprocess.run(
                [exe, "version", "-e", "-m"], capture_output=True, text=True, timeout=5, check=False
            ).stdout
        except (OSError, subprocess.SubprocessError):
            out = ""
        for line in out.splitlines():
            key, _, value = line.partition(":")
            value = value.strip().strip('"')
            if key.strip() == "ENGINESDIR":
                engines.insert(0, value)
            elif key.strip() == "MODULESDIR":
                modules.insert(0, value)
    return engines, modules


@functools.lru_cache(maxsize=1)
def find_gost_libraries() -> tuple[str | None, str | None]:
    """Return paths of the gost provider (gostprov.so) and engine (gost.so), or None where missing."""
    engines, modules = _openssl_dirs()
    provider = next((str(Path(d, "gostprov.so")) for d in modules if Path(d, "gostprov.so").is_file()), None)
    engine = next((str(Path(d, "gost.so")) for d in engines if Path(d, "gost.so").is_file()), None)
    return provider, engine


def configure_openssl(*, force: bool = False) -> bool:
    """Point OPENSSL_CONF at the packaged gost config; call before anything initialises OpenSSL."""
    # OpenSSL reads its config once, at the first use of libcrypto (hashlib/ssl import is enough), so this
    # must run at the very top of entry points. The packaged cnf takes the .so paths from environment
    # variables (OpenSSL's $ENV:: syntax) because they differ between distributions.
    if os.environ.get("OPENSSL_CONF") and not force:
        return os.environ["OPENSSL_CONF"] == str(_OPENSSL_CNF)
    provider, engine = find_gost_libraries()
    if provider is None or engine is None:
        log.info("OpenSSL gost provider/engine not found; the python crypto backend will be used")
        return False
    os.environ["GISGW_OPENSSL_GOSTPROV"] = provider
    os.environ["GISGW_OPENSSL_GOSTENGINE"] = engine
    os.environ["OPENSSL_CONF"] = str(_OPENSSL_CNF)
    return True


_BACKENDS: dict[str, GostBackend] = {}


def get_backend(name: BackendName | str = "auto") -> GostBackend:
    """Return a self-tested backend: "openssl", "python", or "auto" (OpenSSL if it works, else Python)."""
    if name in _BACKENDS:
        return _BACKENDS[name]
    backend: GostBackend
    if name == "openssl":
        from app.gis_client.crypto.openssl_backend import OpenSSLBackend

        backend = OpenSSLBackend()
    elif name == "python":
        from app.gis_client.crypto.python_backend import PythonBackend

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
    from app.gis_client.crypto.python_backend import curve_for

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
