"""Pre-court notices through GIS ZhKKh itself (domain-rules §12): house-management news with the
DeptsInforming addressee («Необходимость погашения задолженности»), one per notice: the account's ЕЛС and its
TotalDebt. GIS puts it into the consumer's GIS account and the Госуслуги.Дом app, a delivery channel ПП 354
п. 119 а names.

Exactly once, in two steps. GIS offers no export of news, so a message that may have reached GIS before a
crash (an `uncertain` import) cannot be checked there. The notice therefore goes as
1. **create**: a draft news item (Create without IsShipOff) that reaches nobody; GIS answers its
   NotificationGUID. Sent again after an uncertain message, it can leave at most an orphan draft;
2. **ship**: IsShipOff by that NotificationGUID. Shipping the same news item again sends nothing twice.
So an uncertain message of either step is simply resent (rebuilt), and each consumer gets the notice once.

Each action is a `NoticeGisItem` (its id is the TransportGUID); the batch of ≤ 100 items, its exchange and
the notices' new state are committed in one transaction, and `on_exchange_finished` (the exchange engine's
completion hook) applies GIS's per-action results in the transaction that closes the exchange. `advance`
ships drafted notices and resends uncertain messages; the send operation and the area's loop both call it
(conditional updates make that safe across processes). Recall is one more action (RecallNotification).

A shipped notice is journaled as sent (channel `gis`) and, with `GISGW_MONITORING_GIS_DELIVERED_ON_PLACEMENT`,
as delivered on the placement date: the restriction timeline then counts from it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import string
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.context import AppContext
from app.db.base import utcnow
from app.db.models.accounts import Account
from app.db.models.core import Operation
from app.db.models.exchange import Exchange
from app.db.models.monitoring import Notice, NoticeGisItem, NoticeRun
from app.domain.kernel import audit, errors
from app.domain.kernel import operations as ops
from app.domain.kernel.access import SYSTEM, Principal
from app.domain.kernel.calendar import MOSCOW, moscow_today
from app.domain.kernel.gis_port import NotificationsGis
from app.domain.monitoring.notices import get_notice, get_run, record_event
from app.gis_client.messages import MAX_NOTIFICATIONS, CommonResult, DebtAccount, NotificationItem
from app.gis_client.outcome import Outcome

log = logging.getLogger(__name__)

REF_KIND = "notice-gis"
SEND_JOB = "monitoring-notice-gis"
RECALL_JOB = "monitoring-notice-recall"
TOPIC = "Необходимость погашения задолженности"
#: The news text; placeholders are filled per notice (see PLACEHOLDERS).
DEFAULT_TEMPLATE = (
    "Уважаемый потребитель! По лицевому счёту № {account_number} на {on_date} задолженность за "
    "жилищно-коммунальные услуги составляет {debt} ₽, пени {penalties} ₽. Просим погасить её: получатель "
    "{payee}, ИНН {inn}, р/с {account} в {bank}, БИК {bik}. При неоплате долг будет взыскан в судебном "
    "порядке, а предоставление коммунальной услуги может быть ограничено (Правила № 354, п. 117–119)."
)
PLACEHOLDERS = frozenset(
    {
        "account_number",
        "on_date",
        "debt",
        "penalties",
        "months_overdue",
        "payee",
        "inn",
        "account",
        "bank",
        "bik",
    }
)
MAX_TEXT = 5000
#: Notice statuses a GIS send takes (as the e-mail does): not sent yet, or returned.
SENDABLE = ("created", "returned")
IN_FLIGHT = ("drafting", "drafted", "shipping", "recalling")


# ------------------------------------------------------------------------------------------------- texts


def template_problems(template: str, path: str = "body.template") -> list[errors.FieldProblem]:
    """Return what is wrong with a news template: unknown or positional placeholders, a text too long."""
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
    except ValueError as exc:
        return [errors.FieldProblem(path, "template_syntax", str(exc))]
    unknown = sorted({f for f in fields if f not in PLACEHOLDERS})
    if unknown:
        return [errors.FieldProblem(path, "template_placeholder", f"unknown placeholders {unknown}")]
    sample = _render(
        template,
        account_number="X" * 30,
        on_date=date(2026, 12, 31),
        debt=Decimal("999999999.99"),
        penalties=Decimal("999999999.99"),
        months_overdue=600,
        payment=dict.fromkeys(("payee", "inn", "account", "bank", "bik"), "X" * 300),
    )
    if not template.strip() or len(sample) > MAX_TEXT:
        return [
            errors.FieldProblem(path, "template_length", f"the text must have 1 to {MAX_TEXT} characters")
        ]
    return []


def _money(value: Decimal) -> str:
    return f"{value:,.2f}".replace(",", " ").replace(".", ",")


def _render(
    template: str,
    *,
    account_number: str,
    on_date: date,
    debt: Decimal,
    penalties: Decimal,
    months_overdue: int,
    payment: dict[str, Any],
) -> str:
    return template.format(
        account_number=account_number,
        on_date=on_date.strftime("%d.%m.%Y"),
        debt=_money(debt),
        penalties=_money(penalties),
        months_overdue=months_overdue,
        **{k: payment.get(k) or "" for k in ("payee", "inn", "account", "bank", "bik")},
    )


def notice_text(notice: Notice, run: NoticeRun, template: str | None) -> str:
    """Return the news text of one notice."""
    return _render(
        template or DEFAULT_TEMPLATE,
        account_number=notice.account_number,
        on_date=run.on_date,
        debt=notice.debt,
        penalties=notice.penalties,
        months_overdue=notice.months_overdue,
        payment=run.payment_details,
    )[:MAX_TEXT]


# ------------------------------------------------------------------------------------------- queueing


async def queue_send(
    *, session: AsyncSession, principal: Principal, run_id: uuid.UUID, template: str | None
) -> Operation:
    """Queue sending a run's notices through GIS (those not sent yet by any channel)."""
    run = await get_run(session=session, principal=principal, run_id=run_id)
    if run.status != "done":  # a queued run's notices are still being selected
        raise errors.ConflictError(
            f"The notice run is {run.status}; send it through GIS when it is done.",
            errors=[errors.FieldProblem("path.run_id", "run_not_done", f"status {run.status}")],
            rule="run_not_done",
        )
    if template is not None:
        problems = template_problems(template)
        if problems:
            raise errors.RuleViolation(
                "The news template cannot be used.", errors=problems, rule=problems[0].rule
            )
    total = await session.scalar(
        select(func.count()).select_from(Notice).where(Notice.run_id == run.id, Notice.status.in_(SENDABLE))
    )
    op = await ops.create(
        session=session,
        principal=principal,
        kind=SEND_JOB,
        organisation_id=run.organisation_id,
        params={"run_id": str(run.id), "template": template, "actor": principal.actor},
        total=int(total or 0),
    )
    await audit.record(
        session=session,
        principal=principal,
        action="notice_run.gis_send",
        resource_type="notice_run",
        resource_id=run.id,
        organisation_id=run.organisation_id,
        details={"operation_id": str(op.id), "notices": int(total or 0)},
    )
    return op


