"""GisClient: the one GIS ZhKKh client of the process, implementing the domain's GisPort (kernel/gis_port)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.models.core import Organisation
from app.db.models.exchange import Exchange
from app.gis_client import exchange as engine_module
from app.gis_client.crypto import cms
from app.gis_client.crypto.backend import attachment_hash
from app.gis_client.crypto.keys import GostBackend
from app.gis_client.crypto.signer import LocalKeySigner
from app.gis_client.errors import GisProtocolError, GisSchemaError
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
    ExportHouseQuery,
    ExportNsiItemQuery,
    ExportPaymentDocumentQuery,
    HouseData,
    NotificationItem,
    NsiItem,
    PaymentDocumentExport,
)
from app.gis_client.services import bills, debts, nsi
from app.gis_client.services import debt_requests as drs
from app.gis_client.services import house_management as hm
from app.gis_client.services.file_store import FileStore
from app.gis_client.wire.transport import Transport
from app.settings import Settings


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
            organisation_id=organisation_id, operation=drs.EXPORT_DSRS.name, payload=query
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
            operation=drs.IMPORT_RESPONSES.name,
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
            operation=debts.IMPORT_DEBT.name,
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
            operation=debts.EXPORT_DEBT.name,
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
            operation=hm.EXPORT_ACCOUNT_DATA.name,
            payload=query,
            ref_kind=ref_kind,
            ref_id=ref_id,
            idempotency_key=idempotency_key,
        )
        payload = outcome.payload if isinstance(outcome.payload, tuple) else ()
        return tuple(a for a in payload if isinstance(a, Account))

    async def export_house(
        self,
        *,
        organisation_id: uuid.UUID,
        query: ExportHouseQuery,
        ref_kind: str,
        ref_id: str | None,
        idempotency_key: str | None,
    ) -> HouseData | None:
        """Run one exportHouseData to completion; None when GIS has no such house (INT002012)."""
        outcome = await self.run(
            organisation_id=organisation_id,
            operation=hm.EXPORT_HOUSE_DATA.name,
            payload=query,
            ref_kind=ref_kind,
            ref_id=ref_id,
            idempotency_key=idempotency_key,
        )
        return outcome.payload if isinstance(outcome.payload, HouseData) else None

    async def export_payment_documents(
        self,
        *,
        organisation_id: uuid.UUID,
        query: ExportPaymentDocumentQuery,
        ref_kind: str,
        ref_id: str | None,
        idempotency_key: str | None,
    ) -> PaymentDocumentExport:
        """Run one exportPaymentDocumentData to completion; nothing found (INT002012) is an empty export."""
        outcome = await self.run(
            organisation_id=organisation_id,
            operation=bills.EXPORT_PAYMENT_DOCUMENT_DATA.name,
            payload=query,
            ref_kind=ref_kind,
            ref_id=ref_id,
            idempotency_key=idempotency_key,
        )
        found = outcome.payload
        return found if isinstance(found, PaymentDocumentExport) else PaymentDocumentExport()

    async def submit_notifications(
        self,
        session: AsyncSession,
        *,
        organisation_id: uuid.UUID,
        items: Sequence[NotificationItem],
        ref_kind: str,
        ref_id: str,
        idempotency_key: str,
    ) -> uuid.UUID:
        """Queue a durable importNotificationData exchange in the caller's transaction; return its id."""
        exchange = await self.submit(
            session,
            organisation_id=organisation_id,
            operation=hm.IMPORT_NOTIFICATION_DATA.name,
            payload=list(items),
            ref_kind=ref_kind,
            ref_id=ref_id,
            idempotency_key=idempotency_key,
        )
        return exchange.id

    # --- file store ----------------------------------------------------------------------------------

    async def export_nsi_item(self, *, organisation_id: uuid.UUID, registry_number: int) -> NsiItem | None:
        """Run one exportNsiItem to completion; None when GIS holds nothing for it (INT002012)."""
        outcome = await self.run(
            organisation_id=organisation_id,
            operation=nsi.EXPORT_NSI_ITEM.name,
            payload=ExportNsiItemQuery(registry_number=registry_number),
        )
        item = outcome.payload
        return item if isinstance(item, NsiItem) else None

    async def sign_detached(self, documents: Sequence[bytes]) -> list[bytes]:
        """Return a detached CMS signature per document (DER, GOST 2012/256, certificate included)."""
        signer = self.engine.signer
        if isinstance(signer, LocalKeySigner):
            # Hashing and signing release the GIL: a batch in a worker thread leaves the event loop free.
            return await asyncio.to_thread(
                cms.sign_detached_local, documents, signer=signer, backend=self.backend
            )
        return await cms.sign_detached(documents, signer=signer, backend=self.backend)

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

    async def upload_file(self, organisation_id: uuid.UUID, context: str, filename: str, data: bytes) -> str:
        """Upload a file to the GIS file store; return its AttachmentGUID."""
        if not context.isidentifier():
            raise GisSchemaError(f"invalid file-store context {context!r}")
        store = FileStore(self.transport, self.engine.policy)
        return await store.upload(await self._ppa_guid(organisation_id), context, filename, data)
