"""GOST R 34.11-94 hash with the CryptoPro parameter set, in pure Python.

Hand-written because no maintained Python library implements GOST R 34.11-94: PyPI ``gostcrypto`` has only
Streebog, ``pygost`` on PyPI is a placeholder. It serves the pure-Python backend only (AttachmentHASH, §12 of
gis-protocol.md, and GOST-94 SignedProperties digests of old clients); the OpenSSL backend uses ``md_gost94``.
It is slow (about 3 ms per kilobyte), so large files should go through OpenSSL.
"""

from __future__ import annotations

# S-boxes of id-GostR3411-94-CryptoProParamSet (RFC 4357 §11.2); row i substitutes nibble i (0 = lowest).
_SBOX: tuple[tuple[int, ...], ...] = (
    (10, 4, 5, 6, 8, 1, 3, 7, 13, 12, 14, 0, 9, 2, 11, 15),
    (5, 15, 4, 0, 2, 13, 11, 9, 1, 7, 6, 3, 12, 14, 10, 8),
    (7, 15, 12, 14, 9, 4, 1, 0, 3, 11, 5, 2, 6, 10, 8, 13),
    (4, 10, 7, 12, 0, 15, 2, 8, 14, 1, 6, 5, 13, 11, 9, 3),
    (7, 6, 4, 11, 9, 12, 2, 10, 1, 8, 0, 14, 15, 13, 3, 5),
    (7, 6, 2, 4, 13, 9, 15, 0, 10, 1, 5, 11, 8, 14, 12, 3),
    (13, 14, 4, 1, 7, 0, 5, 10, 3, 12, 8, 15, 6, 2, 9, 11),
    (1, 3, 10, 9, 5, 11, 4, 15, 8, 6, 7, 14, 13, 0, 2, 12),
)

# Byte-wide tables: substitute two nibbles at once, shifted to the byte's position in the 32-bit word.
_SBOX8: tuple[tuple[int, ...], ...] = tuple(
    tuple((_SBOX[2 * i][b & 15] | (_SBOX[2 * i + 1][b >> 4] << 4)) << (8 * i) for b in range(256))
    for i in range(4)
)

_M32 = 0xFFFFFFFF
_M256 = (1 << 256) - 1
# Constant C3 of the key schedule (GOST R 34.11-94 §7.1); C2 = C4 = 0.
_C3 = 0xFF00FFFF000000FFFF0000FF00FFFF0000FF00FF00FF00FFFF00FF00FF00FF00
# Byte permutation P: output byte i + 4k (0-based) takes input byte 8i + k (φ of the standard).
_P_ORDER = tuple(8 * i + k for k in range(8) for i in range(4))


def _round(n: int, key: int) -> int:
    t = (n + key) & _M32
    t = _SBOX8[0][t & 255] | _SBOX8[1][(t >> 8) & 255] | _SBOX8[2][(t >> 16) & 255] | _SBOX8[3][t >> 24]
    return ((t << 11) | (t >> 21)) & _M32


def _encrypt(key: int, block: int) -> int:
    """Encrypt one 64-bit block with GOST 28147-89 (simple substitution mode)."""
    k = [(key >> (32 * i)) & _M32 for i in range(8)]
    n1, n2 = block & _M32, block >> 32
    for sub in k + k + k + k[::-1]:
        n1, n2 = n2 ^ _round(n1, sub), n1
    # The last round of GOST 28147-89 does not swap the halves: undo the swap done above.
    return (n1 << 32) | n2


def _a(y: int) -> int:
    y1 = y & 0xFFFFFFFFFFFFFFFF
    y2 = (y >> 64) & 0xFFFFFFFFFFFFFFFF
    return (y >> 64) | ((y1 ^ y2) << 192)


def _p(y: int) -> int:
    b = y.to_bytes(32, "little")
    return int.from_bytes(bytes(b[j] for j in _P_ORDER), "little")


def _psi(y: int, times: int = 1) -> int:
    for _ in range(times):
        w = y
        x = (w ^ (w >> 16) ^ (w >> 32) ^ (w >> 48) ^ (w >> 192) ^ (w >> 240)) & 0xFFFF
        y = (y >> 16) | (x << 240)
    return y


def _step(h: int, m: int) -> int:
    u, v = h, m
    keys = [_p(u ^ v)]
    for c in (0, _C3, 0):
        u = _a(u) ^ c
        v = _a(_a(v))
        keys.append(_p(u ^ v))
    s = 0
    for i, key in enumerate(keys):
        s |= _encrypt(key, (h >> (64 * i)) & 0xFFFFFFFFFFFFFFFF) << (64 * i)
    return _psi(h ^ _psi(m ^ _psi(s, 12)), 61)


def gost94_cryptopro(data: bytes) -> bytes:
    """Return GOST R 34.11-94 (CryptoPro paramset, zero IV) of data in OpenSSL byte order."""
    h = 0
    total = 0
    length = 0
    view = memoryview(data)
    for off in range(0, len(data), 32):
        chunk = bytes(view[off : off + 32])
        # The final partial block is zero-padded; its real bit length goes into L.
        m = int.from_bytes(chunk.ljust(32, b"\0"), "little")
        h = _step(h, m)
        total = (total + m) & _M256
        length += 8 * len(chunk)
    h = _step(h, length & _M256)
    h = _step(h, total)
    return h.to_bytes(32, "little")
