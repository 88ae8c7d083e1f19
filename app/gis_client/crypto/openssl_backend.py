"""Fast GOST backend: OpenSSL 3 gost provider through hashlib, gost engine through ctypes.

Why ctypes: no maintained Python binding exposes GOST keys (``cryptography`` and ``pyOpenSSL`` refuse them),
and an ``openssl`` subprocess costs about 9 ms per signature against 0.1 ms here. The layer is kept to the
EVP_PKEY calls that ``openssl pkeyutl`` makes; every object allocated here is freed here. It loads the very
libcrypto that Python's hashlib already uses (same soname, checked by version), so the engine registered by
OPENSSL_CONF is visible to it.
"""

from __future__ import annotations

import ctypes
import hashlib
import ssl
import threading
from collections import OrderedDict
from typing import Any

from app.gis_client.crypto.keys import (
    GOST94_VECTOR,
    BackendUnavailable,
    GostCryptoError,
    GostPrivateKey,
    GostPublicKey,
    public_key_from_spki,
)
from app.gis_client.crypto.openssl_setup import find_gost_libraries

_ENGINE_METHOD_ALL = 0xFFFF
# GOST R 34.11-94 of the empty message (RFC 5831 §7.3.2). The engine's md_gost94 returns another value for
# empty input only; use the standard's so both backends agree (AttachmentHASH of an empty file).
_GOST94_EMPTY = bytes.fromhex("981e5f3ca30c841487830f84fb433e13ac1101569b9c13584ac483234cd656c0")

_vp = ctypes.c_void_p


def _load_libcrypto() -> ctypes.CDLL:
    try:
        lib = ctypes.CDLL("libcrypto.so.3")
    except OSError as exc:
        raise BackendUnavailable(f"libcrypto.so.3 not loadable: {exc}") from None
    lib.OpenSSL_version.restype = ctypes.c_char_p
    lib.OpenSSL_version.argtypes = [ctypes.c_int]
    version = lib.OpenSSL_version(0).decode()
    if version != ssl.OPENSSL_VERSION:
        # A different libcrypto than hashlib's would not see the provider/engine activated for hashlib.
        raise BackendUnavailable(f"ctypes found {version}, Python uses {ssl.OPENSSL_VERSION}")
    sigs: dict[str, tuple[Any, list[Any]]] = {
        "d2i_AutoPrivateKey": (_vp, [_vp, ctypes.POINTER(ctypes.c_char_p), ctypes.c_long]),
        "d2i_PUBKEY": (_vp, [_vp, ctypes.POINTER(ctypes.c_char_p), ctypes.c_long]),
        "i2d_PUBKEY": (ctypes.c_int, [_vp, ctypes.POINTER(ctypes.c_char_p)]),
        "EVP_PKEY_free": (None, [_vp]),
        "EVP_PKEY_CTX_new": (_vp, [_vp, _vp]),
        "EVP_PKEY_CTX_free": (None, [_vp]),
        "EVP_PKEY_sign_init": (ctypes.c_int, [_vp]),
        "EVP_PKEY_sign": (
            ctypes.c_int,
            [_vp, ctypes.c_char_p, ctypes.POINTER(ctypes.c_size_t), ctypes.c_char_p, ctypes.c_size_t],
        ),
        "EVP_PKEY_verify_init": (ctypes.c_int, [_vp]),
        "EVP_PKEY_verify": (
            ctypes.c_int,
            [_vp, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_size_t],
        ),
        "ERR_get_error": (ctypes.c_ulong, []),
        "ERR_error_string_n": (None, [ctypes.c_ulong, ctypes.c_char_p, ctypes.c_size_t]),
        "ERR_clear_error": (None, []),
        "OSSL_PROVIDER_load": (_vp, [_vp, ctypes.c_char_p]),
        "ENGINE_by_id": (_vp, [ctypes.c_char_p]),
        "ENGINE_init": (ctypes.c_int, [_vp]),
        "ENGINE_set_default": (ctypes.c_int, [_vp, ctypes.c_uint]),
        "ENGINE_free": (ctypes.c_int, [_vp]),
        "CRYPTO_free": (None, [_vp, ctypes.c_char_p, ctypes.c_int]),
    }
    for fname, (restype, argtypes) in sigs.items():
        fn = getattr(lib, fname)
        fn.restype = restype
        fn.argtypes = argtypes
    return lib


