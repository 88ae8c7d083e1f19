"""Signer port: who holds the GOST key. XMLDSig code asks it for s||r over a Streebog-256 digest.

`LocalKeySigner` holds a PKCS#8 key in process memory; `RemoteSigner` asks an HTTP signing service (an HSM
front, a CryptoPro box) so the key never enters the gateway. Remote contract (docs/remote-signer.md):

``POST {url}`` with ``Content-Type: application/json`` and optional ``Authorization: Bearer {token}``::

    {"algorithm": "gostr34102012-256",
     "digest": "<base64 Streebog-256 of canonical SignedInfo>",
     "digest_byte_order": "as-hashed"}

→ ``200 {"signature": "<base64 64 bytes s||r>"}``. Errors: ``application/problem+json`` (RFC 9457) with
``type``, ``title``, ``status``, ``detail``. "as-hashed" means the 32 bytes exactly as the hash function
outputs them (the signer reads them little-endian per RFC 4491/CryptoPro, like ``openssl pkeyutl``).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from typing import Protocol

import httpx

from app.gis_client.crypto.keys import (
    CertificateInfo,
    GostBackend,
    GostCryptoError,
    load_certificate,
    load_private_key,
)

ALGORITHM = "gostr34102012-256"
DIGEST_BYTE_ORDER = "as-hashed"


class Signer(Protocol):
    """Produces GOST R 34.10-2012/256 signatures for one certificate."""

    @property
    def certificate(self) -> CertificateInfo:
        """Return the signing certificate."""

    async def sign_digest(self, digest: bytes) -> bytes:
        """Sign a 32-byte Streebog-256 digest as hashed; return 64 bytes s||r."""


class LocalKeySigner:
    """Sign with a key held in memory, through a crypto backend."""

    def __init__(self, key_pem: bytes, cert_pem: bytes, backend: GostBackend) -> None:
        self._key = load_private_key(key_pem)
        self._cert = load_certificate(cert_pem)
        self._backend = backend
        if backend.public_key(self._key) != self._cert.public_key:
            raise GostCryptoError("private key does not match the certificate")

    @property
    def certificate(self) -> CertificateInfo:
        """Return the signing certificate."""
        return self._cert

    @property
    def backend(self) -> GostBackend:
        """Return the crypto backend in use."""
        return self._backend

    def sign_digest_sync(self, digest: bytes) -> bytes:
        """Sign a digest in the calling thread."""
        return self._backend.sign_digest(self._key, digest)

    async def sign_digest(self, digest: bytes) -> bytes:
        """Sign a digest; the slow pure-Python backend runs in a worker thread."""
        if self._backend.name == "openssl":  # ~0.1 ms: a thread hop would cost more than it saves
            return self.sign_digest_sync(digest)
        return await asyncio.to_thread(self.sign_digest_sync, digest)


class RemoteSignerError(GostCryptoError):
    """The remote signing service refused or failed."""


class RemoteSigner:
    """Sign through the HTTP contract above; the gateway never sees the key."""

    def __init__(
        self, url: str, certificate_pem: bytes, http_client: httpx.AsyncClient, token: str | None = None
    ) -> None:
        self._url = url
        self._cert = load_certificate(certificate_pem)
        self._client = http_client
        self._token = token

    @property
    def certificate(self) -> CertificateInfo:
        """Return the signing certificate."""
        return self._cert

    async def sign_digest(self, digest: bytes) -> bytes:
        """Ask the remote service to sign a digest; return s||r."""
        if len(digest) != 32:
            raise GostCryptoError("digest must be 32 bytes")
        headers = {"Authorization": f"Bearer {self._token}"} if self._token else {}
        body = {
            "algorithm": ALGORITHM,
            "digest": base64.b64encode(digest).decode(),
            "digest_byte_order": DIGEST_BYTE_ORDER,
        }
        try:
            response = await self._client.post(self._url, json=body, headers=headers)
        except httpx.HTTPError as exc:
            raise RemoteSignerError(f"signing service unreachable: {type(exc).__name__}") from None
        if response.status_code != 200:
            detail = response.text[:300]
            if response.headers.get("content-type", "").startswith("application/problem+json"):
                problem = response.json()
                detail = str(problem.get("detail") or problem.get("title"))
            raise RemoteSignerError(f"signing service answered {response.status_code}: {detail}")
        try:
            signature = base64.b64decode(response.json()["signature"], validate=True)
        except (ValueError, KeyError, TypeError, binascii.Error):
            raise RemoteSignerError("signing service returned no usable signature") from None
        if len(signature) != 64:
            raise RemoteSignerError(f"signing service returned {len(signature)} bytes, expected 64")
        return signature