async def queue_recall(
    *, session: AsyncSession, principal: Principal, notice_ids: Sequence[uuid.UUID], reason: str | None
) -> Operation:
    """Queue recalling notices shipped through GIS; every one must be shipped there, of one organisation."""
    problems: list[errors.FieldProblem] = []
    organisations: set[uuid.UUID] = set()
    for i, notice_id in enumerate(notice_ids):
        path = f"body.notice_ids.{i}"
        try:
            notice = await get_notice(session=session, principal=principal, notice_id=notice_id)
        except errors.NotFoundError:
            problems.append(errors.FieldProblem(path, "notice_exists", f"notice {notice_id} not found"))
            continue
        organisations.add(notice.organisation_id)
        if notice.gis_status != "shipped":
            problems.append(
                errors.FieldProblem(
                    path,
                    "notice_not_shipped_in_gis",
                    f"notice {notice_id} is {notice.gis_status or 'not in GIS'}",
                )
            )
    if len(organisations) > 1:
        problems.append(
            errors.FieldProblem("body.notice_ids", "one_organisation", "notices of one organisation")
        )
    if problems:
        raise errors.RuleViolation(
            f"{len(problems)} of the notices cannot be recalled; nothing was recalled.",
            errors=problems,
            rule=problems[0].rule,
        )
    (organisation_id,) = organisations
    op = await ops.create(
        session=session,
        principal=principal,
        kind=RECALL_JOB,
        organisation_id=organisation_id,
        params={"notice_ids": [str(x) for x in notice_ids], "reason": reason, "actor": principal.actor},
        total=len(notice_ids),
    )
    await audit.record(
        session=session,
        principal=principal,
        action="notice.gis_recall",
        resource_type="operation",
        resource_id=op.id,
        organisation_id=organisation_id,
        details={"notices": len(notice_ids)},
    )
    return op


