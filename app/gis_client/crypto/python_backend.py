"""Pure-Python GOST backend on PyPI ``gostcrypto`` 1.2.5, with the byte-order fixes of gis-protocol.md §6.

gostcrypto is mathematically right but uses other conventions than OpenSSL/CryptoPro/xmlsec:
it reads the digest big-endian (we pass it reversed), returns and expects r||s (we swap halves), works with
big-endian keys and points (we convert), and names curves shifted against OpenSSL letters (see `_CURVES`).
GOST R 34.11-94 comes from `gost94` (gostcrypto has none). Slow: ~40 ms per signature.
"""

from __future__ import annotations

from typing import Any

from gostcrypto import gosthash, gostsignature

from app.gis_client.crypto.gost94 import gost94_cryptopro as _gost94
from app.gis_client.crypto.keys import PARAMSETS, GostCryptoError, GostPrivateKey, GostPublicKey

_TC26 = "id-tc26-gost-3410-2012-256-paramSet"
# OpenSSL paramset → gostcrypto curve name: CryptoPro A/XA are TC26 B, B is C, C/XB are D; TCA..TCD map 1:1.
_CURVES: dict[str, str] = {
    PARAMSETS["A"]: _TC26 + "B",
    PARAMSETS["XA"]: _TC26 + "B",
    PARAMSETS["B"]: _TC26 + "C",
    PARAMSETS["C"]: _TC26 + "D",
    PARAMSETS["XB"]: _TC26 + "D",
    PARAMSETS["TCA"]: _TC26 + "A",
    PARAMSETS["TCB"]: _TC26 + "B",
    PARAMSETS["TCC"]: _TC26 + "C",
    PARAMSETS["TCD"]: _TC26 + "D",
}


class _Curve:
    def __init__(self, params: dict[str, Any]) -> None:
        self.params = params
        self.q = (
            int.from_bytes(params["q"], "big") if isinstance(params["q"], bytes | bytearray) else params["q"]
        )


def curve_for(paramset_oid: str) -> _Curve:
    """Return gostcrypto's curve parameters for a paramset OID."""
    name = _CURVES.get(paramset_oid)
    if name is None:
        raise GostCryptoError(f"unsupported paramset {paramset_oid}")
    return _Curve(gostsignature.CURVES_R_1323565_1_024_2019[name])


def _signer(paramset_oid: str) -> Any:
    return gostsignature.new(gostsignature.MODE_256, curve_for(paramset_oid).params)


class PythonBackend:
    """GOST backend in pure Python (gostcrypto); thread-safe, slow."""

    name = "python"

    def streebog256(self, data: bytes) -> bytes:
        """Return Streebog-256 of data."""
        return bytes(gosthash.new("streebog256", data=bytearray(data)).digest())

    def gost94_cryptopro(self, data: bytes) -> bytes:
        """Return GOST R 34.11-94 (CryptoPro) of data in OpenSSL byte order."""
        return _gost94(data)

    def sign_digest(self, private_key: GostPrivateKey, digest: bytes) -> bytes:
        """Sign a digest as hashed; return s||r."""
        if len(digest) != 32:
            raise GostCryptoError("digest must be 32 bytes")
        key = bytearray(private_key.scalar.to_bytes(32, "big"))
        rs = bytes(_signer(private_key.paramset_oid).sign(key, bytearray(digest[::-1])))
        return rs[32:] + rs[:32]

    def verify_digest(self, public_key: GostPublicKey, digest: bytes, signature: bytes) -> bool:
        """Check an s||r signature over a digest as hashed."""
        if len(digest) != 32 or len(signature) != 64:
            return False
        point = bytearray(public_key.x.to_bytes(32, "big") + public_key.y.to_bytes(32, "big"))
        rs = bytearray(signature[32:] + signature[:32])
        try:
            return bool(_signer(public_key.paramset_oid).verify(point, bytearray(digest[::-1]), rs))
        except (ValueError, TypeError, gostsignature.GOSTSignatureError):
            return False

    def public_key(self, private_key: GostPrivateKey) -> GostPublicKey:
        """Derive the public key (gostcrypto returns X_be||Y_be)."""
        key = bytearray(private_key.scalar.to_bytes(32, "big"))
        point = bytes(_signer(private_key.paramset_oid).public_key_generate(key))
        return GostPublicKey(
            x=int.from_bytes(point[:32], "big"),
            y=int.from_bytes(point[32:], "big"),
            paramset_oid=private_key.paramset_oid,
        )
