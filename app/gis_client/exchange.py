"""The durable exchange engine: send → Ack → getState polls → result, persisted at every step.

Life of a `gis_exchanges` row (models/exchange.py)::

    pending ─build, validate, sign, commit─▶ sending ─POST, Ack─▶ acked ─getState…─▶ done | failed
       ▲                                        │                   │
       └── retryable failure (rebuilt) ◀────────┴───────────────────┘     (import, crash) → uncertain

* `sending` is committed BEFORE the POST. A driver that finds a `sending` row whose lease expired knows the
  previous owner died between commit and Ack: an export (or getState) is idempotent, so it is simply rebuilt
  and resent; an IMPORT may already have been accepted by GIS, so resending it could apply it twice (two
  answers to one subrequest, a debt placed twice). Such a row becomes `uncertain`, nothing is sent, and the
  completion hook of its `ref_kind` is called with `Outcome(status="uncertain")` — the "reconcile" signal —
  so the owner can ask GIS what happened (e.g. export the subrequests by GUID) and then call
  `resolve_uncertain(resend=True|False)`. The same applies to an import whose POST failed after the request
  may have been written (read timeout, dropped connection): that is the crash case seen from inside.
* The completion hook runs IN THE SAME TRANSACTION that marks the row done/failed/uncertain, so a result is
  applied exactly once even across crashes: if the hook or the commit fails, the row stays open and the
  (idempotent) getState is repeated later.
* Rows are claimed with a lease (`FOR UPDATE SKIP LOCKED` on PostgreSQL plus a conditional update that also
  serialises SQLite), so several gateway processes share the work without doing any exchange twice.
* Every attempt REBUILDS the message from `payload` (new MessageGUID, Date, SigningTime, signature).

Size: ~700 lines because the engine is one state machine over one row: claiming, sending, recovering,
polling and finishing share the lease and the status transitions above, and split apart they would have to
expose those invariants to each other. What is not the state machine lives beside it: the row's life outside
the engine (`exchange_rows`), outcomes and stored JSON (`outcome`), and each operation's declaration
(`services/`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from lxml import etree
from sqlalchemy import Select, Table, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.base import utcnow
from app.db.models.core import Organisation
from app.db.models.exchange import (
    ACKED,
    DONE,
    FAILED,
    FINAL_STATUSES,
    OPEN_STATUSES,
    PENDING,
    SENDING,
    UNCERTAIN,
    Exchange,
)
from app.gis_client import journal
from app.gis_client.crypto.keys import GostBackend
from app.gis_client.crypto.signer import Signer
from app.gis_client.crypto.xmldsig import sign_element, verify_tree
from app.gis_client.errors import (
    ExchangeUncertain,
    GisError,
    GisProtocolError,
    GisSchemaError,
    GisSignatureError,
    GisTimeoutError,
)
from app.gis_client.exchange_rows import collect_pending, resolve_uncertain, submit, submit_leased
from app.gis_client.operations import Operation, get_state_operation
from app.gis_client.outcome import (
    CompletionHook,
    Outcome,
    decode_result,
    encode_payload,
    encode_result,
    error_code_of,
    is_import,
    outcome_of,
)
from app.gis_client.parse import body_element, error_to_fault, parse_ack, parse_state
from app.gis_client.poll_timing import FirstPoll
from app.gis_client.retry import RetryPolicy, is_empty_result, is_retryable, retry_reason
from app.gis_client.services import get_operation
from app.gis_client.services.common import StateResult
from app.gis_client.wire.envelope import build_envelope, build_get_state, new_guid, serialize
from app.gis_client.wire.schemas import SchemaSet
from app.gis_client.wire.transport import HttpReply, Transport, not_delivered
from app.settings import Settings

try:  # the ops engineer's Prometheus module; the engine works without it
    from app import metrics as _metrics
except ImportError:  # pragma: no cover
    _metrics = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

__all__ = [
    "CompletionHook",
    "ExchangeEngine",
    "ExchangeUncertain",
    "Outcome",
    "collect_pending",
    "decode_result",
    "encode_payload",
    "encode_result",
    "resolve_uncertain",
    "submit",
    "submit_leased",
]


def _observe(name: str, *labels: str, value: float | None = None) -> None:
    """Feed app.metrics if it has the metric (kept tolerant: metrics must never break an exchange)."""
    metric = getattr(_metrics, name, None) if _metrics is not None else None
    if metric is None:
        return
    try:
        if value is None:
            metric.labels(*labels).inc()
        else:
            metric.labels(*labels).observe(value)
    except (ValueError, TypeError):  # pragma: no cover - label mismatch after a metrics change
        log.debug("metric %s not updated", name)


# ------------------------------------------------------------------------------------------------ engine

_T: Table = Exchange.__table__  # type: ignore[assignment]
_PPA_GUID = (
    select(Organisation.ppa_guid)
    .where(Organisation.id == _T.c.organisation_id)
    .scalar_subquery()
    .label("ppa_guid")
)
#: What a step reads of its row: returned by the claiming UPDATE itself, so a step reads nothing more.
_STEP_COLUMNS = (
    _T.c.id, _T.c.organisation_id, _T.c.service, _T.c.operation, _T.c.status, _T.c.payload, _T.c.ref_kind,
    _T.c.attempts, _T.c.failures, _T.c.poll_count, _T.c.first_sent_at, _T.c.acked_at, _T.c.gis_message_guid,
    _T.c.locked_by, _PPA_GUID,
)  # fmt: skip


@dataclass(slots=True)
class Claimed:
    """What one step needs of a leased row and its organisation's ppa GUID, read once when it was claimed."""

    id: uuid.UUID
    organisation_id: uuid.UUID
    service: str
    operation: str
    status: str
    payload: dict[str, Any]
    ref_kind: str | None
    attempts: int
    failures: int
    poll_count: int
    first_sent_at: datetime | None
    acked_at: datetime | None
    gis_message_guid: uuid.UUID | None
    locked_by: str | None
    ppa_guid: uuid.UUID | None

    @classmethod
    def of(cls, row: Any) -> Claimed:
        """Build from a row of `_STEP_COLUMNS`."""
        return cls(*row)


