"""Send and revoke answers: files first, then messages of ≤ 100 actions; results applied by TransportGUID.

Exactly-once: a batch, its items (TransportGUID ↔ request) and the durable GIS exchange that carries it are
committed in ONE transaction, and the exchange engine applies the result through `apply_batch_results` in
the transaction that marks the exchange done. A request in flight (`send_batch_id` set) is never batched
again; an import whose POST may have reached GIS before a crash ("uncertain") is reconciled by exporting the
requests by GUID and resending only those GIS does not show as answered.

Long (about 950 lines) because it is one state machine: batches, their items, the exchange that carries them,
result application, uncertain-batch reconciliation and split-and-resend must change together to stay
exactly-once.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.base import utcnow
from app.db.models.core import Organisation
from app.db.models.debt_requests import (
    WITHDRAWN,
    DebtAnswer,
    DebtDocument,
    DebtSendBatch,
    DebtSendItem,
    DebtSubrequest,
)
from app.domain.debt_requests import xsd_facets
from app.domain.debt_requests.common import (
    FILE_CONTEXT,
    PREPARED,
    REF_KIND,
    REVOKED,
    SENT,
    DsrGateway,
    add_history,
    chunks,
    get_subrequest_or_raise,
    history_row,
)
from app.domain.kernel import audit
from app.domain.kernel import errors as d
from app.domain.kernel import operations as ops
from app.domain.kernel.access import SYSTEM, Principal
from app.domain.kernel.calendar import add_working_days, moscow_today
from app.gis_client.messages import (
    MAX_DSR_ACTIONS,
    Attachment,
    DebtInfo,
    DSRAction,
    DSRResponseData,
    ExportDSRsQuery,
    GisError,
    IdentityDocument,
    NsiRef,
    Person,
    build_import_dsr_responses,
)
from app.gis_client.messages import (
    DebtDocument as GisDebtDocument,
)

log = logging.getLogger(__name__)

SUBMITTED, RECONCILING, DONE, FAILED = "submitted", "reconciling", "done", "failed"
#: Operation priority of work for answers near their deadline (the fair queue runs it first).
DEADLINE_PRIORITY = 10
IN_PROGRESS = (SUBMITTED, RECONCILING)
#: Result of the items of a message refused as a whole and split: they went out again in new messages.
SPLIT = "split"
#: GIS refusing an action because the requester withdrew the request (the stand's code; GIS publishes none).
REQUEST_WITHDRAWN_CODES = frozenset({"INT002049"})
#: Error code on a request whose answer was left out of a message because the message could not carry it.
INVALID_ANSWER = "INVALID_ANSWER"
#: Failures that refuse a whole message for what it carries (local XSD, GIS format codes, gis-protocol §8):
#: splitting it lets the good answers go. Transport failures, timeouts and access refusals are not here:
#: every part of the message would meet them again.
WHOLE_MESSAGE_CODES = frozenset({"schema", "FMT001300", "FMT001307", "FMT001310"})


@dataclass(frozen=True)
class Batching:
    """What create_batches queued, and which requests it left out (id, why)."""

    batch_ids: list[uuid.UUID]
    left_out: list[tuple[uuid.UUID, str]]


@dataclass(frozen=True, slots=True)
class AnswerData:
    """The columns of a drafted answer that the message carries (read without an ORM object)."""

    has_debt: bool
    description: str | None
    executor_guid: uuid.UUID
    defendants: list[dict[str, Any]]
    debt_guids: list[str]
    additional_document_ids: list[str]


_ANSWER_COLUMNS = (
    DebtAnswer.subrequest_id,
    DebtAnswer.has_debt,
    DebtAnswer.description,
    DebtAnswer.executor_guid,
    DebtAnswer.defendants,
    DebtAnswer.debt_guids,
    DebtAnswer.additional_document_ids,
)


@dataclass(frozen=True, slots=True)
class SendCandidate:
    """A request about to be batched: its id and the GIS subrequest GUID its action names."""

    id: uuid.UUID
    subrequest_guid: uuid.UUID


@dataclass(frozen=True)
class ItemOutcome:
    """Per-item result of an import: ok, or the GIS error code and text."""

    transport_guid: uuid.UUID
    ok: bool
    error_code: str | None = None
    error_text: str | None = None


# ------------------------------------------------------------------------------------------ message building


def _attachment(doc: DebtDocument) -> Attachment:
    if doc.file_guid is None:
        raise d.ConflictError(
            f"Document {doc.id} is not uploaded to the GIS file store yet.", rule="file_pending"
        )
    return Attachment(
        name=doc.file_name,
        description=doc.description,
        attachment_guid=str(doc.file_guid),
        hash=doc.gost94_hash,
    )


def build_response(answer: DebtAnswer | AnswerData, documents: dict[str, DebtDocument]) -> DSRResponseData:
    """Turn a stored answer into the responseData of an importDSRResponses action."""
    infos: list[DebtInfo] = []
    for p in answer.defendants:
        doc = p.get("document")
        identity = None
        if doc:
            identity = IdentityDocument(
                type=NsiRef(code=doc["type_code"], guid=doc["type_guid"]),
                number=doc["number"],
                series=doc.get("series"),
            )
        proofs = tuple(
            GisDebtDocument(
                type=NsiRef(code=documents[x].nsi_code, guid=str(documents[x].nsi_guid)),
                attachment=_attachment(documents[x]),
            )
            for x in p.get("document_ids", [])
        )
        infos.append(
            DebtInfo(
                person=Person(
                    first_name=p["first_name"],
                    last_name=p["last_name"],
                    middle_name=p.get("middle_name"),
                    snils=p.get("snils"),
                    document=identity,
                ),
                documents=proofs,
            )
        )
    return DSRResponseData(
        has_debt=answer.has_debt,
        executor_guid=str(answer.executor_guid),
        debt_info=tuple(infos),
        debt_guids=tuple(answer.debt_guids),
        additional_files=tuple(_attachment(documents[x]) for x in answer.additional_document_ids),
        description=answer.description,
    )


def _referenced_document_ids(answer: DebtAnswer | AnswerData) -> set[str]:
    ids = set(answer.additional_document_ids)
    for p in answer.defendants:
        ids.update(p.get("document_ids", []))
    return ids


# ---------------------------------------------------------------------------------------------- file upload


async def upload_pending_files(
    *,
    sessionmaker: async_sessionmaker[AsyncSession],
    gateway: DsrGateway,
    organisation: Organisation,
    subrequest_ids: Sequence[uuid.UUID] | None = None,
) -> int:
    """Upload to the file store every document a prepared answer references that is not uploaded yet."""
    async with sessionmaker() as session:
        stmt = (
            select(DebtAnswer.additional_document_ids, DebtAnswer.defendants)
            .join(DebtSubrequest, DebtSubrequest.id == DebtAnswer.subrequest_id)
            .where(
                DebtSubrequest.organisation_id == organisation.id,
                DebtSubrequest.status == PREPARED,
                DebtSubrequest.send_batch_id.is_(None),
                DebtAnswer.has_debt.is_(True),
            )
        )
        if subrequest_ids is not None:
            stmt = stmt.where(DebtSubrequest.id.in_(subrequest_ids))
        wanted: set[uuid.UUID] = set()
        for extra, defendants in (await session.execute(stmt)).all():
            wanted.update(uuid.UUID(x) for x in extra)
            wanted.update(uuid.UUID(x) for p in defendants for x in p.get("document_ids", []))
        if not wanted:
            return 0
        pending = list(
            (
                await session.execute(
                    select(DebtDocument.id, DebtDocument.file_name).where(
                        DebtDocument.id.in_(wanted), DebtDocument.file_guid.is_(None)
                    )
                )
            ).all()
        )
    uploaded = 0
    for doc_id, file_name in pending:
        async with sessionmaker() as session:
            data = await session.scalar(select(DebtDocument.data).where(DebtDocument.id == doc_id))
        if data is None:
            continue
        guid = await gateway.upload_file(organisation.id, FILE_CONTEXT, file_name, data)
        # One commit per file: a crash re-uploads at most the file in hand (the store keeps a spare copy).
        async with sessionmaker() as session, session.begin():
            await session.execute(
                update(DebtDocument)
                .where(DebtDocument.id == doc_id)
                .values(file_guid=uuid.UUID(guid), uploaded_at=utcnow())
            )
        uploaded += 1
    return uploaded


# ---------------------------------------------------------------------------------------------- batching


async def create_batches(
    *,
    session: AsyncSession,
    gateway: DsrGateway,
    organisation: Organisation,
    action: str,
    subrequests: Sequence[DebtSubrequest | SendCandidate],
    actor: str,
    operation_id: uuid.UUID | None,
    batch_size: int = MAX_DSR_ACTIONS,
) -> Batching:
    """Create batches of ≤ 100 valid actions, one GIS exchange queued per batch, in the caller's transaction.

    Each action is checked on its own first (built alone, facets of the XSD); one that fails is left out,
    its request keeps its status and shows why, and the others go.
    """
    if not subrequests:
        return Batching([], [])
    size = max(1, min(batch_size, MAX_DSR_ACTIONS))
    answers: dict[uuid.UUID, AnswerData] = {}
    documents: dict[str, DebtDocument] = {}
    if action == "Send":
        ids = [s.id for s in subrequests]
        for chunk in chunks(ids, 500):
            # One SELECT of the columns the message carries (no ORM object per answer).
            for sid, *values in await session.execute(
                select(*_ANSWER_COLUMNS).where(DebtAnswer.subrequest_id.in_(chunk))
            ):
                answers[sid] = AnswerData(*values)
        doc_ids = {uuid.UUID(x) for a in answers.values() for x in _referenced_document_ids(a)}
        if doc_ids:
            for doc in await session.scalars(select(DebtDocument).where(DebtDocument.id.in_(doc_ids))):
                documents[str(doc.id)] = doc
    now = utcnow()
    planned: list[tuple[DebtSubrequest | SendCandidate, uuid.UUID, DSRAction]] = []
    left_out: list[tuple[uuid.UUID, str]] = []
    for sub in subrequests:
        transport = uuid.uuid4()
        reason = None
        try:
            response = build_response(answers[sub.id], documents) if action == "Send" else None
            one = DSRAction(
                transport_guid=str(transport),
                subrequest_guid=str(sub.subrequest_guid),
                action="Send" if action == "Send" else "Revoke",
                response=response,
            )
            problems = xsd_facets.action_problems(one)
            if problems:
                reason = "; ".join(f"{p.path}: {p.message}" for p in problems)
            else:
                build_import_dsr_responses([one])
        except (d.DomainError, GisError, ValueError, KeyError) as exc:
            reason = str(exc) or type(exc).__name__
        if reason is None:
            planned.append((sub, transport, one))
        else:
            left_out.append((sub.id, reason))
    if left_out:
        await _leave_out(session=session, left_out=left_out, actor=actor, at=now)
    batch_ids: list[uuid.UUID] = []
    for chunk_plan in chunks(planned, size):
        chunk = [sub for sub, _, _ in chunk_plan]
        batch = DebtSendBatch(
            id=uuid.uuid4(),
            organisation_id=organisation.id,
            action=action,
            status=SUBMITTED,
            operation_id=operation_id,
            item_count=len(chunk),
            actor=actor,
        )
        session.add(batch)
        actions = [one for _, _, one in chunk_plan]
        await session.flush()
        # Core executemany: one statement for the batch's items, no ORM object per item.
        await session.execute(
            insert(DebtSendItem.__table__),  # type: ignore[arg-type]
            [
                {"batch_id": batch.id, "subrequest_id": sub.id, "transport_guid": t, "result": "pending"}
                for sub, t, _ in chunk_plan
            ],
        )
        exchange_id = await gateway.submit_responses(
            session,
            organisation_id=organisation.id,
            actions=actions,
            ref_kind=REF_KIND,
            ref_id=str(batch.id),
            idempotency_key=f"{REF_KIND}:{batch.id}",
        )
        batch.exchange_id = exchange_id
        await session.execute(
            update(DebtSubrequest)
            .where(DebtSubrequest.id.in_([s.id for s in chunk]))
            .values(send_batch_id=batch.id, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        batch_ids.append(batch.id)
    if batch_ids:
        await session.execute(
            update(Organisation).where(Organisation.id == organisation.id).values(last_send_at=now)
        )
    return Batching(batch_ids, left_out)


async def _leave_out(
    *, session: AsyncSession, left_out: Sequence[tuple[uuid.UUID, str]], actor: str, at: Any
) -> None:
    """Mark requests whose answer cannot be carried: the error shows on the request and in its history."""
    rows = {
        s.id: s
        for s in await session.scalars(
            select(DebtSubrequest).where(DebtSubrequest.id.in_([sid for sid, _ in left_out]))
        )
    }
    history = []
    for sid, reason in left_out:
        sub = rows.get(sid)
        if sub is None:
            continue
        sub.last_error_code = INVALID_ANSWER
        sub.last_error_text = f"left out of the message: {reason}"[:2000]
        history.append(
            history_row(
                sid,
                actor=actor,
                from_status=sub.status,
                to_status=sub.status,
                reason=f"left out of the message: {reason}",
                at=at,
            )  # fmt: skip
        )
        log.warning("debt request %s left out of the message: %s", sid, reason)
    await session.flush()
    await add_history(history, session=session)


# ----------------------------------------------------------------------------------------- applying results


async def apply_batch_results(
    *,
    session: AsyncSession,
    batch_id: uuid.UUID,
    outcomes: Sequence[ItemOutcome] | None,
    error_code: str | None = None,
    error_text: str | None = None,
    exchange_id: uuid.UUID | None = None,
) -> dict[str, int]:
    """Apply an import's per-item results (or its overall failure) to the batch's requests, exactly once.

    Set-based: one read of the items with their requests (locked on PostgreSQL, as the ORM's version check
    guarded them before), then one UPDATE per group of rows that take the same values (usually: the accepted
    ones, the refused ones), each bumping the requests' `version` as the ORM does.
    """
    batch = (
        await session.execute(
            select(
                DebtSendBatch.status, DebtSendBatch.action, DebtSendBatch.actor, DebtSendBatch.organisation_id
            ).where(DebtSendBatch.id == batch_id)
        )
    ).first()
    if batch is None or batch.status in (DONE, FAILED):
        return {"ok": 0, "error": 0}  # applied already (a replayed hook) or deleted with its organisation
    rows = (
        await session.execute(
            select(DebtSendItem.subrequest_id, DebtSendItem.transport_guid, DebtSubrequest.status)
            .join(DebtSubrequest, DebtSubrequest.id == DebtSendItem.subrequest_id)  # FK: items go with it
            .where(DebtSendItem.batch_id == batch_id)
            .with_for_update(of=DebtSubrequest)
        )
    ).all()
    by_transport = {o.transport_guid: o for o in outcomes or ()}
    now = utcnow()
    ok_status = SENT if batch.action == "Send" else REVOKED
    history = []
    counts = {"ok": 0, "error": 0}
    # (result, error code, error text) → items; (kind, error code, error text) → requests
    item_groups: dict[tuple[str, str | None, str | None], list[uuid.UUID]] = {}
    sub_groups: dict[tuple[str, str | None, str | None], list[uuid.UUID]] = {}
    for sub_id, transport, sub_status in rows:
        outcome = by_transport.get(transport)
        if outcomes is None:
            code, text = error_code or "GATEWAY", error_text or "the GIS exchange failed"
            outcome = ItemOutcome(transport, ok=False, error_code=code, error_text=text)
        elif outcome is None:
            outcome = ItemOutcome(
                transport, ok=False, error_code="NO_RESULT", error_text="GIS returned no result for it"
            )
        result = "ok" if outcome.ok else "error"
        item_groups.setdefault((result, outcome.error_code, outcome.error_text), []).append(sub_id)
        if outcome.ok:
            counts["ok"] += 1
            history.append(
                history_row(
                    sub_id,
                    actor=batch.actor,
                    from_status=sub_status,
                    to_status=ok_status,
                    reason=f"{batch.action} accepted by GIS",
                    exchange_id=exchange_id,
                    at=now,
                )  # fmt: skip
            )
            sub_groups.setdefault(("ok", None, None), []).append(sub_id)
        elif outcome.error_code in REQUEST_WITHDRAWN_CODES:
            counts["error"] += 1
            history.append(
                history_row(
                    sub_id,
                    actor=batch.actor,
                    from_status=sub_status,
                    to_status=WITHDRAWN,
                    reason=f"revoked by the requester ({outcome.error_code}): {outcome.error_text}",
                    exchange_id=exchange_id,
                    at=now,
                )  # fmt: skip
            )
            key = ("withdrawn", (outcome.error_code or "")[:40] or None, outcome.error_text)
            sub_groups.setdefault(key, []).append(sub_id)
        else:
            counts["error"] += 1
            # A failed Send stays prepared, a failed Revoke stays sent: the error shows on the request.
            key = ("error", (outcome.error_code or "")[:40] or None, outcome.error_text)
            sub_groups.setdefault(key, []).append(sub_id)
    for (item_result, item_code, item_text), sub_ids in item_groups.items():
        for part in chunks(sub_ids, 500):
            await session.execute(
                update(DebtSendItem)
                .where(DebtSendItem.batch_id == batch_id, DebtSendItem.subrequest_id.in_(part))
                .values(result=item_result, error_code=item_code, error_text=item_text)
                .execution_options(synchronize_session=False)
            )
    for (kind, sub_code, sub_text), sub_ids in sub_groups.items():
        values: dict[str, Any] = {"last_error_code": sub_code, "last_error_text": sub_text}
        if kind == "ok":
            values["status"] = ok_status
            values["gis_response_status"] = "Sent" if batch.action == "Send" else "NotSent"
            if batch.action == "Send":
                values["sent_at"] = now
        elif kind == "withdrawn":
            values["status"] = WITHDRAWN
        for part in chunks(sub_ids, 500):
            await session.execute(
                update(DebtSubrequest)
                .where(DebtSubrequest.id.in_(part))
                .values(
                    send_batch_id=case(
                        (DebtSubrequest.send_batch_id == batch_id, None), else_=DebtSubrequest.send_batch_id
                    ),
                    version=DebtSubrequest.version + 1,
                    updated_at=now,
                    **values,
                )
                .execution_options(synchronize_session=False)
            )
    await session.execute(
        update(DebtSendBatch)
        .where(DebtSendBatch.id == batch_id)
        .values(
            status=DONE if outcomes is not None else FAILED,
            error_code=error_code,
            error_text=error_text,
            finished_at=now,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    await add_history(history, session=session)
    await audit.record(
        session=session,
        principal=SYSTEM,
        action=f"debt_request.{batch.action.lower()}_result",
        resource_type="debt_send_batch",
        resource_id=batch_id,
        organisation_id=batch.organisation_id,
        outcome="ok" if counts["error"] == 0 else ("partial" if counts["ok"] else "error"),
        exchange_id=exchange_id,
        details=counts | ({"error_code": error_code} if error_code else {}),
    )
    return counts


async def mark_uncertain(*, session: AsyncSession, batch_id: uuid.UUID) -> bool:
    """Flag a batch whose import may or may not have reached GIS; a reconcile job settles it."""
    batch = await session.get(DebtSendBatch, batch_id)
    if batch is None or batch.status != SUBMITTED:
        return False
    batch.status = RECONCILING
    await ops.create(
        session=session,
        principal=SYSTEM,
        kind="debt-reconcile",
        organisation_id=batch.organisation_id,
        params={"batch_id": str(batch.id)},
        priority=DEADLINE_PRIORITY,  # answers already given: settle them before new work
    )
    return True


async def split_refused_batch(
    *,
    session: AsyncSession,
    batch_id: uuid.UUID,
    error_code: str | None,
    error_text: str | None,
    exchange_id: uuid.UUID | None = None,
) -> bool:
    """Split a message refused as a whole for what it carries and queue its halves anew; False: not split.

    GIS processed none of its actions, so each request goes out again in exactly one new message, rebuilt
    and re-signed by the exchange engine; the halves are split again until the bad answer is alone, where
    the refusal becomes that answer's own error.
    """
    if error_code not in WHOLE_MESSAGE_CODES:
        return False
    batch = await session.get(DebtSendBatch, batch_id)
    if batch is None or batch.status != SUBMITTED or batch.item_count < 2:
        return False
    items = list((await session.scalars(select(DebtSendItem).where(DebtSendItem.batch_id == batch_id))).all())
    sub_ids = [i.subrequest_id for i in items]
    for item in items:
        item.result = SPLIT
        item.error_code = (error_code or "")[:40] or None
        item.error_text = error_text
    await session.execute(
        update(DebtSubrequest)
        .where(DebtSubrequest.id.in_(sub_ids), DebtSubrequest.send_batch_id == batch_id)
        .values(send_batch_id=None)
        .execution_options(synchronize_session=False)
    )
    now = utcnow()
    batch.status = FAILED
    batch.error_code = error_code
    batch.error_text = error_text
    batch.finished_at = now
    half = (len(items) + 1) // 2
    kept = PREPARED if batch.action == "Send" else SENT
    kind = "debt-send" if batch.action == "Send" else "debt-revoke"
    op = await ops.create(
        session=session,
        principal=SYSTEM,
        kind=kind,
        organisation_id=batch.organisation_id,
        params={
            "ids": [str(x) for x in sub_ids],
            "actor": batch.actor,
            "batch_size": half,
            "split_of": str(batch.id),
        },
        total=len(items),
    )
    await add_history(
        (
            history_row(
                sid,
                actor=batch.actor,
                from_status=kept,
                to_status=kept,
                reason=f"message refused as a whole ({error_code}); resent in smaller messages",
                exchange_id=exchange_id,
                at=now,
            )  # fmt: skip
            for sid in sub_ids
        ),
        session=session,
    )
    await audit.record(
        session=session,
        principal=SYSTEM,
        action=f"debt_request.{batch.action.lower()}_split",
        resource_type="debt_send_batch",
        resource_id=batch.id,
        organisation_id=batch.organisation_id,
        outcome="error",
        exchange_id=exchange_id,
        details={"items": len(items), "halves": half, "operation_id": str(op.id), "error_code": error_code},
    )
    log.warning(
        "debt batch %s (%d answers) refused as a whole with %s; resending in messages of %d",
        batch.id, len(items), error_code, half,
    )  # fmt: skip
    return True


async def reconcile_batch(
    *,
    sessionmaker: async_sessionmaker[AsyncSession],
    gateway: DsrGateway,
    batch_id: uuid.UUID,
    batch_size: int = MAX_DSR_ACTIONS,
) -> dict[str, int]:
    """Settle an uncertain batch: ask GIS which requests show our answer; resend only the others."""
    async with sessionmaker() as session:
        batch = await session.get(DebtSendBatch, batch_id)
        if batch is None or batch.status != RECONCILING:
            return {"confirmed": 0, "resent": 0}
        org = await session.get(Organisation, batch.organisation_id)
        assert org is not None
        rows = (
            await session.execute(
                select(DebtSendItem.transport_guid, DebtSubrequest.subrequest_guid)
                .join(DebtSubrequest, DebtSubrequest.id == DebtSendItem.subrequest_id)
                .where(DebtSendItem.batch_id == batch_id)
            )
        ).all()
        action = batch.action
        session.expunge(org)
    page = await gateway.export_subrequests(
        organisation_id=org.id, query=ExportDSRsQuery(subrequest_guids=tuple(str(r[1]) for r in rows))
    )
    shown = {s.subrequest_guid.lower(): s.response_status for s in page.subrequests}
    outcomes = []
    resend: list[uuid.UUID] = []
    for transport, guid in rows:
        status = shown.get(str(guid).lower())
        done = status == "Sent" if action == "Send" else status == "NotSent"
        if done:
            outcomes.append(ItemOutcome(transport, ok=True))
        else:
            outcomes.append(
                ItemOutcome(transport, ok=False, error_code="RESEND", error_text="not received by GIS")
            )
            resend.append(transport)
    async with sessionmaker() as session, session.begin():
        # Claim the batch: the send operation and the batch's reconcile job (possibly in another replica)
        # may both get here; only the one that moves it out of RECONCILING applies results and resends.
        claimed = await session.execute(
            update(DebtSendBatch)
            .where(DebtSendBatch.id == batch_id, DebtSendBatch.status == RECONCILING)
            .values(status=SUBMITTED)  # apply_batch_results settles only batches it has not settled yet
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            return {"confirmed": 0, "resent": 0}
        batch = await session.get(DebtSendBatch, batch_id)
        assert batch is not None
        await session.refresh(batch)
        await apply_batch_results(
            session=session, batch_id=batch_id, outcomes=outcomes, exchange_id=batch.exchange_id
        )
        if batch.exchange_id is not None:
            # Its items went out again in a new batch (or are settled): close it unsent.
            await gateway.resolve_uncertain(session, batch.exchange_id, resend=False)
        again: list[DebtSubrequest] = []
        if resend:
            sub_ids = (
                await session.scalars(
                    select(DebtSendItem.subrequest_id).where(DebtSendItem.transport_guid.in_(resend))
                )
            ).all()
            wanted = PREPARED if action == "Send" else SENT
            again = list(
                (
                    await session.scalars(
                        select(DebtSubrequest).where(
                            DebtSubrequest.id.in_(sub_ids),
                            DebtSubrequest.status == wanted,
                            DebtSubrequest.send_batch_id.is_(None),
                        )
                    )
                ).all()
            )
            org2 = await session.get(Organisation, org.id)
            assert org2 is not None
            await create_batches(
                session=session,
                gateway=gateway,
                organisation=org2,
                action=action,
                subrequests=again,
                actor=batch.actor,
                operation_id=batch.operation_id,
                batch_size=batch_size,
            )
    return {"confirmed": len(rows) - len(resend), "resent": len(resend)}


# ----------------------------------------------------------------------------------------- the operations


async def queue_send(
    *,
    session: AsyncSession,
    principal: Principal,
    organisation_id: uuid.UUID,
    subrequest_ids: Sequence[uuid.UUID] | None = None,
) -> Any:
    """Queue the sending of an organisation's prepared answers (all, or the ids given)."""
    params: dict[str, Any] = {"actor": principal.actor}
    if subrequest_ids is not None:
        await _check_selection(
            session=session, principal=principal, organisation_id=organisation_id, ids=subrequest_ids
        )
        params["ids"] = [str(x) for x in subrequest_ids]
    total = await session.scalar(
        select(func.count())
        .select_from(DebtSubrequest)
        .where(
            DebtSubrequest.organisation_id == organisation_id,
            DebtSubrequest.status == PREPARED,
            DebtSubrequest.send_batch_id.is_(None),
            *([DebtSubrequest.id.in_(list(subrequest_ids))] if subrequest_ids is not None else []),
        )
    )
    # Deadlines first: answers due today or the next working day put the send ahead of the queue (§2).
    urgent = await session.scalar(
        select(DebtSubrequest.id)
        .where(
            DebtSubrequest.organisation_id == organisation_id,
            DebtSubrequest.status == PREPARED,
            DebtSubrequest.send_batch_id.is_(None),
            DebtSubrequest.response_date <= add_working_days(moscow_today(), 1),
            *([DebtSubrequest.id.in_(list(subrequest_ids))] if subrequest_ids is not None else []),
        )
        .limit(1)
    )
    op = await ops.create(
        session=session,
        principal=principal,
        kind="debt-send",
        organisation_id=organisation_id,
        params=params,
        total=int(total or 0),
        priority=DEADLINE_PRIORITY if urgent is not None else 0,
    )
    await audit.record(
        session=session,
        principal=principal,
        action="debt_request.send",
        resource_type="operation",
        resource_id=op.id,
        organisation_id=organisation_id,
        details={"prepared": int(total or 0)},
    )
    return op


