"""The debt-request port over the GIS exchange engine, and the completion hook that applies import results."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.context import AppContext
from app.db.models.core import Organisation
from app.db.models.exchange import Exchange
from app.domain.debt_requests.common import DsrGateway
from app.domain.debt_requests.sending import (
    ItemOutcome,
    apply_batch_results,
    mark_uncertain,
    split_refused_batch,
)
from app.gis_client.messages import (
    CommonResult,
    DSRAction,
    DSRExportPage,
    ExportDSRsQuery,
    ExportNsiItemQuery,
    NsiItem,
)

log = logging.getLogger(__name__)

#: ref_kind of the exchanges that carry debt answers (Send/Revoke batches).
REF_KIND = "debt-batch"
FILE_CONTEXT = "debtreq"


class EngineDsrGateway:
    """DsrGateway over `app.gis_client.client.GisClient` (ctx.gis)."""

    def __init__(self, client: Any) -> None:
        self.client = client

    async def export_subrequests(
        self, *, organisation: Organisation, query: ExportDSRsQuery
    ) -> DSRExportPage:
        """Run exportDebtSubrequests to completion; INT002012 (nothing found) is an empty page."""
        outcome = await self.client.run(
            organisation_id=organisation.id, operation="exportDebtSubrequests", payload=query
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
        organisation: Organisation,
        actions: Sequence[DSRAction],
        batch_id: uuid.UUID,
    ) -> uuid.UUID | None:
        """Queue one importResponses exchange for a batch (idempotency key = batch id)."""
        exchange = await self.client.submit(
            session,
            organisation_id=organisation.id,
            operation="importResponses",
            payload=list(actions),
            ref_kind=REF_KIND,
            ref_id=str(batch_id),
            idempotency_key=f"{REF_KIND}:{batch_id}",
        )
        return exchange.id  # type: ignore[no-any-return]

    async def upload_file(self, *, organisation: Organisation, file_name: str, data: bytes) -> str:
        """Upload an answer document to the file store (context debtreq)."""
        guid: str = await self.client.upload_file(organisation.id, FILE_CONTEXT, file_name, data)
        return guid

    async def export_nsi_item(self, *, organisation: Organisation, registry_number: int) -> NsiItem | None:
        """Run exportNsiItem to completion; INT002012 (nothing found) is None."""
        outcome = await self.client.run(
            organisation_id=organisation.id,
            operation="exportNsiItem",
            payload=ExportNsiItemQuery(registry_number=registry_number),
        )
        item = outcome.payload
        return item if isinstance(item, NsiItem) else None

    def attachment_hash(self, data: bytes) -> str:
        """Return the GOST R 34.11-94 AttachmentHASH."""
        value: str = self.client.attachment_hash(data)
        return value

    async def close_uncertain(self, session: AsyncSession, exchange_id: uuid.UUID) -> None:
        """Close a reconciled uncertain exchange unsent (its items went out again in a new batch)."""
        from app.gis_client.exchange import resolve_uncertain

        try:
            await resolve_uncertain(session, exchange_id, resend=False)
        except ValueError:
            pass  # closed already


def gateway_for(ctx: AppContext) -> DsrGateway:
    """Return the debt-request port of the running app (tests may put their own in ctx.extras)."""
    override = ctx.extras.get("debt_gateway")
    if override is not None:
        return override  # type: ignore[no-any-return]
    if ctx.gis is None:
        raise RuntimeError("the GIS client is not running")
    return EngineDsrGateway(ctx.gis)


def outcomes_from(results: Sequence[CommonResult]) -> list[ItemOutcome]:
    """Turn per-item CommonResults into outcomes keyed by TransportGUID."""
    out = []
    for r in results:
        try:
            transport = uuid.UUID(r.transport_guid)
        except ValueError:
            log.warning("import result with a malformed TransportGUID ignored")
            continue
        if r.ok:
            out.append(ItemOutcome(transport, ok=True))
        else:
            first = r.errors[0]
            text = "; ".join(f"{e.code}: {e.description}" for e in r.errors)
            out.append(ItemOutcome(transport, ok=False, error_code=first.code, error_text=text))
    return out


async def on_batch_finished(session: AsyncSession, exchange: Exchange, outcome: Any) -> None:
    """Completion hook: apply an importResponses result to its batch in the exchange's own transaction."""
    if exchange.ref_id is None:
        return
    batch_id = uuid.UUID(exchange.ref_id)
    status = getattr(outcome, "status", "failed")
    if status == "done":
        payload = outcome.payload or ()
        results = [r for r in payload if isinstance(r, CommonResult)]
        await apply_batch_results(
            session, batch_id=batch_id, outcomes=outcomes_from(results), exchange_id=exchange.id
        )
    elif status == "uncertain":
        await mark_uncertain(session, batch_id=batch_id)
    elif not await split_refused_batch(
        session,
        batch_id=batch_id,
        error_code=exchange.error_code,
        error_text=exchange.error_message,
        exchange_id=exchange.id,
    ):
        await apply_batch_results(
            session,
            batch_id=batch_id,
            outcomes=None,
            error_code=exchange.error_code,
            error_text=exchange.error_message,
            exchange_id=exchange.id,
        )


def register_hook() -> None:
    """Register the completion hook with the exchange engine (no-op while the engine is absent)."""
    try:
        from app.gis_client.exchange import COMPLETION_HOOKS
    except ImportError:  # pragma: no cover - engine not installed
        return
    COMPLETION_HOOKS[REF_KIND] = on_batch_finished
