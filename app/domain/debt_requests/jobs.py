"""Operations (fetch, match, send, revoke, reconcile), the scheduled fetch loop and the gauge refresher."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from dataclasses import dataclass, replace
from datetime import date
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.context import AppContext
from app.db.models.core import Operation, Organisation
from app.db.models.debt_requests import RECEIVED
from app.domain.agreements import kept_agreement_accounts
from app.domain.court.registry import confirmed_debts_for_accounts
from app.domain.court.written_off import without_written_off
from app.domain.debt_requests import answers, fetch, matching, nsi, sending
from app.domain.debt_requests.gateway import gateway_for
from app.domain.kernel import audit
from app.domain.kernel import errors as d
from app.domain.kernel import operations as ops
from app.domain.kernel.access import SYSTEM, Principal, require_organisation
from app.domain.kernel.calendar import moscow_today
from app.gis_client.messages import MAX_DSR_ACTIONS, GisError

log = logging.getLogger(__name__)

FETCH, MATCH, SEND, REVOKE, RECONCILE = (
    "debt-fetch",
    "debt-match",
    "debt-send",
    "debt-revoke",
    "debt-reconcile",
)
NSI = "debt-nsi"


def _ids(params: dict[str, Any]) -> list[uuid.UUID] | None:
    raw = params.get("ids")
    return None if raw is None else [uuid.UUID(x) for x in raw]


def _day(value: Any) -> date | None:
    return date.fromisoformat(value) if value else None


# ---------------------------------------------------------------------------------------------- queueing


#: GIS ZhKKh took debt requests from social-protection bodies no earlier than this (a period before it only
#: multiplies six-month windows that cannot hold anything).
EARLIEST_FETCH_DATE = date(2015, 1, 1)


def check_fetch_period(date_from: date | None, date_to: date | None, *, on: date) -> None:
    """Refuse a fetch period GIS cannot hold: reversed, before GIS took requests, or in the future."""
    problems: list[d.FieldProblem] = []
    if date_from is not None and not EARLIEST_FETCH_DATE <= date_from <= on:
        problems.append(
            d.FieldProblem(
                "body.date_from", "period_bounds", f"between {EARLIEST_FETCH_DATE} and today ({on})"
            )
        )
    if date_to is not None and not EARLIEST_FETCH_DATE <= date_to <= on:
        problems.append(
            d.FieldProblem("body.date_to", "period_bounds", f"between {EARLIEST_FETCH_DATE} and today ({on})")
        )
    if date_from and date_to and date_to < date_from:
        problems.append(d.FieldProblem("body.date_to", "period_order", "date_to precedes date_from"))
    if problems:
        raise d.RuleViolation(
            "The fetch period is not one GIS can hold.", rule=problems[0].rule, errors=problems
        )


async def queue_fetch(
    *,
    session: AsyncSession,
    principal: Principal,
    organisation_id: uuid.UUID,
    date_from: date | None = None,
    date_to: date | None = None,
    only_unanswered: bool | None = None,
    match: MatchOptions | None = None,
) -> Operation:
    """Queue a fetch of an organisation's subrequests (incremental unless a period is given), then a match."""
    await require_organisation(session=session, principal=principal, organisation_id=organisation_id)
    check_fetch_period(date_from, date_to, on=moscow_today())
    params: dict[str, Any] = {
        "date_from": date_from.isoformat() if date_from else None,
        "date_to": date_to.isoformat() if date_to else None,
        "only_unanswered": only_unanswered,
    }
    if match is not None:
        params["match"] = match.params() | {"actor": principal.actor}
    op = await ops.create(
        session=session, principal=principal, kind=FETCH, organisation_id=organisation_id, params=params
    )
    await audit.record(
        session=session,
        principal=principal,
        action="debt_request.fetch",
        resource_type="operation",
        resource_id=op.id,
        organisation_id=organisation_id,
        details={k: v for k, v in params.items() if v is not None},
    )
    return op