async def _check_selection(
    *, session: AsyncSession, principal: Principal, organisation_id: uuid.UUID, ids: Sequence[uuid.UUID]
) -> None:
    """Refuse a selection naming a request that is unknown or has no prepared answer (nothing is sent)."""
    rows: dict[uuid.UUID, DebtSubrequest] = {}
    for chunk in chunks(list(dict.fromkeys(ids)), 500):
        for row in await session.scalars(select(DebtSubrequest).where(DebtSubrequest.id.in_(chunk))):
            rows[row.id] = row
    problems: list[d.FieldProblem] = []
    for i, sid in enumerate(ids):
        sub = rows.get(sid)
        path = f"body.ids.{i}"
        if (
            sub is None
            or sub.organisation_id != organisation_id
            or not principal.may_access(sub.organisation_id)
        ):
            problems.append(d.FieldProblem(path, "debt_request_exists", f"debt request {sid} not found here"))
        elif sub.send_batch_id is not None:
            problems.append(d.FieldProblem(path, "request_in_flight", f"debt request {sid} is being sent"))
        elif sub.status != PREPARED:
            problems.append(
                d.FieldProblem(
                    path, "request_not_prepared", f"debt request {sid} is {sub.status}, not prepared"
                )
            )
    if problems:
        raise d.RuleViolation(
            f"{len(problems)} of {len(ids)} selected requests cannot be sent; nothing was sent.",
            rule=problems[0].rule,
            errors=problems,
        )