def _has_gost_digest() -> bool:
    try:
        hashlib.new("md_gost12_256")
    except ValueError:
        return False
    return True


class _PkeyCache:
    """Small LRU of EVP_PKEY handles keyed by DER; the lock also guards their use (no free while in use)."""

    def __init__(self, lib: ctypes.CDLL, loader: str, size: int = 32) -> None:
        self._lib = lib
        self._loader = getattr(lib, loader)
        self._size = size
        self._items: OrderedDict[bytes, int] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, der: bytes) -> int:
        """Return the EVP_PKEY for der (call with the lock held)."""
        handle = self._items.get(der)
        if handle is not None:
            self._items.move_to_end(der)
            return handle
        buf = ctypes.c_char_p(der)
        handle = self._loader(None, ctypes.byref(buf), len(der))
        if not handle:
            raise GostCryptoError(f"OpenSSL cannot load the GOST key: {_last_error(self._lib)}")
        self._items[der] = handle
        while len(self._items) > self._size:
            _, old = self._items.popitem(last=False)
            self._lib.EVP_PKEY_free(old)
        return int(handle)

    def clear(self) -> None:
        """Free every cached handle."""
        with self.lock:
            while self._items:
                _, handle = self._items.popitem()
                self._lib.EVP_PKEY_free(handle)


def _last_error(lib: ctypes.CDLL) -> str:
    code = lib.ERR_get_error()
    lib.ERR_clear_error()
    if not code:
        return "unknown error"
    buf = ctypes.create_string_buffer(256)
    lib.ERR_error_string_n(code, buf, len(buf))
    return buf.value.decode(errors="replace")


_tls_lock = threading.Lock()
_tls_enabled = False


def enable_gost_tls() -> None:
    """Make the gost engine the default for every algorithm in Python's libcrypto (ssl's GOST suites).

    OPENSSL_CONF set before OpenSSL initialises does this already (the packaged cnf has
    ``default_algorithms = ALL``); when something initialised OpenSSL first, the engine is loaded here by
    hand, the same calls `openssl -engine gost` makes (gis-protocol.md §16). Idempotent.
    """
    global _tls_enabled
    with _tls_lock:
        if _tls_enabled:
            return
        _, engine = find_gost_libraries()
        if engine is None:
            raise BackendUnavailable("gost engine not installed (Debian: libengine-gost-openssl)")
        lib = _load_libcrypto()
        eng = lib.ENGINE_by_id(b"gost")
        if not eng:
            raise BackendUnavailable(f"cannot load gost engine: {_last_error(lib)}")
        ok = lib.ENGINE_init(eng) and lib.ENGINE_set_default(eng, _ENGINE_METHOD_ALL)
        lib.ENGINE_free(eng)
        if not ok:
            raise BackendUnavailable(f"cannot initialise gost engine: {_last_error(lib)}")
        _tls_enabled = True