async def queue_match(
    *,
    session: AsyncSession,
    principal: Principal,
    organisation_id: uuid.UUID,
    subrequest_ids: list[uuid.UUID] | None = None,
    prefill: bool | None = None,
    options: MatchOptions | None = None,
) -> Operation:
    """Queue matching of an organisation's open requests to accounts (and pre-fill from court debts)."""
    await require_organisation(session=session, principal=principal, organisation_id=organisation_id)
    params: dict[str, Any] = {"actor": principal.actor, "prefill": prefill}
    if options is not None:
        params |= options.params()
    if subrequest_ids is not None:
        params["ids"] = [str(x) for x in subrequest_ids]
    op = await ops.create(
        session=session, principal=principal, kind=MATCH, organisation_id=organisation_id, params=params
    )
    await audit.record(
        session=session,
        principal=principal,
        action="debt_request.match",
        resource_type="operation",
        resource_id=op.id,
        organisation_id=organisation_id,
    )
    return op


@dataclass(frozen=True)
class MatchOptions:
    """The operator's matching choices for one run (None: the setting's default)."""

    scope: Literal["organisation", "address"] | None = None
    exact_only: bool | None = None
    prefill: bool | None = None

    def params(self) -> dict[str, Any]:
        """Return the options given as operation parameters (the omitted ones fall back to the settings)."""
        given = {"scope": self.scope, "exact_only": self.exact_only, "prefill": self.prefill}
        return {k: v for k, v in given.items() if v is not None}


# ---------------------------------------------------------------------------------------------- handlers


async def fetch_job(op: Operation, progress: ops.Progress, ctx: AppContext) -> dict[str, Any]:
    """Fetch subrequests from GIS for the operation's organisation and period."""
    assert op.organisation_id is not None
    params = op.params or {}
    only = params.get("only_unanswered")
    nsi_loaded = await _refresh_nsi(ctx, op.organisation_id, only_stale=True)
    fetched = await fetch.fetch(
        gateway=gateway_for(ctx),
        sessionmaker=ctx.sessionmaker,
        organisation_id=op.organisation_id,
        date_from=_day(params.get("date_from")),
        date_to=_day(params.get("date_to")),
        only_unanswered=ctx.settings.debt.fetch_only_unanswered if only is None else bool(only),
        initial_days=ctx.settings.debt.fetch_initial_days,
        overlap_days=ctx.settings.debt.fetch_overlap_days,
        daily_days=ctx.settings.debt.fetch_daily_windows,
        concurrency=ctx.settings.debt.fetch_concurrency,
    )
    if nsi_loaded:
        fetched["nsi_loaded"] = nsi_loaded
    match = params.get("match")
    if isinstance(match, dict):
        fetched["match"] = await _match(op.organisation_id, op.key_id, match, progress, ctx)
    return fetched


async def _refresh_nsi(ctx: AppContext, organisation_id: uuid.UUID, *, only_stale: bool) -> dict[str, int]:
    """Reload the answers' classifiers from GIS; with a fetch, a failure leaves the old copy (logged)."""
    async with ctx.sessionmaker() as session:
        org = await session.get(Organisation, organisation_id)
        if org is None:
            raise LookupError(f"organisation {organisation_id} is gone")
        session.expunge(org)
    try:
        return await nsi.refresh(
            sessionmaker=ctx.sessionmaker, gateway=gateway_for(ctx), organisation=org, only_stale=only_stale
        )
    except GisError as exc:
        if not only_stale:
            raise
        log.warning("NSI refresh with the fetch failed (%s); the stored classifiers stay", type(exc).__name__)
        return {}


async def nsi_job(op: Operation, progress: ops.Progress, ctx: AppContext) -> dict[str, Any]:  # noqa: ARG001
    """Reload NSI 95 and NSI 358 from GIS (nsi-common exportNsiItem)."""
    assert op.organisation_id is not None
    return {"loaded": await _refresh_nsi(ctx, op.organisation_id, only_stale=False)}