async def queue_revoke(
    *,
    session: AsyncSession,
    principal: Principal,
    subrequest_id: uuid.UUID,
    revoke_after_deadline: bool,
    reason: str | None = None,
) -> Any:
    """Check that a sent answer may be revoked and queue the Revoke."""
    from app.domain.kernel import operations as ops

    sub = await get_subrequest_or_raise(principal, subrequest_id, session=session)
    path = "debt_request_id"
    if sub.status != SENT:
        raise d.ConflictError(
            f"Debt request {sub.id} is {sub.status}; only a sent answer can be revoked.",
            rule="revoke_requires_sent",
            errors=[d.FieldProblem(path, "revoke_requires_sent", f"status is {sub.status}")],
        )
    if sub.send_batch_id is not None:
        raise d.ConflictError(
            f"Debt request {sub.id} is being sent to GIS right now.",
            rule="request_in_flight",
            errors=[d.FieldProblem(path, "request_in_flight", "wait for the current exchange")],
        )
    if not revoke_after_deadline and moscow_today() > sub.response_date:
        raise d.ConflictError(
            f"The deadline of debt request {sub.id} passed on {sub.response_date}; GIS may refuse a revoke.",
            rule="revoke_after_deadline",
            errors=[d.FieldProblem(path, "revoke_after_deadline", "deadline passed")],
        )
    op = await ops.create(
        session=session,
        principal=principal,
        kind="debt-revoke",
        organisation_id=sub.organisation_id,
        params={"ids": [str(sub.id)], "actor": principal.actor, "reason": reason},
        total=1,
    )
    await audit.record(
        session=session,
        principal=principal,
        action="debt_request.revoke",
        resource_type="debt_request",
        resource_id=sub.id,
        organisation_id=sub.organisation_id,
        details={"operation_id": str(op.id)},
    )
    return op


