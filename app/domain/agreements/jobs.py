"""The agreements' loops: match ledger payments to instalments on a schedule, and after every accounts import.

The accounts area does not know agreements (agreements read its ledger), so the import cannot call the
matching; instead the second loop looks for accounts-import operations finished since its last look and
matches the agreements of their organisations at once. The hourly loop remains the safety net (it also runs
at start, covering imports finished while no process watched).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from datetime import datetime

from sqlalchemy import select

from app.context import AppContext
from app.db.base import utcnow
from app.db.models.core import Operation
from app.domain.accounts.importing import IMPORT_JOB
from app.domain.agreements.service import refresh_agreements
from app.domain.kernel.calendar import moscow_today
from app.domain.kernel.operations import SUCCEEDED

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


async def imported_organisations(ctx: AppContext, since: datetime) -> tuple[list[uuid.UUID], datetime]:
    """Return the organisations with an accounts import finished after `since`, and the new watermark."""
    async with ctx.sessionmaker() as session:
        rows = (
            await session.execute(
                select(Operation.organisation_id, Operation.finished_at).where(
                    Operation.kind == IMPORT_JOB,
                    Operation.status == SUCCEEDED,
                    Operation.finished_at > since,
                )
            )
        ).all()
    orgs = sorted({org for org, _ in rows if org is not None}, key=str)
    return orgs, max((at for _, at in rows if at is not None), default=since)


async def match_after_imports(ctx: AppContext, organisation_ids: list[uuid.UUID]) -> dict[str, int]:
    """Match the active agreements of these organisations, one transaction each; return summed counts."""
    total = {"active": 0, "breached": 0, "completed": 0}
    for org in organisation_ids:
        async with ctx.sessionmaker() as session, session.begin():
            counts = await refresh_agreements(
                session=session,
                today=moscow_today(),
                breach_days=ctx.settings.agreements.breach_days,
                organisation_id=org,
            )
        for k, v in counts.items():
            total[k] = total.get(k, 0) + v
    return total


async def after_import_loop(ctx: AppContext, stop: asyncio.Event) -> None:
    """Match agreements of organisations whose accounts import finished since the last look (0 = off)."""
    poll = ctx.settings.agreements.import_poll_seconds
    if poll <= 0:
        return
    since = utcnow()
    while not stop.is_set():
        try:
            orgs, watermark = await imported_organisations(ctx, since)
            if orgs:
                counts = await match_after_imports(ctx, orgs)
                log.info("agreements matched after %d accounts import(s): %s", len(orgs), counts)
            since = watermark
        except Exception:
            log.exception("agreement matching after imports failed; retrying")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=poll)