async def queue_nsi_refresh(
    *, session: AsyncSession, principal: Principal, organisation_id: uuid.UUID
) -> Operation:
    """Queue a reload of the answers' classifiers from GIS, asked as the organisation."""
    await require_organisation(session=session, principal=principal, organisation_id=organisation_id)
    op = await ops.create(
        session=session, principal=principal, kind=NSI, organisation_id=organisation_id, params={}
    )
    await audit.record(
        session=session,
        principal=principal,
        action="nsi.refresh",
        resource_type="operation",
        resource_id=op.id,
        organisation_id=organisation_id,
    )
    return op


async def match_job(op: Operation, progress: ops.Progress, ctx: AppContext) -> dict[str, Any]:
    """Match open requests to accounts chunk by chunk; draft answers from court-confirmed debts."""
    assert op.organisation_id is not None
    return await _match(op.organisation_id, op.key_id, op.params or {}, progress, ctx)


async def _match(
    organisation_id: uuid.UUID,
    key_id: uuid.UUID | None,
    params: dict[str, Any],
    progress: ops.Progress,
    ctx: AppContext,
) -> dict[str, Any]:
    settings = ctx.settings
    ids = _ids(params)
    prefill = settings.debt.prefill if params.get("prefill") is None else bool(params["prefill"])
    scope = params.get("scope") or settings.debt.match_scope
    exact_only = (
        settings.debt.match_exact_only if params.get("exact_only") is None else bool(params["exact_only"])
    )
    actor = Principal(key_id=key_id, name=str(params.get("actor", "system")).removeprefix("key:"),
                      scopes=SYSTEM.scopes, all_organisations=True)  # fmt: skip
    on = moscow_today()
    counts = {
        "matched": 0,
        "exact": 0,
        "normalised": 0,
        "house_only": 0,
        "review": 0,
        "none": 0,
        "prefilled": 0,
    }
    after: uuid.UUID | None = None
    done = 0
    while True:
        async with ctx.sessionmaker() as session, session.begin():
            chunk = await matching.open_subrequests(
                session=session, organisation_id=organisation_id, ids=ids, after=after
            )
            if not chunk:
                break
            results = await matching.match_chunk(
                session=session,
                organisation_id=organisation_id,
                subs=chunk,
                scope=scope,
                exact_only=exact_only,
                on=on,
            )
            await matching.store_matches(results, session=session)
            for r in results.values():
                counts[r.quality] += 1
                counts["matched"] += bool(r.account_ids)
            if prefill:
                counts["prefilled"] += await _prefill(session, actor, ctx, chunk, results)
            after = chunk[-1].id
            done += len(chunk)
        await progress(done)
    return counts | {"scope": scope, "exact_only": exact_only, "prefill": prefill}


async def _prefill(
    session: AsyncSession,
    actor: Principal,
    ctx: AppContext,
    chunk: list[matching.OpenSubrequest],
    results: dict[uuid.UUID, matching.MatchResult],
) -> int:
    drafted = 0
    kept: dict[uuid.UUID, set[uuid.UUID]] = {}
    for sub in chunk:
        r = results[sub.id]
        # Only untouched requests: a drafted answer is the billing user's, never overwritten by automation.
        if not r.account_ids or sub.status != RECEIVED or sub.send_batch_id is not None:
            continue
        debts = await confirmed_debts_for_accounts(
            session=session, organisation_id=sub.organisation_id, account_ids=list(r.account_ids)
        )
        # A debt written off whole by a posted act is given up: not named, even before GIS annuls it.
        debts = await without_written_off(session=session, organisation_id=sub.organisation_id, debts=debts)
        if sub.organisation_id not in kept:
            kept[sub.organisation_id] = await kept_agreement_accounts(
                session=session, organisation_id=sub.organisation_id
            )
        # A debtor keeping a repayment agreement is answered per GISGW_DEBT_AGREEMENT_ANSWER.
        debts = [
            replace(d, agreement_complied=True) if d.account_id in kept[sub.organisation_id] else d
            for d in debts
        ]
        draft = answers.draft_from_debts(debts, agreement_answer=ctx.settings.debt.agreement_answer)
        if draft is None:
            continue
        try:
            async with session.begin_nested():
                await answers.set_answer(
                    session=session,
                    principal=actor,
                    settings=ctx.settings,
                    subrequest_id=sub.id,
                    data=draft,
                    source="prefill",
                )
            drafted += 1
        except Exception as exc:  # an incomplete registry record (no СНИЛС) leaves the request for a human
            log.info(
                "pre-fill of debt request %s skipped: %s", sub.id, getattr(exc, "rule", type(exc).__name__)
            )
    return drafted


