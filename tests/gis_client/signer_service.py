"""Reference implementation of the remote-signer HTTP contract (docs/remote-signer.md), for tests."""

from __future__ import annotations

import base64
import binascii
import hmac

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from app.gis_client.crypto.signer import ALGORITHM, DIGEST_BYTE_ORDER, LocalKeySigner


class SignRequest(BaseModel):
    """Body of POST /sign."""

    algorithm: str
    digest: str
    digest_byte_order: str = DIGEST_BYTE_ORDER


class SignResponse(BaseModel):
    """Answer of POST /sign."""

    signature: str


def _problem(status: int, title: str, detail: str) -> JSONResponse:
    return JSONResponse(
        {"type": "about:blank", "title": title, "status": status, "detail": detail},
        status_code=status,
        media_type="application/problem+json",
    )


def create_signer_app(signer: LocalKeySigner, *, token: str | None = None) -> FastAPI:
    """Build a FastAPI app exposing POST /sign for one local key."""
    app = FastAPI(title="gisgw reference GOST signer")

    @app.post("/sign", response_model=SignResponse, status_code=200, operation_id="signer-sign")
    async def sign(body: SignRequest, request: Request) -> JSONResponse | SignResponse:
        """Sign a Streebog-256 digest with the service key."""
        if token is not None:
            given = request.headers.get("authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
                return _problem(401, "Unauthorized", "missing or wrong bearer token")
        if body.algorithm != ALGORITHM:
            return _problem(400, "Unsupported algorithm", f"only {ALGORITHM} is supported")
        if body.digest_byte_order != DIGEST_BYTE_ORDER:
            return _problem(400, "Unsupported byte order", f"only {DIGEST_BYTE_ORDER!r} is supported")
        try:
            digest = base64.b64decode(body.digest, validate=True)
        except (ValueError, binascii.Error):
            return _problem(400, "Bad digest", "digest is not base64")
        if len(digest) != 32:
            return _problem(400, "Bad digest", "digest must be 32 bytes")
        signature = await signer.sign_digest(digest)
        return SignResponse(signature=base64.b64encode(signature).decode())

    return app
