"""The agreements' loop: match ledger payments to instalments on a schedule."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from app.context import AppContext
from app.domain.agreements.service import refresh_agreements
from app.domain.kernel.calendar import moscow_today

log = logging.getLogger(__name__)


async def refresh_loop(ctx: AppContext, stop: asyncio.Event) -> None:
    """Match payments of every active agreement every `refresh_interval_seconds` (0 = off)."""
    interval = ctx.settings.agreements.refresh_interval_seconds
    if interval <= 0:
        return
    while not stop.is_set():
        try:
            async with ctx.sessionmaker() as session, session.begin():
                counts = await refresh_agreements(
                    session=session, today=moscow_today(), breach_days=ctx.settings.agreements.breach_days
                )
            if counts["breached"] or counts["completed"]:
                log.info("agreements matched: %s", counts)
        except Exception:
            log.exception("agreement matching failed; retrying next interval")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)