async def _run_actions(op: Operation, progress: ops.Progress, ctx: AppContext, action: str) -> dict[str, Any]:
    assert op.organisation_id is not None
    params = op.params or {}
    return await sending.run_send(
        sessionmaker=ctx.sessionmaker,
        gateway=gateway_for(ctx),
        organisation_id=op.organisation_id,
        action=action,
        actor=str(params.get("actor", "system")),
        operation_id=op.id,
        subrequest_ids=_ids(params),
        # A resend of a message refused as a whole asks for smaller messages (split_refused_batch).
        batch_size=min(ctx.settings.debt.send_batch_size, int(params.get("batch_size") or MAX_DSR_ACTIONS)),
        wait_seconds=ctx.settings.debt.send_wait_seconds,
        progress=progress,
    )


async def send_job(op: Operation, progress: ops.Progress, ctx: AppContext) -> dict[str, Any]:
    """Send prepared answers in messages of ≤ 100 and wait for GIS results."""
    return await _run_actions(op, progress, ctx, "Send")


async def revoke_job(op: Operation, progress: ops.Progress, ctx: AppContext) -> dict[str, Any]:
    """Revoke sent answers and wait for GIS results."""
    return await _run_actions(op, progress, ctx, "Revoke")


async def reconcile_job(op: Operation, progress: ops.Progress, ctx: AppContext) -> dict[str, Any]:  # noqa: ARG001
    """Settle a batch whose import may have reached GIS before a crash."""
    batch_id = uuid.UUID(str((op.params or {})["batch_id"]))
    return await sending.reconcile_batch(
        sessionmaker=ctx.sessionmaker,
        gateway=gateway_for(ctx),
        batch_id=batch_id,
        batch_size=ctx.settings.debt.send_batch_size,
    )


# ------------------------------------------------------------------------------------------ scheduled fetch


async def queue_scheduled_fetches(*, session: AsyncSession) -> int:
    """Queue a fetch for every organisation that has none pending or running."""
    busy = set(
        (
            await session.scalars(
                select(Operation.organisation_id).where(
                    Operation.kind == FETCH, Operation.status.in_((ops.PENDING, ops.RUNNING))
                )
            )
        ).all()
    )
    queued = 0
    for org_id in (await session.scalars(select(Organisation.id))).all():
        if org_id in busy:
            continue
        await ops.create(session=session, principal=SYSTEM, kind=FETCH, organisation_id=org_id, params={})
        queued += 1
    return queued


async def fetch_loop(ctx: AppContext, stop: asyncio.Event) -> None:
    """Queue fetches for every organisation every `fetch_interval_seconds` (0 = off)."""
    interval = ctx.settings.debt.fetch_interval_seconds
    if interval <= 0:
        return
    while not stop.is_set():
        try:
            async with ctx.sessionmaker() as session, session.begin():
                queued = await queue_scheduled_fetches(session=session)
            if queued:
                log.info("scheduled debt fetch queued for %d organisation(s)", queued)
        except Exception:
            log.exception("scheduled debt fetch failed; retrying next interval")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)
