"""The GIS port: what the domain needs from GIS ZhKKh, per GIS service, typed (app.gis_client implements it).

Domain code asks for one service's narrow Protocol (a debt-request job needs `DebtRequestsGis`, the registry
`DebtsGis` and `FileStoreGis`), so a test hands in a fake implementing only that much. The request and result
types are GIS's own shapes from `app.gis_client`; the port never exposes operation names.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

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
    ExportPaymentDocumentQuery,
    HouseData,
    NotificationItem,
    NsiItem,
    PaymentDocumentExport,
)


class ExchangesGis(Protocol):
    """Durable exchanges the domain owns: closing an `uncertain` import after reconciling it."""

    async def resolve_uncertain(self, session: AsyncSession, exchange_id: uuid.UUID, *, resend: bool) -> bool:
        """Resend (rebuilt) or close an uncertain exchange in the caller's transaction; False if settled."""
        ...


class DebtRequestsGis(ExchangesGis, Protocol):
    """Debt requests service (drs): export subrequests, queue answers (Send/Revoke)."""

    async def export_subrequests(
        self, *, organisation_id: uuid.UUID, query: ExportDSRsQuery
    ) -> DSRExportPage:
        """Run one exportDSRs call to completion; nothing found (INT002012) is an empty last page."""
        ...

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
        """Queue a durable importDSRResponses exchange in the caller's transaction; return its id.

        Its result reaches the completion hook registered for `ref_kind`.
        """
        ...


class DebtsGis(Protocol):
    """Debts service: GIS's registry of court-confirmed debts (import and export)."""

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
        ...

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
        ...


class HouseManagementGis(Protocol):
    """House management service: personal accounts and house data."""

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
        ...

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
        ...


class NotificationsGis(Protocol):
    """House management's news for citizens: debt notices to the consumers of accounts (DeptsInforming)."""

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
        """Queue a durable importNotificationData exchange in the caller's transaction; return its id.

        Its result reaches the completion hook registered for `ref_kind`.
        """
        ...

    async def resolve_uncertain(self, session: AsyncSession, exchange_id: uuid.UUID, *, resend: bool) -> bool:
        """Resend (rebuilt) or close an uncertain exchange in the caller's transaction; False if settled."""
        ...


class NsiGis(Protocol):
    """NSI common service (nsi-common): the classifiers GIS publishes (NSI 95, NSI 358, ...)."""

    async def export_nsi_item(self, *, organisation_id: uuid.UUID, registry_number: int) -> NsiItem | None:
        """Run one exportNsiItem to completion; None when GIS holds nothing for it (INT002012)."""
        ...


class FileStoreGis(Protocol):
    """The GIS file store: uploads and the AttachmentHASH that references them."""

    async def upload_file(self, organisation_id: uuid.UUID, context: str, filename: str, data: bytes) -> str:
        """Upload a file to the file store `context`; return its AttachmentGUID."""
        ...

    def attachment_hash(self, data: bytes) -> str:
        """Return AttachmentHASH: GOST R 34.11-94 (CryptoPro), lower-case hex in OpenSSL byte order."""
        ...


class BillsGis(Protocol):
    """Bills service: the payment documents placed in GIS."""

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
        ...


class DocumentSigningGis(Protocol):
    """Detached CMS signatures of documents with the information system's key (local or remote signer)."""

    async def sign_detached(self, documents: Sequence[bytes]) -> list[bytes]:
        """Return a DER CMS SignedData per document, in order: detached, GOST R 34.10-2012/256 with
        Streebog-256, the signing certificate included (what magistrates' e-filing accepts as `.sig`)."""
        ...


class GisPort(
    DebtRequestsGis,
    DebtsGis,
    HouseManagementGis,
    NsiGis,
    FileStoreGis,
    NotificationsGis,
    BillsGis,
    DocumentSigningGis,
    Protocol,
):
    """Everything the domain reaches in GIS; `AppContext.gis` holds the running implementation."""
