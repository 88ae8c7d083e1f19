"""The audit line of every finished GIS exchange (the exchange engine calls it; app.main wires it)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models.exchange import DONE, Exchange
from app.domain.kernel import audit
from app.domain.kernel.access import SYSTEM
from app.gis_client.outcome import Outcome


async def record_finished_exchange(session: AsyncSession, exchange: Exchange, outcome: Outcome) -> None:
    """Record who (the system), what (the operation) and how it ended, in the exchange's own transaction."""
    await audit.record(
        session=session,
        principal=SYSTEM,
        action=f"gis.exchange.{outcome.status}",
        resource_type="gis_exchange",
        resource_id=exchange.id,
        organisation_id=exchange.organisation_id,
        outcome="ok" if outcome.status == DONE else outcome.status,
        exchange_id=exchange.id,
        details={
            "operation": exchange.operation,
            "attempts": exchange.attempts,
            # The engine wrote it on the row just before: the GIS code or the error class, None when done.
            "error_code": exchange.error_code,
            "empty": outcome.empty,
        },
    )
