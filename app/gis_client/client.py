"""GisClient: the one GIS ZhKKh client of the process, implementing the domain's GisPort (kernel/gis_port)."""

from __future__ import annotations

import base64
import hashlib
import logging
import math
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.models.core import Organisation
from app.db.models.exchange import Exchange
from app.gis_client import exchange as engine_module
from app.gis_client.crypto.backend import GostBackend, attachment_hash
from app.gis_client.errors import (
    GisFaultError,
    GisProtocolError,
    GisSchemaError,
)
from app.gis_client.exchange import ExchangeEngine, Outcome
from app.gis_client.messages import (
    Account,
    CommonResult,
    DebtExportPage,
    DebtImportItem,
    DSRAction,
    DSRExportPage,
    ExportAccountQuery,
    ExportDebtQuery,
    ExportDSRsQuery,
)
from app.gis_client.wire.transport import MAINTENANCE_CODE, GisHttpStatusError, Transport
from app.settings import Settings

log = logging.getLogger(__name__)

FILE_STORE_PATH = "/ext-bus-file-store-service/rest/{context}"
#: gis-protocol.md §12: files up to one part go in a single PUT; larger ones in parts of exactly this size.
PART_SIZE = 5_242_880
_FILENAME_FORBIDDEN = set('<>?:\\|*%"')


class GisFileStoreError(GisFaultError):
    """The file store answered `X-Upload-Error` (FieldValidation, FileVirusInfection, HashConflict...)."""


def encode_filename(filename: str) -> str:
    """Return X-Upload-Filename: forbidden characters stripped, RFC 2047 UTF-8 base64 encoded-word."""
    cleaned = "".join(c for c in filename if c not in _FILENAME_FORBIDDEN).strip() or "file"
    # Hand-built because email.header folds long names into several encoded-words separated by CRLF+space,
    # which is not a valid single HTTP header value.
    return "=?UTF-8?B?" + base64.b64encode(cleaned.encode("utf-8")).decode("ascii") + "?="


def content_md5(data: bytes) -> str:
    """Return the Content-MD5 header value (base64 of the MD5 digest, RFC 1864)."""
    return base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode("ascii")