async def run_send(
    *,
    sessionmaker: async_sessionmaker[AsyncSession],
    gateway: DsrGateway,
    organisation_id: uuid.UUID,
    action: str,
    actor: str,
    operation_id: uuid.UUID | None,
    subrequest_ids: Sequence[uuid.UUID] | None = None,
    batch_size: int = MAX_DSR_ACTIONS,
    wait_seconds: float = 900.0,
    progress: Any = None,
) -> dict[str, Any]:
    """Upload files, batch every eligible request and wait for GIS results (idempotent: safe to re-run)."""
    async with sessionmaker() as session:
        org = await session.get(Organisation, organisation_id)
        if org is None:
            raise LookupError(f"organisation {organisation_id} is gone")
        session.expunge(org)
    uploaded = 0
    if action == "Send":
        uploaded = await upload_pending_files(
            sessionmaker=sessionmaker, gateway=gateway, organisation=org, subrequest_ids=subrequest_ids
        )
    wanted = PREPARED if action == "Send" else SENT
    async with sessionmaker() as session, session.begin():
        stmt = (
            select(DebtSubrequest.id, DebtSubrequest.subrequest_guid)
            .where(
                DebtSubrequest.organisation_id == organisation_id,
                DebtSubrequest.status == wanted,
                DebtSubrequest.send_batch_id.is_(None),
            )
            .order_by(DebtSubrequest.response_date, DebtSubrequest.id)
        )
        if subrequest_ids is not None:
            stmt = stmt.where(DebtSubrequest.id.in_(list(subrequest_ids)))
        if session.bind is not None and session.bind.dialect.name == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)
        subs = [SendCandidate(sid, guid) for sid, guid in await session.execute(stmt)]
        org_row = await session.get(Organisation, organisation_id)
        assert org_row is not None
        plan = await create_batches(
            session=session,
            gateway=gateway,
            organisation=org_row,
            action=action,
            subrequests=subs,
            actor=actor,
            operation_id=operation_id,
            batch_size=batch_size,
        )
    # Batches of an earlier run of this operation (a crash after commit) are awaited as well.
    deadline = time.monotonic() + wait_seconds
    pending = 0
    while operation_id is not None:
        async with sessionmaker() as session:
            rows = (
                await session.execute(
                    select(DebtSendBatch.status, func.count(), func.sum(DebtSendBatch.item_count))
                    .where(DebtSendBatch.operation_id == operation_id)
                    .group_by(DebtSendBatch.status)
                )
            ).all()
        # A RECONCILING batch (import dropped mid-POST, e.g. a crash) is settled here, inline: its own
        # debt-reconcile job would start only after this operation ends (one operation runner), and ending
        # the operation first reported `succeeded` while answers still awaited reconciliation. Whichever
        # runs first settles it (reconcile_batch claims the batch); resent items join this operation.
        if any(r[0] == RECONCILING for r in rows):
            await _reconcile_operation(sessionmaker, gateway, operation_id, batch_size=batch_size)
            continue
        pending = sum(r[1] for r in rows if r[0] == SUBMITTED)
        finished_items = sum(int(r[2] or 0) for r in rows if r[0] not in IN_PROGRESS)
        if progress is not None:
            await progress(finished_items)
        if pending == 0 or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.2)
    summary = await _summary(sessionmaker, operation_id, uploaded=uploaded, pending_batches=pending)
    if plan.left_out:
        summary["left_out"] = len(plan.left_out)
        summary["left_out_ids"] = [str(sid) for sid, _ in plan.left_out]
    return summary