# -------------------------------------------------------------------------------------------- submitting


async def _submit(
    session: AsyncSession,
    gis: NotificationsGis,
    *,
    organisation_id: uuid.UUID,
    operation_id: uuid.UUID | None,
    phase: str,
    planned: Sequence[tuple[Notice, NotificationItem]],
    batch_size: int,
    delivered_on_placement: bool,
) -> int:
    """Record the actions and queue one exchange per batch of ≤ 100, in the caller's transaction."""
    size = max(1, min(batch_size, MAX_NOTIFICATIONS))
    batches = 0
    for start in range(0, len(planned), size):
        chunk = planned[start : start + size]
        rows = [
            NoticeGisItem(
                id=uuid.UUID(item.transport_guid),
                notice_id=notice.id,
                organisation_id=organisation_id,
                operation_id=operation_id,
                phase=phase,
                result="pending",
                delivered_on_placement=delivered_on_placement,
            )
            for notice, item in chunk
        ]
        session.add_all(rows)
        await session.flush()
        batch = uuid.uuid4()
        exchange_id = await gis.submit_notifications(
            session,
            organisation_id=organisation_id,
            items=[item for _, item in chunk],
            ref_kind=REF_KIND,
            ref_id=str(batch),
            idempotency_key=f"{REF_KIND}:{batch}",
        )
        for row in rows:
            row.exchange_id = exchange_id
        batches += 1
    await session.flush()
    return batches


def _skip_locked(session: AsyncSession, stmt: Any) -> Any:
    """Lock the selected notices on PostgreSQL, skipping those another process holds (SQLite: none)."""
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        return stmt.with_for_update(skip_locked=True, of=Notice)
    return stmt