class OpenSSLBackend:
    """GOST backend on OpenSSL 3: provider for digests, engine for GOST R 34.10-2012 signatures."""

    name = "openssl"

    def __init__(self) -> None:
        self._lib = _load_libcrypto()
        if not _has_gost_digest():
            self._activate_late()
        if not _has_gost_digest():
            raise BackendUnavailable("OpenSSL gost provider not active (configure_openssl() ran too late?)")
        if self.gost94_cryptopro(GOST94_VECTOR[0]).hex() != GOST94_VECTOR[1]:
            raise BackendUnavailable("md_gost94 self-test failed")
        self._private = _PkeyCache(self._lib, "d2i_AutoPrivateKey")
        self._public = _PkeyCache(self._lib, "d2i_PUBKEY")

    def _activate_late(self) -> None:
        # OpenSSL already read its config (something imported hashlib/ssl before configure_openssl()): load
        # the provider and engine into the default library context by hand; both stay loaded for the process.
        provider, engine = find_gost_libraries()
        if provider is None or engine is None:
            raise BackendUnavailable("gost provider/engine not installed (Debian: libengine-gost-openssl)")
        lib = self._lib
        if not lib.OSSL_PROVIDER_load(None, b"default") or not lib.OSSL_PROVIDER_load(
            None, provider.encode()
        ):
            raise BackendUnavailable(f"cannot load gost provider: {_last_error(lib)}")
        eng = lib.ENGINE_by_id(b"gost")
        if not eng:
            raise BackendUnavailable(f"cannot load gost engine: {_last_error(lib)}")
        ok = lib.ENGINE_init(eng) and lib.ENGINE_set_default(eng, _ENGINE_METHOD_ALL)
        lib.ENGINE_free(eng)  # drops the structural reference; ENGINE_init holds a functional one
        if not ok:
            raise BackendUnavailable(f"cannot initialise gost engine: {_last_error(lib)}")

    def streebog256(self, data: bytes) -> bytes:
        """Return Streebog-256 of data."""
        return hashlib.new("md_gost12_256", data).digest()

    def gost94_cryptopro(self, data: bytes) -> bytes:
        """Return GOST R 34.11-94 (CryptoPro) of data in OpenSSL byte order."""
        if not data:
            return _GOST94_EMPTY
        return hashlib.new("md_gost94", data).digest()

    def sign_digest(self, private_key: GostPrivateKey, digest: bytes) -> bytes:
        """Sign a 32-byte digest as hashed (the engine reads it little-endian); return s||r."""
        if len(digest) != 32:
            raise GostCryptoError("digest must be 32 bytes")
        lib = self._lib
        with self._private.lock:
            pkey = self._private.get(private_key.pkcs8_der())
            ctx = lib.EVP_PKEY_CTX_new(pkey, None)
            if not ctx:
                raise GostCryptoError(f"EVP_PKEY_CTX_new: {_last_error(lib)}")
            try:
                sig = ctypes.create_string_buffer(64)
                size = ctypes.c_size_t(64)
                if (
                    lib.EVP_PKEY_sign_init(ctx) != 1
                    or lib.EVP_PKEY_sign(ctx, sig, ctypes.byref(size), digest, 32) != 1
                ):
                    raise GostCryptoError(f"GOST signing failed: {_last_error(lib)}")
            finally:
                lib.EVP_PKEY_CTX_free(ctx)
        if size.value != 64:
            raise GostCryptoError(f"unexpected signature length {size.value}")
        return sig.raw

    def verify_digest(self, public_key: GostPublicKey, digest: bytes, signature: bytes) -> bool:
        """Check an s||r signature over a digest as hashed."""
        if len(digest) != 32 or len(signature) != 64:
            return False
        lib = self._lib
        with self._public.lock:
            pkey = self._public.get(public_key.spki_der())
            ctx = lib.EVP_PKEY_CTX_new(pkey, None)
            if not ctx:
                raise GostCryptoError(f"EVP_PKEY_CTX_new: {_last_error(lib)}")
            try:
                if lib.EVP_PKEY_verify_init(ctx) != 1:
                    raise GostCryptoError(f"GOST verify init failed: {_last_error(lib)}")
                ok = bool(lib.EVP_PKEY_verify(ctx, signature, 64, digest, 32) == 1)
            finally:
                lib.EVP_PKEY_CTX_free(ctx)
                lib.ERR_clear_error()  # a failed verification leaves an error on the thread's queue
        return ok

    def public_key(self, private_key: GostPrivateKey) -> GostPublicKey:
        """Derive the public key with the engine."""
        lib = self._lib
        with self._private.lock:
            pkey = self._private.get(private_key.pkcs8_der())
            out = ctypes.c_char_p(None)
            # With *pp == NULL, i2d allocates the buffer; it must be released with OPENSSL_free (CRYPTO_free).
            size = lib.i2d_PUBKEY(pkey, ctypes.byref(out))
            if size <= 0 or not out:
                raise GostCryptoError(f"cannot export public key: {_last_error(lib)}")
            try:
                der = ctypes.string_at(out, size)
            finally:
                lib.CRYPTO_free(ctypes.cast(out, _vp), b"openssl_backend.py", 0)
        return public_key_from_spki(der)

    def close(self) -> None:
        """Free cached key handles."""
        self._private.clear()
        self._public.clear()