class GisClient:
    """Implements GisPort over the exchange engine, the shared transport and the crypto backend."""

    def __init__(
        self,
        *,
        settings: Settings,
        sessionmaker: async_sessionmaker[AsyncSession],
        engine: ExchangeEngine,
        transport: Transport,
        backend: GostBackend,
    ) -> None:
        self.settings = settings
        self.sessionmaker = sessionmaker
        self.engine = engine
        self.transport = transport
        self.backend = backend

    # --- exchanges -----------------------------------------------------------------------------------

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
        return await engine_module.submit(
            session,
            organisation_id=organisation_id,
            operation=operation,
            payload=payload,
            ref_kind=ref_kind,
            ref_id=ref_id,
            idempotency_key=idempotency_key,
        )

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
        return await self.engine.run(
            self.sessionmaker,
            organisation_id=organisation_id,
            operation=operation,
            payload=payload,
            ref_kind=ref_kind,
            ref_id=ref_id,
            idempotency_key=idempotency_key,
            timeout=timeout,
        )

    async def resolve_uncertain(self, session: AsyncSession, exchange_id: uuid.UUID, *, resend: bool) -> bool:
        """Resend (rebuilt) or close an uncertain exchange in the caller's transaction; False if settled."""
        try:
            await engine_module.resolve_uncertain(session, exchange_id, resend=resend)
        except ValueError:
            return False  # settled already
        return True

    # --- typed operations (the domain's port) --------------------------------------------------------

    async def export_subrequests(
        self, *, organisation_id: uuid.UUID, query: ExportDSRsQuery
    ) -> DSRExportPage:
        """Run one exportDSRs call to completion; nothing found (INT002012) is an empty last page."""
        outcome = await self.run(
            organisation_id=organisation_id, operation="exportDebtSubrequests", payload=query
        )
        page = outcome.payload
        if page is None:
            return DSRExportPage(subrequests=(), last_page=True)
        assert isinstance(page, DSRExportPage)
        return page

    async def submit_responses(
        self,
        session: AsyncSession,
        *,
        organisation_id: uuid.UUID,
        actions: Sequence[DSRAction],
        ref_kind: str,
        ref_id: str,
        idempotency_key: str,
    ) -> uuid.UUID | None:
        """Queue a durable importDSRResponses exchange in the caller's transaction; return its id."""
        exchange = await self.submit(
            session,
            organisation_id=organisation_id,
            operation="importResponses",
            payload=list(actions),
            ref_kind=ref_kind,
            ref_id=ref_id,
            idempotency_key=idempotency_key,
        )
        return exchange.id

    async def import_debts(
        self,
        *,
        organisation_id: uuid.UUID,
        items: Sequence[DebtImportItem],
        ref_kind: str,
        ref_id: str,
        idempotency_key: str,
    ) -> tuple[CommonResult, ...]:
        """Run one importDebt to completion (one key, one exchange); return the per-item results."""
        outcome = await self.run(
            organisation_id=organisation_id,
            operation="importDebt",
            payload=list(items),
            ref_kind=ref_kind,
            ref_id=ref_id,
            idempotency_key=idempotency_key,
        )
        results = outcome.payload if isinstance(outcome.payload, tuple) else ()
        return tuple(r for r in results if isinstance(r, CommonResult))

    async def export_debts(
        self,
        *,
        organisation_id: uuid.UUID,
        query: ExportDebtQuery,
        ref_kind: str,
        ref_id: str,
        idempotency_key: str,
    ) -> DebtExportPage | None:
        """Run one exportDebt page to completion; None when GIS has nothing to export (INT002012)."""
        outcome = await self.run(
            organisation_id=organisation_id,
            operation="exportDebt",
            payload=query,
            ref_kind=ref_kind,
            ref_id=ref_id,
            idempotency_key=idempotency_key,
        )
        return outcome.payload if isinstance(outcome.payload, DebtExportPage) else None

    async def export_accounts(
        self,
        *,
        organisation_id: uuid.UUID,
        query: ExportAccountQuery,
        ref_kind: str,
        ref_id: str | None,
        idempotency_key: str | None,
    ) -> tuple[Account, ...]:
        """Run one exportAccountData to completion; return the accounts found (none on INT002012)."""
        outcome = await self.run(
            organisation_id=organisation_id,
            operation="exportAccountData",
            payload=query,
            ref_kind=ref_kind,
            ref_id=ref_id,
            idempotency_key=idempotency_key,
        )
        payload = outcome.payload if isinstance(outcome.payload, tuple) else ()
        return tuple(a for a in payload if isinstance(a, Account))

    # --- file store ----------------------------------------------------------------------------------

    def attachment_hash(self, data: bytes) -> str:
        """Return AttachmentHASH: GOST R 34.11-94 (CryptoPro), lower-case hex in OpenSSL byte order."""
        return attachment_hash(data, self.backend)

    async def _ppa_guid(self, organisation_id: uuid.UUID) -> str:
        async with self.sessionmaker() as session:
            ppa = await session.scalar(
                select(Organisation.ppa_guid).where(Organisation.id == organisation_id)
            )
        if ppa is None:
            raise GisProtocolError(f"organisation {organisation_id} is not registered in the gateway")
        return str(ppa)

    async def _file_request(
        self, method: str, path: str, headers: dict[str, str], content: bytes | None = None
    ) -> httpx.Response:
        """One file-store call with the retry policy (transport errors, 5xx, INT002029)."""
        async for attempt in self.engine.policy.retrying():
            with attempt:
                response = await self.transport.request(method, path, headers=headers, content=content)
                error = response.headers.get("X-Upload-Error")
                if error:
                    code = error.strip()
                    raise GisFileStoreError(
                        code, f"file store refused: {code}", retryable=code == MAINTENANCE_CODE
                    )
                if response.status_code >= 400:
                    raise GisHttpStatusError(
                        response.status_code, f"file store answered HTTP {response.status_code}"
                    )
                return response
        raise AssertionError("unreachable")  # pragma: no cover - reraise=True

    async def upload_file(self, organisation_id: uuid.UUID, context: str, filename: str, data: bytes) -> str:
        """Upload a file to the GIS file store; return its AttachmentGUID."""
        if not context.isidentifier():
            raise GisSchemaError(f"invalid file-store context {context!r}")
        base = FILE_STORE_PATH.format(context=context)
        common = {
            "X-Upload-OrgPPAGUID": await self._ppa_guid(organisation_id),
            "X-Upload-Filename": encode_filename(filename),
        }
        if len(data) <= PART_SIZE:
            response = await self._file_request(
                "PUT", base, {**common, "Content-MD5": content_md5(data)}, data
            )
            return self._upload_id(response)
        parts = math.ceil(len(data) / PART_SIZE)
        opened = await self._file_request(
            "POST",
            base + "/?upload",
            {**common, "X-Upload-Length": str(len(data)), "X-Upload-Part-Count": str(parts)},
        )
        upload_id = self._upload_id(opened)
        for number in range(1, parts + 1):
            part = data[(number - 1) * PART_SIZE : number * PART_SIZE]
            await self._file_request(
                "PUT",
                f"{base}/{upload_id}",
                {
                    "X-Upload-OrgPPAGUID": common["X-Upload-OrgPPAGUID"],
                    "X-Upload-Partnumber": str(number),
                    "Content-MD5": content_md5(part),
                },
                part,
            )
        await self._file_request(
            "POST", f"{base}/{upload_id}?completed", {"X-Upload-OrgPPAGUID": common["X-Upload-OrgPPAGUID"]}
        )
        log.info("uploaded %d bytes in %d parts to file store %s", len(data), parts, context)
        return upload_id

    @staticmethod
    def _upload_id(response: httpx.Response) -> str:
        upload_id = str(response.headers.get("X-Upload-UploadID", "")).strip()
        if not upload_id:
            raise GisProtocolError("file store answer has no X-Upload-UploadID")
        return upload_id