async def _claim(session: AsyncSession, ids: Sequence[uuid.UUID], from_status: str | None, to: str) -> bool:
    """Move notices to `to` only if all are still in `from_status` (another process may have taken them)."""
    if not ids:
        return True
    cond = Notice.gis_status.is_(None) if from_status is None else Notice.gis_status == from_status
    result = await session.execute(
        update(Notice)
        .where(Notice.id.in_(list(ids)), cond)
        .values(gis_status=to, gis_error=None, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount) == len(ids)  # type: ignore[attr-defined]


class _Raced(Exception):
    """Another process moved the notices first: this round does nothing."""


async def start_send(
    *,
    session: AsyncSession,
    gis: NotificationsGis,
    run_id: uuid.UUID,
    template: str | None,
    operation_id: uuid.UUID | None,
    batch_size: int,
    delivered_on_placement: bool,
) -> dict[str, int]:
    """Queue the create step for a run's sendable notices (again after an error); return what was left out."""
    run = await session.get(NoticeRun, run_id)
    if run is None:
        raise LookupError(f"notice run {run_id} is gone")
    rows = (
        await session.execute(
            _skip_locked(
                session,
                select(Notice, Account.els)
                .outerjoin(Account, Account.id == Notice.account_id)
                .where(Notice.run_id == run_id)
                .order_by(Notice.seq),
            )
        )
    ).all()
    left_out: Counter[str] = Counter()
    planned: list[tuple[Notice, NotificationItem]] = []
    retry_ship: list[uuid.UUID] = []
    for notice, els in rows:
        if notice.gis_status not in (None, "error"):
            continue  # in flight or done: the earlier run of this operation (or another) carries it
        if notice.status not in SENDABLE:
            left_out["already_sent"] += 1
            continue
        if notice.gis_status == "error" and notice.gis_notification_guid is not None:
            retry_ship.append(notice.id)
            continue
        if not els or len(els) != 10:
            left_out["no_els"] += 1
            continue
        planned.append(
            (
                notice,
                NotificationItem(
                    transport_guid=str(uuid.uuid4()),
                    action="create",
                    topic=TOPIC,
                    content=notice_text(notice, run, template),
                    accounts=(DebtAccount(els, notice.debt),),
                ),
            )
        )
    fresh = [n.id for n, _ in planned if n.gis_status is None]
    errored = [n.id for n, _ in planned if n.gis_status == "error"]
    if not (
        await _claim(session, fresh, None, "drafting")
        and await _claim(session, errored, "error", "drafting")
        and await _claim(session, retry_ship, "error", "drafted")  # the draft exists: ship it again
    ):
        raise _Raced()
    await _submit(
        session,
        gis,
        organisation_id=run.organisation_id,
        operation_id=operation_id,
        phase="create",
        planned=planned,
        batch_size=batch_size,
        delivered_on_placement=delivered_on_placement,
    )
    return dict(left_out)


async def advance(
    *,
    sessionmaker: async_sessionmaker[AsyncSession],
    gis: NotificationsGis,
    batch_size: int,
    delivered_on_placement: bool,
    operation_id: uuid.UUID | None = None,
) -> int:
    """Resend uncertain messages and ship drafted notices; return how many actions were queued."""
    queued = 0
    async with sessionmaker() as session, session.begin():
        exchange_ids = (
            await session.scalars(
                select(NoticeGisItem.exchange_id)
                .where(NoticeGisItem.result == "uncertain")
                .distinct()
                .limit(50)
            )
        ).all()
        for exchange_id in exchange_ids:
            if exchange_id is None:
                continue
            # Safe to resend by construction: a create leaves at most an orphan draft, a ship or a recall
            # of the same NotificationGUID changes nothing twice (module docstring).
            await gis.resolve_uncertain(session, exchange_id, resend=True)
            moved = await session.execute(
                update(NoticeGisItem)
                .where(NoticeGisItem.exchange_id == exchange_id, NoticeGisItem.result == "uncertain")
                .values(result="pending")
                .execution_options(synchronize_session=False)
            )
            queued += int(moved.rowcount)  # type: ignore[attr-defined]
    try:
        async with sessionmaker() as session, session.begin():
            drafted = list(
                (
                    await session.scalars(
                        _skip_locked(
                            session,
                            select(Notice)
                            .where(Notice.gis_status == "drafted")
                            .order_by(Notice.organisation_id, Notice.id)
                            .limit(1000),
                        )
                    )
                ).all()
            )
            if not drafted:
                return queued
            if not await _claim(session, [n.id for n in drafted], "drafted", "shipping"):
                raise _Raced()
            by_org: dict[uuid.UUID, list[tuple[Notice, NotificationItem]]] = {}
            for notice in drafted:
                by_org.setdefault(notice.organisation_id, []).append(
                    (
                        notice,
                        NotificationItem(
                            transport_guid=str(uuid.uuid4()),
                            action="ship",
                            notification_guid=str(notice.gis_notification_guid),
                        ),
                    )
                )
            for organisation_id, planned in by_org.items():
                await _submit(
                    session,
                    gis,
                    organisation_id=organisation_id,
                    operation_id=operation_id,
                    phase="ship",
                    planned=planned,
                    batch_size=batch_size,
                    delivered_on_placement=delivered_on_placement,
                )
            queued += len(drafted)
    except _Raced:
        log.info("drafted notices taken by another process; leaving them to it")
    return queued


# ------------------------------------------------------------------------------------- applying results


def _placed_on(result: CommonResult | None) -> date:
    if result is not None and result.update_date is not None:
        return result.update_date.astimezone(MOSCOW).date()
    return moscow_today()


async def on_exchange_finished(session: AsyncSession, exchange: Exchange, outcome: Outcome) -> None:
    """Completion hook: apply an importNotificationData result to its actions (the exchange's transaction)."""
    items = list(
        (
            await session.scalars(
                select(NoticeGisItem).where(
                    NoticeGisItem.exchange_id == exchange.id, NoticeGisItem.result == "pending"
                )
            )
        ).all()
    )
    if not items:
        return  # applied already (a replayed hook)
    if outcome.status == "uncertain":
        for item in items:
            item.result = "uncertain"  # `advance` resends the message
        return
    results: dict[str, CommonResult] = {}
    if outcome.status == "done" and isinstance(outcome.payload, tuple):
        results = {r.transport_guid.lower(): r for r in outcome.payload if isinstance(r, CommonResult)}
    notices = {
        n.id: n
        for n in await session.scalars(select(Notice).where(Notice.id.in_([i.notice_id for i in items])))
    }
    now = utcnow()
    for item in items:
        notice = notices.get(item.notice_id)
        item.finished_at = now
        if outcome.status == "done":
            result = results.get(str(item.id))
            if result is None:
                code, text = "NO_RESULT", "GIS returned no result for this notification"
            elif result.ok:
                code, text = None, None
            else:
                code = result.errors[0].code
                text = "; ".join(f"{e.code}: {e.description}" for e in result.errors)
        else:
            result = None
            code = exchange.error_code or "GATEWAY"
            text = exchange.error_message or "the GIS exchange failed"
        if code is None:
            assert result is not None
            item.result = "ok"
            if result.guid:
                item.notification_guid = uuid.UUID(result.guid)
            elif notice is not None:
                item.notification_guid = notice.gis_notification_guid
            if notice is not None:
                await _applied(session, notice, item, result)
        else:
            item.result, item.error_code, item.error_text = "error", code[:40], (text or "")[:2000]
            if notice is not None:
                notice.gis_error = f"{code}: {text}"[:2000]
                notice.gis_status = "shipped" if item.phase == "recall" else "error"
                log.warning("notice %s: GIS %s refused (%s)", notice.id, item.phase, code)


async def _applied(session: AsyncSession, notice: Notice, item: NoticeGisItem, result: CommonResult) -> None:
    if item.phase == "create":
        notice.gis_notification_guid = item.notification_guid
        notice.gis_status = "drafted"
        return
    day = _placed_on(result)
    if item.phase == "recall":
        notice.gis_status, notice.gis_recalled_on = "recalled", day
        await audit.record(
            session=session,
            principal=SYSTEM,
            action="notice.gis_recalled",
            resource_type="notice",
            resource_id=notice.id,
            organisation_id=notice.organisation_id,
            details={"on_date": day.isoformat(), "notification_guid": str(notice.gis_notification_guid)},
        )
        return
    notice.gis_status, notice.gis_shipped_on = "shipped", day
    # The journal records facts: placed in GIS = sent by channel gis; delivered on placement per the setting.
    if notice.status in SENDABLE:
        await record_event(
            session=session, principal=SYSTEM, notice_id=notice.id, event="sent", on_date=day, channel="gis",
            source="gis",
        )  # fmt: skip
        if item.delivered_on_placement:
            await record_event(
                session=session, principal=SYSTEM, notice_id=notice.id, event="delivered", on_date=day,
                channel="gis", source="gis",
            )  # fmt: skip


# ------------------------------------------------------------------------------------------------ the jobs


def _gis(ctx: AppContext) -> NotificationsGis:
    if ctx.gis is None:
        raise RuntimeError("the GIS client is not running")
    return ctx.gis


async def _counts(sessionmaker: async_sessionmaker[AsyncSession], *where: Any) -> dict[str | None, int]:
    async with sessionmaker() as session:
        rows = (
            await session.execute(
                select(Notice.gis_status, func.count()).where(*where).group_by(Notice.gis_status)
            )
        ).all()
    return {status: int(n) for status, n in rows}


async def _wait(
    ctx: AppContext, op: Operation, progress: ops.Progress, *where: Any, settled: tuple[str, ...]
) -> dict[str | None, int]:
    settings = ctx.settings.monitoring
    deadline = time.monotonic() + settings.gis_wait_seconds
    while True:
        try:
            await advance(
                sessionmaker=ctx.sessionmaker,
                gis=_gis(ctx),
                batch_size=settings.gis_batch_size,
                delivered_on_placement=settings.gis_delivered_on_placement,
                operation_id=op.id,
            )
        except RuntimeError:
            raise  # no GIS client in this process
        except Exception:
            # A busy database (SQLite) or a race with the area's loop: the loop or the next round does it.
            log.warning("GIS notices: advancing failed; retrying", exc_info=True)
        counts = await _counts(ctx.sessionmaker, *where)
        busy = sum(n for s, n in counts.items() if s in IN_FLIGHT)
        await progress(sum(n for s, n in counts.items() if s in settled))
        if busy == 0 or time.monotonic() > deadline:
            return counts
        await asyncio.sleep(0.2)


async def send_job(op: Operation, progress: ops.Progress, ctx: AppContext) -> dict[str, Any]:
    """Send a run's notices through GIS (create, then ship) and wait for GIS's results; safe to re-run."""
    params = op.params or {}
    run_id = uuid.UUID(str(params["run_id"]))
    settings = ctx.settings.monitoring
    left_out: dict[str, int] = {}
    for _ in range(3):
        try:
            async with ctx.sessionmaker() as session, session.begin():
                left_out = await start_send(
                    session=session,
                    gis=_gis(ctx),
                    run_id=run_id,
                    template=params.get("template"),
                    operation_id=op.id,
                    batch_size=settings.gis_batch_size,
                    delivered_on_placement=settings.gis_delivered_on_placement,
                )
            break
        except _Raced:
            await asyncio.sleep(0.2)
    counts = await _wait(ctx, op, progress, Notice.run_id == run_id, settled=("shipped", "error", "recalled"))
    return {
        "shipped": counts.get("shipped", 0) + counts.get("recalled", 0),
        "errors": counts.get("error", 0),
        "in_flight": sum(n for s, n in counts.items() if s in IN_FLIGHT),
        "left_out": left_out,
    }


async def recall_job(op: Operation, progress: ops.Progress, ctx: AppContext) -> dict[str, Any]:
    """Recall notices shipped through GIS (RecallNotification) and wait for GIS's results; safe to re-run."""
    params = op.params or {}
    ids = [uuid.UUID(str(x)) for x in params.get("notice_ids", [])]
    settings = ctx.settings.monitoring
    async with ctx.sessionmaker() as session, session.begin():
        notices = list(
            (
                await session.scalars(
                    _skip_locked(
                        session, select(Notice).where(Notice.id.in_(ids), Notice.gis_status == "shipped")
                    )
                )
            ).all()
        )
        if notices and await _claim(session, [n.id for n in notices], "shipped", "recalling"):
            await _submit(
                session,
                _gis(ctx),
                organisation_id=notices[0].organisation_id,
                operation_id=op.id,
                phase="recall",
                planned=[
                    (
                        n,
                        NotificationItem(
                            transport_guid=str(uuid.uuid4()),
                            action="recall",
                            notification_guid=str(n.gis_notification_guid),
                            recall_reason=params.get("reason") or None,
                        ),
                    )
                    for n in notices
                ],
                batch_size=settings.gis_batch_size,
                delivered_on_placement=settings.gis_delivered_on_placement,
            )
    counts = await _wait(ctx, op, progress, Notice.id.in_(ids), settled=("recalled",))
    errors_count = await _recall_errors(ctx.sessionmaker, op.id)
    return {"recalled": counts.get("recalled", 0), "errors": errors_count}


async def _recall_errors(sessionmaker: async_sessionmaker[AsyncSession], operation_id: uuid.UUID) -> int:
    async with sessionmaker() as session:
        return int(
            await session.scalar(
                select(func.count())
                .select_from(NoticeGisItem)
                .where(NoticeGisItem.operation_id == operation_id, NoticeGisItem.result == "error")
            )
            or 0
        )


async def gis_loop(ctx: AppContext, stop: asyncio.Event) -> None:
    """Ship drafted notices and resend uncertain messages, also when no operation waits for them."""
    settings = ctx.settings.monitoring
    interval = max(ctx.settings.workers.poll_interval, 0.2)
    while not stop.is_set():
        try:
            if ctx.gis is not None:
                await advance(
                    sessionmaker=ctx.sessionmaker,
                    gis=ctx.gis,
                    batch_size=settings.gis_batch_size,
                    delivered_on_placement=settings.gis_delivered_on_placement,
                )
        except Exception:
            log.exception("GIS notices: advancing failed; retrying")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)


async def gis_items(*, session: AsyncSession, notice_id: uuid.UUID) -> list[NoticeGisItem]:
    """Return a notice's GIS actions, oldest first (the per-action results)."""
    return list(
        (
            await session.scalars(
                select(NoticeGisItem)
                .where(NoticeGisItem.notice_id == notice_id)
                .order_by(NoticeGisItem.created_at)
            )
        ).all()
    )