async def _reconcile_operation(
    sessionmaker: async_sessionmaker[AsyncSession],
    gateway: DsrGateway,
    operation_id: uuid.UUID,
    *,
    batch_size: int,
) -> None:
    """Settle the operation's uncertain batches; a GIS failure fails the operation (it is not done)."""
    async with sessionmaker() as session:
        batch_ids = (
            await session.scalars(
                select(DebtSendBatch.id).where(
                    DebtSendBatch.operation_id == operation_id, DebtSendBatch.status == RECONCILING
                )
            )
        ).all()
    for batch_id in batch_ids:
        await reconcile_batch(
            sessionmaker=sessionmaker, gateway=gateway, batch_id=batch_id, batch_size=batch_size
        )


async def _summary(
    sessionmaker: async_sessionmaker[AsyncSession],
    operation_id: uuid.UUID | None,
    *,
    uploaded: int,
    pending_batches: int,
) -> dict[str, Any]:
    if operation_id is None:
        return {"files_uploaded": uploaded}
    async with sessionmaker() as session:
        batches = int(
            await session.scalar(
                select(func.count())
                .select_from(DebtSendBatch)
                .where(DebtSendBatch.operation_id == operation_id)
            )
            or 0
        )
        rows = (
            await session.execute(
                select(DebtSendItem.result, func.count())
                .join(DebtSendBatch, DebtSendBatch.id == DebtSendItem.batch_id)
                .where(DebtSendBatch.operation_id == operation_id)
                .group_by(DebtSendItem.result)
            )
        ).all()
    by_result = {r[0]: int(r[1]) for r in rows}
    return {
        "messages": batches,
        "accepted": by_result.get("ok", 0),
        "rejected": by_result.get("error", 0),
        "pending": by_result.get("pending", 0),
        "split": by_result.get(SPLIT, 0),
        "pending_messages": pending_batches,
        "files_uploaded": uploaded,
    }
