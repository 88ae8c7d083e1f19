"""The debt-request workflow's GIS port of the running app and the completion hook applying import results."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from app.context import AppContext
from app.db.models.exchange import Exchange
from app.domain.debt_requests.common import DsrGateway
from app.domain.debt_requests.sending import (
    ItemOutcome,
    apply_batch_results,
    mark_uncertain,
    split_refused_batch,
)
from app.gis_client.messages import CommonResult
from app.gis_client.outcome import Outcome

log = logging.getLogger(__name__)


def gateway_for(ctx: AppContext) -> DsrGateway:
    """Return the GIS port of the running app (a test builds its AppContext with a fake in `gis`)."""
    if ctx.gis is None:
        raise RuntimeError("the GIS client is not running")
    return ctx.gis


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


async def on_batch_finished(session: AsyncSession, exchange: Exchange, outcome: Outcome) -> None:
    """Completion hook: apply an importResponses result to its batch in the exchange's own transaction."""
    if exchange.ref_id is None:
        return
    batch_id = uuid.UUID(exchange.ref_id)
    status = outcome.status
    if status == "done":
        payload = outcome.payload if isinstance(outcome.payload, tuple) else ()
        results = [r for r in payload if isinstance(r, CommonResult)]
        await apply_batch_results(
            session=session, batch_id=batch_id, outcomes=outcomes_from(results), exchange_id=exchange.id
        )
    elif status == "uncertain":
        await mark_uncertain(session=session, batch_id=batch_id)
    elif not await split_refused_batch(
        session=session,
        batch_id=batch_id,
        error_code=exchange.error_code,
        error_text=exchange.error_message,
        exchange_id=exchange.id,
    ):
        await apply_batch_results(
            session=session,
            batch_id=batch_id,
            outcomes=None,
            error_code=exchange.error_code,
            error_text=exchange.error_message,
            exchange_id=exchange.id,
        )


#: The completion hooks of this area, by ref_kind; the app hands them to the exchange engine.
