"""The port through which domain code reaches GIS ZhKKh (app.gis_client.client.GisClient implements it)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models.exchange import Exchange
from app.gis_client.exchange import Outcome


class GisPort(Protocol):
    """What the domain needs from GIS: durable exchanges, one-shot runs, file uploads and hashes."""

    async def submit(
        self,
        session: AsyncSession,
        *,
        organisation_id: uuid.UUID,
        operation: str,
        payload: Mapping[str, Any] | Any,
        ref_kind: str | None = None,
        ref_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> Exchange:
        """Queue an exchange in the caller's transaction; its completion hook gets the result later."""

    async def run(
        self,
        *,
        organisation_id: uuid.UUID,
        operation: str,
        payload: Mapping[str, Any] | Any,
        ref_kind: str | None = None,
        ref_id: str | None = None,
        idempotency_key: str | None = None,
        timeout: float | None = None,
    ) -> Outcome:
        """Submit and drive one exchange to completion (own transactions); raise GisError on failure."""

    async def upload_file(self, organisation_id: uuid.UUID, context: str, filename: str, data: bytes) -> str:
        """Upload a file to the GIS file store; return its AttachmentGUID."""

    def attachment_hash(self, data: bytes) -> str:
        """Return AttachmentHASH: GOST R 34.11-94 (CryptoPro), lower-case hex in OpenSSL byte order."""