def _due(now: datetime, *, limit: int) -> Select[Any]:
    """The ids of up to `limit` due, unleased rows (oldest `next_at` first)."""
    return (
        select(_T.c.id)
        .where(_T.c.status.in_(OPEN_STATUSES))
        .where(or_(_T.c.next_at.is_(None), _T.c.next_at <= now))
        .where(or_(_T.c.lease_until.is_(None), _T.c.lease_until < now))
        .order_by(_T.c.next_at)
        .limit(limit)
    )


def _lease(now: datetime, ids: Any, *, lease_until: datetime, worker: str) -> Any:
    """The UPDATE that leases the rows of `ids` still due and free, returning what their steps need."""
    free = or_(_T.c.lease_until.is_(None), _T.c.lease_until < now)
    due = or_(_T.c.next_at.is_(None), _T.c.next_at <= now)
    return (
        update(_T)
        .where(_T.c.id.in_(ids), _T.c.status.in_(OPEN_STATUSES), due, free)
        .values(lease_until=lease_until, locked_by=worker)
        .returning(*_STEP_COLUMNS)
    )


class LeaseLost(Exception):
    """Another driver owns the row now (our lease expired); stop touching it."""


def default_worker_id() -> str:
    """Return a label naming this process in `locked_by`."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class ExchangeEngine:
    """Drives exchange rows through their states; one per process (or more, they share via leases)."""

    def __init__(
        self,
        *,
        settings: Settings,
        transport: Transport,
        signer: Signer,
        backend: GostBackend,
        schemas: SchemaSet | None,
        policy: RetryPolicy | None = None,
        worker_id: str | None = None,
        clock: Callable[[], datetime] = utcnow,
        hooks: Mapping[str, CompletionHook] | None = None,
        audit: CompletionHook | None = None,
    ) -> None:
        self.settings = settings
        self.hooks: Mapping[str, CompletionHook] = dict(hooks or {})
        self.audit = audit
        self.transport = transport
        self.signer = signer
        self.backend = backend
        self.schemas = schemas
        self.policy = policy or RetryPolicy.from_settings(settings)
        self.worker_id = worker_id or default_worker_id()
        self.clock = clock
        # A lease must outlive one HTTP call (connect + read) with margin; a crash frees the row after it.
        self.lease = timedelta(seconds=settings.gis.connect_timeout + settings.gis.read_timeout + 30)
        self.issuer_style: Any = "der" if settings.gis.issuer_style == "der" else "server"
        # The first getState of a message comes when GIS answered the last ones (within the official bounds).
        self.first_poll = FirstPoll(settings.gis.poll_schedule or [10.0])
        # Outcomes finished by this engine, handed to `wait` as parsed (no JSON round trip needed).
        self._finished: dict[uuid.UUID, Outcome] = {}
        # Rows this engine has just leased, as the claiming UPDATE returned them (popped by their step).
        self._claimed: dict[uuid.UUID, Claimed] = {}

    # --- claiming ---------------------------------------------------------------------------------

    async def claim(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        limit: int = 10,
        only: uuid.UUID | None = None,
    ) -> list[uuid.UUID]:
        """Lease up to `limit` due rows to this driver; return their ids.

        PostgreSQL: one UPDATE whose CTE locks the due rows `FOR UPDATE SKIP LOCKED`, so concurrent drivers
        take disjoint rows. SQLite (no row locks): a read of the due ids first, so an idle driver
        never takes the database's write lock, then the same UPDATE on those ids; it repeats the condition and
        runs under the write lock, so of two drivers that read the same row only one leases it. Either way
        the UPDATE returns what the rows' steps need, and a step reads nothing more. One row (`only`, from
        `wait`, which claims a row it has seen due): the UPDATE alone, on both databases; it repeats the
        conditions, and PostgreSQL re-checks them on a row another driver changed meanwhile.
        """
        now = self.clock()
        until, worker = now + self.lease, self.worker_id
        async with sessionmaker() as session, session.begin():
            if only is not None:
                stmt = _lease(now, [only], lease_until=until, worker=worker)
            elif session.bind is not None and session.bind.dialect.name == "postgresql":
                # A MATERIALIZED CTE runs the locking SELECT once: as a plain `IN (subquery)` PostgreSQL may
                # rescan it per row, and a rescan sees the rows just updated elsewhere in the heap.
                due = _due(now, limit=limit).with_for_update(skip_locked=True)
                locked = due.cte("due").prefix_with("MATERIALIZED")
                stmt = _lease(now, select(locked.c.id).scalar_subquery(), lease_until=until, worker=worker)
            else:
                ids = list((await session.scalars(_due(now, limit=limit))).all())
                if not ids:
                    return []
                stmt = _lease(now, ids, lease_until=until, worker=worker)
            rows = [Claimed.of(row) for row in (await session.execute(stmt)).all()]
        if len(self._claimed) > 1000:  # claimed rows whose step never ran (a cancelled driver): read again
            self._claimed.clear()
        for row in rows:
            self._claimed[row.id] = row
        return [row.id for row in rows]

    async def drive_once(self, sessionmaker: async_sessionmaker[AsyncSession], *, limit: int = 10) -> int:
        """Claim due rows and advance each by one step (concurrently); return how many were handled."""
        ids = await self.claim(sessionmaker, limit=limit)
        if ids:
            await asyncio.gather(*(self.step_safely(sessionmaker, i) for i in ids))
        return len(ids)

    async def run_loop(
        self, sessionmaker: async_sessionmaker[AsyncSession], stop: asyncio.Event, *, interval: float
    ) -> None:
        """Drive exchanges until `stop` is set."""
        while not stop.is_set():
            handled = 0
            try:
                handled = await self.drive_once(sessionmaker)
            except Exception:
                log.exception("exchange driver failed; retrying")
            if not handled:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=interval)

    async def step_safely(
        self, sessionmaker: async_sessionmaker[AsyncSession], exchange_id: uuid.UUID
    ) -> None:
        """Advance one claimed row; an unexpected error backs the row off instead of killing the driver."""
        try:
            await self.step(sessionmaker, exchange_id)
        except LeaseLost:
            log.warning("exchange %s: lease lost to another driver", exchange_id)
        except Exception as exc:
            log.exception("exchange %s: step failed", exchange_id)
            with contextlib.suppress(Exception):
                await self._back_off(sessionmaker, exchange_id, exc)

    # --- one step -----------------------------------------------------------------------------------

    async def step(self, sessionmaker: async_sessionmaker[AsyncSession], exchange_id: uuid.UUID) -> None:
        """Advance one row this driver has claimed by one state."""
        exchange = self._claimed.pop(exchange_id, None)
        if exchange is None:
            async with sessionmaker() as session:
                row = (await session.execute(select(*_STEP_COLUMNS).where(_T.c.id == exchange_id))).first()
            exchange = Claimed.of(row) if row is not None else None
        if exchange is None or exchange.locked_by != self.worker_id:
            raise LeaseLost(str(exchange_id))
        if exchange.ppa_guid is None:  # pragma: no cover - FK with CASCADE makes this impossible
            raise GisProtocolError(f"organisation of exchange {exchange_id} is gone")
        if exchange.status == SENDING:
            await self._recover(sessionmaker, exchange)
        elif exchange.status == PENDING:
            await self._send(sessionmaker, exchange)
        elif exchange.status == ACKED:
            await self._poll(sessionmaker, exchange)

    async def _update(self, session: AsyncSession, exchange_id: uuid.UUID, **values: Any) -> None:
        """Update our own row; raise LeaseLost if another driver took it meanwhile."""
        result = await session.execute(
            update(_T).where(_T.c.id == exchange_id, _T.c.locked_by == self.worker_id).values(**values)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise LeaseLost(str(exchange_id))

    async def _journal(
        self,
        session: AsyncSession,
        exchange: Claimed,
        *,
        direction: str,
        operation: str,
        data: bytes | None,
        message_guid: str | None = None,
        reply: HttpReply | None = None,
        error: BaseException | None = None,
    ) -> None:
        """Write one journal entry of this exchange (a Core INSERT in the caller's transaction)."""
        entry = journal.entry_values(
            direction=direction,
            operation=operation,
            data=data,
            max_bytes=self.settings.journal.max_bytes,
            exchange_id=exchange.id,
            organisation_id=exchange.organisation_id,
            message_guid=message_guid,
            http_status=reply.status if reply else None,
            duration_ms=reply.duration_ms if reply else None,
            error=f"{type(error).__name__}: {error_code_of(error)}" if error is not None else None,
        )
        await journal.write_entries(session, [entry])

    def _release(self, **values: Any) -> dict[str, Any]:
        return {"lease_until": None, "locked_by": None, **values}

    async def _recover(self, sessionmaker: async_sessionmaker[AsyncSession], exchange: Claimed) -> None:
        """A `sending` row whose owner died: resend an export, park an import as `uncertain`."""
        if is_import(exchange.operation):
            log.warning("exchange %s (%s) left in sending: marked uncertain", exchange.id, exchange.operation)
            error = ExchangeUncertain(
                "the request may have reached GIS before the gateway stopped; reconcile before resending"
            )
            await self._finish(sessionmaker, exchange, Outcome(UNCERTAIN, error=error))
            return
        log.info(
            "exchange %s (%s) left in sending: rebuilding and resending", exchange.id, exchange.operation
        )
        # No separate write back to `pending`: the resend's own update (to `sending`, before the POST) is the
        # next write, and a crash before it leaves the row in `sending` to be recovered the same way again.
        exchange.status = PENDING
        await self._send(sessionmaker, exchange)

    async def build_message(self, exchange: Exchange, org: Organisation) -> tuple[Operation, str, bytes]:
        """Build, validate and sign the request of an exchange; return (operation, MessageGUID, bytes)."""
        return await self._build(exchange.operation, exchange.payload, org.ppa_guid)

    async def _build(
        self, operation: str, payload: Mapping[str, Any], ppa_guid: uuid.UUID | None
    ) -> tuple[Operation, str, bytes]:
        op = get_operation(operation, self.settings.gis.versions)
        if op.build is None:
            raise GisSchemaError(f"no builder declared for {operation}")
        try:
            body = op.build_body(payload)
        except GisError:
            raise
        except (ValueError, KeyError, TypeError) as exc:
            raise GisSchemaError(f"payload of {operation} cannot be built: {exc}") from None
        message_guid = new_guid()
        envelope = build_envelope(op, body, org_ppa_guid=str(ppa_guid), message_guid=message_guid)
        if self.schemas is not None:
            self.schemas.validate_envelope(envelope)
        await sign_element(envelope, body, self.signer, issuer_style=self.issuer_style, backend=self.backend)
        return op, message_guid, serialize(envelope)

    async def _send(self, sessionmaker: async_sessionmaker[AsyncSession], exchange: Claimed) -> None:
        """Build, validate, sign, commit `sending`, POST, store the Ack."""
        try:
            op, message_guid, data = await self._build(
                exchange.operation, exchange.payload, exchange.ppa_guid
            )
        except GisError as exc:
            await self._finish(sessionmaker, exchange, Outcome(FAILED, error=exc))
            return
        now = self.clock()
        attempts = exchange.attempts + 1
        async with sessionmaker() as session, session.begin():
            await self._update(
                session,
                exchange.id,
                status=SENDING,
                requester_message_guid=uuid.UUID(message_guid),
                attempts=attempts,
                first_sent_at=exchange.first_sent_at or now,
                lease_until=now + self.lease,
            )
            await self._journal(session, exchange, direction=journal.OUT, operation=op.name, data=data,
                                message_guid=message_guid)  # fmt: skip
        exchange.attempts, exchange.first_sent_at = attempts, exchange.first_sent_at or now
        reply: HttpReply | None = None
        try:
            reply = await self.transport.post(op.path, op.soap_action_header, data)
            _observe("GIS_HTTP_SECONDS", op.service.value, op.name, value=reply.duration_ms / 1000)
            ack = parse_ack(self.transport.interpret(reply))
        except GisError as exc:
            await self._send_failed(sessionmaker, exchange, op, exc, reply, delivered=not not_delivered(exc))
            return
        now = self.clock()
        async with sessionmaker() as session, session.begin():
            await self._journal(session, exchange, direction=journal.IN, operation=op.name,
                                data=reply.content, reply=reply)  # fmt: skip
            await self._update(
                session,
                exchange.id,
                **self._release(
                    status=ACKED,
                    gis_message_guid=uuid.UUID(ack.message_guid),
                    acked_at=now,
                    next_at=now + timedelta(seconds=self.first_poll.delay(exchange.operation)),
                    poll_count=0,
                    failures=0,
                    error_code=None,
                    error_message=None,
                ),
            )
        log.info("exchange %s (%s): acked by GIS", exchange.id, op.name)

    async def _send_failed(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        exchange: Claimed,
        op: Operation,
        exc: GisError,
        reply: HttpReply | None,
        *,
        delivered: bool,
    ) -> None:
        if is_empty_result(exc):
            await self._finish(sessionmaker, exchange, Outcome(DONE, empty=True), reply=reply, op=op)
            return
        if delivered and is_import(exchange.operation):
            # The request may have been written before the connection broke: same as a crash mid-POST.
            log.warning(
                "exchange %s (%s): delivery unknown after %s", exchange.id, op.name, type(exc).__name__
            )
            await self._finish(sessionmaker, exchange, Outcome(UNCERTAIN, error=exc), reply=reply, op=op)
            return
        await self._retry_or_fail(sessionmaker, exchange, exc, reply=reply, op=op)

    async def _retry_or_fail(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        exchange: Claimed,
        exc: GisError,
        *,
        reply: HttpReply | None,
        op: Operation,
    ) -> None:
        """Schedule a rebuilt resend after the back-off, or fail (final error, retries exhausted)."""
        now = self.clock()
        elapsed = (now - exchange.first_sent_at).total_seconds() if exchange.first_sent_at else 0.0
        delay = self.policy.delay(max(exchange.attempts, 1), exc, elapsed=elapsed)
        if delay is None:
            await self._finish(sessionmaker, exchange, Outcome(FAILED, error=exc), reply=reply, op=op)
            return
        _observe("GIS_RETRIES", exchange.operation, retry_reason(exc))
        log.warning("exchange %s (%s): %s, resending in %.1f s", exchange.id, exchange.operation,
                    error_code_of(exc), delay)  # fmt: skip
        async with sessionmaker() as session, session.begin():
            await self._journal(session, exchange, direction=journal.IN, operation=op.name,
                                data=reply.content if reply else None, reply=reply, error=exc)  # fmt: skip
            await self._update(
                session,
                exchange.id,
                **self._release(
                    status=PENDING,
                    next_at=now + timedelta(seconds=delay),
                    failures=exchange.failures + 1,
                    error_code=error_code_of(exc),
                    error_message=str(exc)[:2000],
                ),
            )

    def _poll_delay(self, poll_count: int) -> float:
        schedule = self.settings.gis.poll_schedule or [10.0]
        return schedule[min(poll_count, len(schedule) - 1)]

    async def _poll(self, sessionmaker: async_sessionmaker[AsyncSession], exchange: Claimed) -> None:
        """Ask getState once; reschedule, finish, or go back to a rebuilt resend."""
        now = self.clock()
        if exchange.acked_at and (now - exchange.acked_at).total_seconds() > self.settings.gis.give_up_after:
            error = GisTimeoutError(f"no result from GIS within {self.settings.gis.give_up_after:.0f} s")
            await self._finish(sessionmaker, exchange, Outcome(FAILED, error=error), code="gave_up")
            return
        op = get_state_operation(exchange.service)
        message_guid = new_guid()
        envelope = build_get_state(
            exchange.service, str(exchange.gis_message_guid), org_ppa_guid=str(exchange.ppa_guid),
            message_guid=message_guid,
        )  # fmt: skip
        data = serialize(envelope)
        async with sessionmaker() as session, session.begin():
            await self._journal(session, exchange, direction=journal.OUT, operation=op.name, data=data,
                                message_guid=message_guid)  # fmt: skip
        reply: HttpReply | None = None
        try:
            reply = await self.transport.post(op.path, op.soap_action_header, data)
            _observe("GIS_HTTP_SECONDS", op.service.value, op.name, value=reply.duration_ms / 1000)
            state = self.read_state(exchange, reply)
        except GisError as exc:
            await self._poll_failed(sessionmaker, exchange, op, exc, reply)
            return
        if not state.done:
            count = exchange.poll_count + 1
            async with sessionmaker() as session, session.begin():
                await self._journal(session, exchange, direction=journal.IN, operation=op.name,
                                    data=reply.content, reply=reply)  # fmt: skip
                await self._update(
                    session,
                    exchange.id,
                    **self._release(
                        poll_count=count, failures=0, next_at=now + timedelta(seconds=self._poll_delay(count))
                    ),
                )
            return
        if exchange.acked_at is not None:
            elapsed = (now - exchange.acked_at).total_seconds()
            self.first_poll.observe(exchange.operation, polls_before=exchange.poll_count, elapsed=elapsed)
        if state.error is not None:
            fault = error_to_fault(state.error, self.transport.retryable_codes)
            if is_empty_result(fault):
                await self._finish(sessionmaker, exchange, Outcome(DONE, empty=True), reply=reply, op=op)
            elif is_retryable(fault):
                await self._retry_or_fail(sessionmaker, exchange, fault, reply=reply, op=op)
            else:
                await self._finish(sessionmaker, exchange, Outcome(FAILED, error=fault), reply=reply, op=op)
            return
        await self._finish(sessionmaker, exchange, Outcome(DONE, payload=state.payload), reply=reply, op=op)

    def read_state(self, exchange: Claimed | Exchange, reply: HttpReply) -> StateResult:
        """Turn a getState answer into its state: parsed once, result validated and its signature checked."""
        # One tree serves validation, parsing and verification (the signature is checked on the tree parsed
        # from the received bytes, which is what "as received" means; nothing here mutates it).
        document = self.transport.interpret(reply)
        state = parse_state(document)
        if state.done:
            self._check_result_schema(exchange, document)
            self._check_signature(exchange, document)
        return state

    def _check_result_schema(self, exchange: Claimed | Exchange, document: etree._Element) -> None:
        mode = self.settings.gis.validate_responses
        if mode == "off" or self.schemas is None:
            return
        try:
            self.schemas.validate(body_element(document))
        except GisSchemaError as exc:
            if mode == "reject":
                raise
            # Path and rule only: libxml2 messages quote the offending value, which may be personal data.
            log.warning(
                "exchange %s: GIS result does not match the XSD at %s [%s]; accepted (log mode)",
                exchange.id, exc.path, exc.rule,
            )  # fmt: skip

    def _check_signature(self, exchange: Claimed | Exchange, document: etree._Element) -> None:
        mode = self.settings.gis.verify_responses
        if mode == "off":
            return
        try:
            report = verify_tree(document, backend=self.backend)
            problem = None if report.valid else "; ".join(f"{c.name}: {c.reason}" for c in report.failed())
        except GisError as exc:
            problem = str(exc)
        if problem is None:
            return
        if mode == "reject":
            raise GisSignatureError(f"GIS result signature rejected: {problem}")
        log.warning(
            "exchange %s: GIS result signature not valid (%s); accepted (log mode)", exchange.id, problem
        )

    async def _poll_failed(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        exchange: Claimed,
        op: Operation,
        exc: GisError,
        reply: HttpReply | None,
    ) -> None:
        if is_empty_result(exc):
            await self._finish(sessionmaker, exchange, Outcome(DONE, empty=True), reply=reply, op=op)
            return
        if not is_retryable(exc):
            await self._finish(sessionmaker, exchange, Outcome(FAILED, error=exc), reply=reply, op=op)
            return
        # getState is idempotent: keep asking (backing off) until gis_give_up_after.
        now = self.clock()
        delay = float(self.policy.wait(self.policy._state(exchange.failures + 1, exc, 0.0)))
        _observe("GIS_RETRIES", "getState", retry_reason(exc))
        async with sessionmaker() as session, session.begin():
            await self._journal(session, exchange, direction=journal.IN, operation=op.name,
                                data=reply.content if reply else None, reply=reply, error=exc)  # fmt: skip
            await self._update(
                session,
                exchange.id,
                **self._release(
                    failures=exchange.failures + 1,
                    next_at=now + timedelta(seconds=delay),
                    error_code=error_code_of(exc),
                    error_message=str(exc)[:2000],
                ),
            )

    async def _finish(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        exchange: Claimed,
        outcome: Outcome,
        *,
        reply: HttpReply | None = None,
        op: Operation | None = None,
        code: str | None = None,
    ) -> None:
        """Mark the row final and call the completion hook in the same transaction (exactly once)."""
        now = self.clock()
        values: dict[str, Any] = {"status": outcome.status, "finished_at": now, "next_at": None}
        if outcome.status == DONE:
            values.update(
                result=encode_result(exchange.operation, outcome.payload, empty=outcome.empty),
                error_code=None,
                error_message=None,
            )
        elif outcome.error is not None:
            values.update(
                error_code=code or error_code_of(outcome.error), error_message=str(outcome.error)[:2000]
            )
        try:
            async with sessionmaker() as session, session.begin():
                if reply is not None and op is not None:
                    await self._journal(session, exchange, direction=journal.IN, operation=op.name,
                                        data=reply.content, reply=reply,
                                        error=outcome.error if outcome.status != DONE else None)  # fmt: skip
                hook = self.hooks.get(exchange.ref_kind or "")
                final = self._release(**values)
                row = await self._mark_final(session, exchange, final, load=hook is not None)
                if hook is not None:
                    await hook(session, row, outcome)
                if self.audit is not None:
                    await self.audit(session, row, outcome)
        except LeaseLost:
            raise
        except Exception as exc:
            # Hook or commit failed: nothing was applied; the row stays open and the step is repeated.
            log.exception("exchange %s: completion failed; will retry", exchange.id)
            await self._back_off(sessionmaker, exchange.id, exc)
            return
        if len(self._finished) > 1000:  # only `wait` callers read it; keep it from growing unbounded
            self._finished.clear()
        self._finished[exchange.id] = outcome
        _observe(
            "GIS_EXCHANGES",
            exchange.service,
            exchange.operation,
            "empty" if outcome.empty else outcome.status,
        )
        if exchange.first_sent_at is not None:
            seconds = (now - exchange.first_sent_at).total_seconds()
            _observe("GIS_EXCHANGE_SECONDS", exchange.service, exchange.operation, value=seconds)
        log.info("exchange %s (%s): %s", exchange.id, exchange.operation, outcome.status)

    async def _mark_final(
        self, session: AsyncSession, exchange: Claimed, values: dict[str, Any], *, load: bool
    ) -> Exchange:
        """Mark the row final in one statement; return it for the hooks and the audit.

        `load` (a completion hook will get the row): an ORM UPDATE … RETURNING loads the whole row. Otherwise
        a Core UPDATE returns the few columns the audit reads, handed over as a detached Exchange (the ORM's
        bulk-update path was about 5 % of the gateway's CPU on a house sync).
        """
        mine = (_T.c.id == exchange.id, _T.c.locked_by == self.worker_id)
        if load:
            stmt = (
                update(Exchange)
                .where(*mine)
                .values(**values)
                .returning(Exchange)
                .execution_options(synchronize_session=False, populate_existing=True)
            )
            row = (await session.scalars(stmt)).one_or_none()
            if row is None:
                raise LeaseLost(str(exchange.id))
            return row
        stmt_core = update(_T).where(*mine).values(**values).returning(_T.c.attempts, _T.c.error_code)
        returned = (await session.execute(stmt_core)).first()
        if returned is None:
            raise LeaseLost(str(exchange.id))
        return Exchange(
            id=exchange.id, organisation_id=exchange.organisation_id, service=exchange.service,
            operation=exchange.operation, ref_kind=exchange.ref_kind, attempts=returned.attempts,
            error_code=returned.error_code, status=values["status"], finished_at=values["finished_at"],
        )  # fmt: skip

    async def _back_off(
        self, sessionmaker: async_sessionmaker[AsyncSession], exchange_id: uuid.UUID, exc: BaseException
    ) -> None:
        """Release our lease with a delayed next_at after an unexpected error."""
        async with sessionmaker() as session, session.begin():
            row = await session.get(Exchange, exchange_id)
            if row is None or row.locked_by != self.worker_id:
                return
            delay = min(self.policy.max_delay, self.policy.initial_delay * 2 ** min(row.failures, 16))
            await self._update(
                session,
                exchange_id,
                **self._release(
                    failures=row.failures + 1,
                    next_at=self.clock() + timedelta(seconds=delay),
                    error_message=f"{type(exc).__name__}"[:2000],
                ),
            )

    # --- run to completion ------------------------------------------------------------------------

    async def run(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        organisation_id: uuid.UUID,
        operation: str,
        payload: Mapping[str, Any] | Any,
        ref_kind: str | None = None,
        ref_id: str | None = None,
        idempotency_key: str | None = None,
        timeout: float | None = None,
        interval: float | None = None,
    ) -> Outcome:
        """Submit one exchange and drive it to completion through the persisted states; return its outcome.

        Raises the typed GisError of a failed exchange (ExchangeUncertain for an uncertain import).
        """
        until = self.clock() + self.lease
        claimed: Claimed | None = None
        async with sessionmaker() as session, session.begin():
            exchange, added = await submit_leased(
                session, organisation_id=organisation_id, operation=operation, payload=payload,
                ref_kind=ref_kind, ref_id=ref_id, idempotency_key=idempotency_key,
                lease=(self.worker_id, until),
            )  # fmt: skip
            exchange_id = exchange.id
            # A row this call added is leased to us: ours to send now, no claim needed. A row found by its
            # idempotency key goes through `wait`, which claims it if it is due and free.
            if added:
                ppa = await session.scalar(
                    select(Organisation.ppa_guid).where(Organisation.id == exchange.organisation_id)
                )
                claimed = Claimed(
                    id=exchange.id, organisation_id=exchange.organisation_id, service=exchange.service,
                    operation=exchange.operation, status=exchange.status, payload=exchange.payload,
                    ref_kind=exchange.ref_kind, attempts=exchange.attempts, failures=exchange.failures,
                    poll_count=exchange.poll_count, first_sent_at=None, acked_at=None, gis_message_guid=None,
                    locked_by=self.worker_id, ppa_guid=ppa,
                )  # fmt: skip
        if claimed is not None:
            self._claimed[exchange_id] = claimed
            await self.step_safely(sessionmaker, exchange_id)
        return await self.wait(
            sessionmaker, exchange_id, timeout=timeout, interval=interval, claim_first=claimed is None
        )

    async def wait(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        exchange_id: uuid.UUID,
        *,
        timeout: float | None = None,
        interval: float | None = None,
        claim_first: bool = True,
    ) -> Outcome:
        """Drive (or wait for another driver to finish) one exchange; return its outcome or raise.

        `claim_first`: try to lease the row before reading it (False when the caller has just stepped it).
        """
        interval = interval if interval is not None else self.settings.workers.poll_interval
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout if timeout is not None else None
        watch = select(_T.c.status, _T.c.next_at, _T.c.lease_until).where(_T.c.id == exchange_id)
        # True when the row should be due now (just submitted, or we slept until its next_at): try to lease it
        # before reading it; the claim's own conditions decide, and a row it does not get is read below.
        expect_due = claim_first
        while True:
            live = self._finished.get(exchange_id)
            if live is not None and live.status == DONE:  # this engine committed it as done: nothing to read
                del self._finished[exchange_id]
                return live
            if expect_due:
                expect_due = False
                if await self.claim(sessionmaker, limit=1, only=exchange_id):
                    await self.step_safely(sessionmaker, exchange_id)
                    continue
            # Only the row's status and timing are read while it runs; the whole row once, when it is final.
            async with sessionmaker() as session:
                row = (await session.execute(watch)).first()
                if row is None:
                    raise GisProtocolError(f"exchange {exchange_id} does not exist")
                if row.status in FINAL_STATUSES:
                    live = self._finished.pop(exchange_id, None)
                    if live is not None and live.status == row.status == DONE:
                        outcome = live
                    else:
                        final = await session.get(Exchange, exchange_id)
                        if final is None:  # pragma: no cover - deleted between the two reads
                            raise GisProtocolError(f"exchange {exchange_id} does not exist")
                        outcome = outcome_of(final)
                    if outcome.error is not None:
                        raise outcome.error
                    return outcome
            now = self.clock()
            ready = all(t is None or t <= now for t in (row.next_at, row.lease_until))
            if ready and await self.claim(sessionmaker, limit=1, only=exchange_id):  # not due: no claim
                await self.step_safely(sessionmaker, exchange_id)
                continue
            if deadline is not None and loop.time() >= deadline:
                raise GisTimeoutError(f"exchange {exchange_id} not finished within {timeout} s")
            due = [t for t in (row.next_at, row.lease_until) if t is not None and t > now]
            until_due = min((t - now).total_seconds() for t in due) if due else None
            pause = interval if until_due is None else min(interval, until_due)
            expect_due = until_due is not None and until_due <= interval
            await asyncio.sleep(max(pause, 0.01))
