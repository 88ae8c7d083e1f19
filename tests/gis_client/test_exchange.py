"""The durable exchange engine over real HTTP against a scripted GIS: polls, retries, restarts, hooks."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.base import utcnow
from app.db.engine import create_engine, create_sessionmaker
from app.db.models.exchange import ACKED, DONE, FAILED, PENDING, SENDING, UNCERTAIN, Exchange, JournalEntry
from app.gis_client import exchange as ex
from app.gis_client.crypto.xmldsig import verify
from app.gis_client.errors import GisFaultError, GisSchemaError
from app.gis_client.messages import DSRExportPage, ErrorInfo
from app.gis_client.wire.envelope import serialize
from app.gis_stand import results_builder as rb
from tests.gis_client.exchange_support import export_payload, import_payload, make_engine, new_org, signer
from tests.gis_client.scripted_gis import DROP, ScriptedGis

Sessionmaker = async_sessionmaker[AsyncSession]


@pytest.fixture
async def db(fresh_database_url: str) -> AsyncIterator[tuple[str, Sessionmaker]]:
    engine = create_engine(fresh_database_url)
    try:
        yield fresh_database_url, create_sessionmaker(engine)
    finally:
        await engine.dispose()


@pytest.fixture
async def gis() -> AsyncIterator[ScriptedGis]:
    async with ScriptedGis() as server:
        yield server


async def _row(sm: Sessionmaker, exchange_id: uuid.UUID) -> Exchange:
    async with sm() as session:
        row = await session.get(Exchange, exchange_id)
        assert row is not None
        return row


async def _latest(sm: Sessionmaker) -> Exchange:
    async with sm() as session:
        row = await session.scalar(select(Exchange).order_by(Exchange.created_at.desc()).limit(1))
        assert row is not None
        return row


async def test_run_export_acks_polls_and_returns_result(
    db: tuple[str, Sessionmaker], gis: ScriptedGis
) -> None:
    url, sm = db
    engine = make_engine(url, gis.url)
    org_id = await new_org(sm)
    outcome = await engine.run(
        sm, organisation_id=org_id, operation="exportDebtSubrequests", payload=export_payload(), timeout=10
    )
    assert outcome.status == DONE
    assert isinstance(outcome.payload, DSRExportPage)
    assert [r.operation for r in gis.requests] == [
        "exportDebtSubrequests",
        "getState",
        "getState",
        "getState",
    ]
    first = gis.requests[0]
    assert first.headers["soapaction"] == '"urn:exportDebtSubrequests"'
    assert first.headers["content-type"] == "text/xml; charset=utf-8"
    assert verify(first.body, backend=signer()[1]).valid
    # every getState carries its own new MessageGUID
    assert len({r.message_guid for r in gis.requests}) == 4
    row = await _latest(sm)
    assert row.status == DONE and row.poll_count == 2 and row.attempts == 1
    assert row.gis_message_guid is not None and row.lease_until is None
    async with sm() as session:
        entries = (
            await session.scalars(select(JournalEntry).where(JournalEntry.exchange_id == row.id))
        ).all()
    assert [e.direction for e in entries] == ["out", "in"] * 4
    assert entries[0].xml is not None and "exportDSRsRequest" in entries[0].xml
    assert all(e.http_status == 200 for e in entries if e.direction == "in")
    await engine.transport.aclose()


async def test_retryable_fault_rebuilds_message_with_new_guid_and_signature(
    db: tuple[str, Sessionmaker], gis: ScriptedGis
) -> None:
    url, sm = db
    engine = make_engine(url, gis.url)
    gis.queue("exportDebtSubrequests", (500, serialize(rb.build_fault("EXP001000", "Ошибка передачи"))))
    org_id = await new_org(sm)
    await engine.run(sm, organisation_id=org_id, operation="exportDebtSubrequests", payload=export_payload())
    sent = gis.business()
    assert len(sent) == 2
    assert sent[0].message_guid != sent[1].message_guid
    assert sent[0].body != sent[1].body
    backend = signer()[1]
    assert verify(sent[0].body, backend=backend).valid and verify(sent[1].body, backend=backend).valid
    row = await _latest(sm)
    assert row.attempts == 2 and str(row.requester_message_guid) == sent[1].message_guid
    await engine.transport.aclose()


async def test_503_and_dropped_connection_are_retried(db: tuple[str, Sessionmaker], gis: ScriptedGis) -> None:
    url, sm = db
    engine = make_engine(url, gis.url)
    gis.queue("exportDebtSubrequests", (503, b"Service Unavailable"), DROP)
    gis.queue("getState", DROP)
    org_id = await new_org(sm)
    outcome = await engine.run(
        sm, organisation_id=org_id, operation="exportDebtSubrequests", payload=export_payload()
    )
    assert outcome.status == DONE
    assert len(gis.business()) == 3
    assert len(gis.sent("getState")) == 4  # the dropped one is asked again
    await engine.transport.aclose()


async def test_abort_code_fails_without_retry(db: tuple[str, Sessionmaker], gis: ScriptedGis) -> None:
    url, sm = db
    engine = make_engine(url, gis.url)
    gis.queue("exportDebtSubrequests", (500, serialize(rb.build_fault("AUT011003", "Доступ запрещён"))))
    org_id = await new_org(sm)
    with pytest.raises(GisFaultError) as info:
        await engine.run(
            sm, organisation_id=org_id, operation="exportDebtSubrequests", payload=export_payload()
        )
    assert info.value.code == "AUT011003"
    assert len(gis.requests) == 1
    row = await _latest(sm)
    assert row.status == FAILED and row.error_code == "AUT011003"
    await engine.transport.aclose()


async def test_int002012_is_an_empty_result(db: tuple[str, Sessionmaker], gis: ScriptedGis) -> None:
    url, sm = db
    engine = make_engine(url, gis.url)
    gis.queue("getState", None, None, ErrorInfo("INT002012", "Нет объектов для экспорта"))
    org_id = await new_org(sm)
    outcome = await engine.run(
        sm, organisation_id=org_id, operation="exportDebtSubrequests", payload=export_payload()
    )
    assert outcome.status == DONE and outcome.empty and outcome.payload is None
    row = await _latest(sm)
    assert row.result == {"empty": True, "data": None}
    await engine.transport.aclose()


async def test_retryable_error_in_state_result_resends_rebuilt(
    db: tuple[str, Sessionmaker], gis: ScriptedGis
) -> None:
    url, sm = db
    engine = make_engine(url, gis.url)
    gis.queue("getState", ErrorInfo("EXP001000", "Внутренняя ошибка"))
    org_id = await new_org(sm)
    outcome = await engine.run(
        sm, organisation_id=org_id, operation="exportDebtSubrequests", payload=export_payload()
    )
    assert outcome.status == DONE
    sent = gis.business()
    assert len(sent) == 2 and sent[0].message_guid != sent[1].message_guid
    await engine.transport.aclose()


async def test_hostile_answer_fails_cleanly(db: tuple[str, Sessionmaker], gis: ScriptedGis) -> None:
    url, sm = db
    engine = make_engine(url, gis.url)
    xxe = b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><a>&x;</a>'
    gis.queue("exportDebtSubrequests", (200, xxe))
    org_id = await new_org(sm)
    with pytest.raises(GisSchemaError):
        await engine.run(
            sm, organisation_id=org_id, operation="exportDebtSubrequests", payload=export_payload()
        )
    assert len(gis.requests) == 1
    assert (await _latest(sm)).status == FAILED
    await engine.transport.aclose()


async def test_restart_after_ack_polls_without_resending(
    db: tuple[str, Sessionmaker], gis: ScriptedGis
) -> None:
    url, sm = db
    first = make_engine(url, gis.url, gis_poll_schedule=[0.3, 0.01])
    org_id = await new_org(sm)
    async with sm() as session, session.begin():
        row = await ex.submit(
            session, organisation_id=org_id, operation="exportDebtSubrequests", payload=export_payload()
        )
    stop = asyncio.Event()
    task = asyncio.create_task(first.run_loop(sm, stop, interval=0.01))
    await asyncio.wait_for(gis.acked.wait(), 5)
    for _ in range(100):
        if (await _row(sm, row.id)).status == ACKED:
            break
        await asyncio.sleep(0.01)
    task.cancel()  # the process dies after the Ack was stored
    with pytest.raises(asyncio.CancelledError):
        await task
    await first.transport.aclose()
    assert (await _row(sm, row.id)).status == ACKED

    second = make_engine(url, gis.url, gis_poll_schedule=[0.3, 0.01])
    outcome = await second.wait(sm, row.id, timeout=10)
    assert outcome.status == DONE
    assert len(gis.business()) == 1  # never re-sent
    assert len(gis.sent("getState")) == 3
    await second.transport.aclose()


async def test_import_left_in_sending_becomes_uncertain_and_is_not_resent(
    db: tuple[str, Sessionmaker], gis: ScriptedGis
) -> None:
    url, sm = db
    seen: list[ex.Outcome] = []

    async def hook(session: AsyncSession, exchange: Exchange, outcome: ex.Outcome) -> None:
        assert session.in_transaction()
        seen.append(outcome)

    engine = make_engine(url, gis.url, hooks={"test-uncertain": hook})
    try:
        org_id = await new_org(sm)
        async with sm() as session, session.begin():
            row = await ex.submit(
                session, organisation_id=org_id, operation="importResponses", payload=import_payload(),
                ref_kind="test-uncertain", ref_id="batch-1",
            )  # fmt: skip
            # a previous process committed `sending` and died before storing the Ack
            row.status, row.locked_by = SENDING, "dead-worker"
            row.lease_until = utcnow() - timedelta(seconds=1)
            row.attempts = 1
        assert await engine.drive_once(sm) == 1
        assert (await _row(sm, row.id)).status == UNCERTAIN
        assert gis.requests == []
        assert len(seen) == 1 and seen[0].reconcile
        # nothing more happens to it until the owner decides
        assert await engine.drive_once(sm) == 0
        async with sm() as session, session.begin():
            await ex.resolve_uncertain(session, row.id, resend=True)
        outcome = await engine.wait(sm, row.id, timeout=10)
        assert outcome.status == DONE and len(gis.business()) == 1
    finally:
        await engine.transport.aclose()


async def test_export_left_in_sending_is_rebuilt_and_resent(
    db: tuple[str, Sessionmaker], gis: ScriptedGis
) -> None:
    url, sm = db
    engine = make_engine(url, gis.url)
    org_id = await new_org(sm)
    async with sm() as session, session.begin():
        row = await ex.submit(
            session, organisation_id=org_id, operation="exportDebtSubrequests", payload=export_payload()
        )
        row.status, row.locked_by, row.lease_until = SENDING, "dead", utcnow() - timedelta(seconds=1)
    outcome = await engine.wait(sm, row.id, timeout=10)
    assert outcome.status == DONE and len(gis.business()) == 1
    await engine.transport.aclose()


async def test_dropped_import_post_is_uncertain(db: tuple[str, Sessionmaker], gis: ScriptedGis) -> None:
    url, sm = db
    engine = make_engine(url, gis.url)
    gis.queue("importResponses", DROP)
    org_id = await new_org(sm)
    with pytest.raises(ex.ExchangeUncertain):
        await engine.run(sm, organisation_id=org_id, operation="importResponses", payload=import_payload())
    assert len(gis.business()) == 1
    await engine.transport.aclose()


async def test_completion_hook_applies_result_exactly_once(
    db: tuple[str, Sessionmaker], gis: ScriptedGis
) -> None:
    url, sm = db
    calls: list[tuple[str, int]] = []

    async def hook(session: AsyncSession, exchange: Exchange, outcome: ex.Outcome) -> None:
        calls.append((outcome.status, len(calls)))
        if len(calls) == 1:
            raise RuntimeError("owner's table is locked")  # first application fails: nothing is applied

    engine = make_engine(url, gis.url, hooks={"test-once": hook})
    try:
        org_id = await new_org(sm)
        outcome = await engine.run(
            sm,
            organisation_id=org_id,
            operation="importResponses",
            payload=import_payload(),
            ref_kind="test-once",
        )
        assert outcome.status == DONE
        assert isinstance(outcome.payload, tuple) and len(outcome.payload) == 1
        assert len(calls) == 2  # failed once (rolled back), then applied once
        assert len(gis.business()) == 1  # getState repeated, the import was not
    finally:
        await engine.transport.aclose()


async def test_submit_with_same_idempotency_key_returns_same_row(db: tuple[str, Sessionmaker]) -> None:
    _url, sm = db
    org_id = await new_org(sm)
    async with sm() as session, session.begin():
        a = await ex.submit(
            session, organisation_id=org_id, operation="exportDebtSubrequests", payload=export_payload(),
            idempotency_key="fetch-1",
        )  # fmt: skip
        b = await ex.submit(
            session, organisation_id=org_id, operation="exportDebtSubrequests", payload=export_payload(),
            idempotency_key="fetch-1",
        )  # fmt: skip
    assert a.id == b.id and a.status == PENDING


async def test_two_drivers_never_process_the_same_row(db: tuple[str, Sessionmaker], gis: ScriptedGis) -> None:
    url, sm = db
    engines = [make_engine(url, gis.url, worker_id=f"w{i}") for i in range(2)]
    org_id = await new_org(sm)
    ids = []
    async with sm() as session, session.begin():
        for _ in range(12):
            row = await ex.submit(
                session, organisation_id=org_id, operation="exportDebtSubrequests", payload=export_payload()
            )
            ids.append(row.id)
    stop = asyncio.Event()
    tasks = [asyncio.create_task(e.run_loop(sm, stop, interval=0.01)) for e in engines]
    try:
        for _ in range(1000):
            async with sm() as session:
                open_rows = await session.scalar(select(Exchange.id).where(Exchange.status != DONE).limit(1))
            if open_rows is None:
                break
            await asyncio.sleep(0.02)
    finally:
        stop.set()
        await asyncio.gather(*tasks)
    assert len(gis.business()) == 12  # each exchange sent exactly once
    assert len(gis.sent("getState")) == 36  # each polled exactly 1, 2, 3
    async with sm() as session:
        rows = (await session.scalars(select(Exchange))).all()
    assert {r.status for r in rows} == {DONE} and all(r.attempts == 1 for r in rows)
    for e in engines:
        await e.transport.aclose()


async def test_claim_leases_several_due_rows_at_once_and_disjointly(db: tuple[str, Sessionmaker]) -> None:
    url, sm = db
    first, second = (make_engine(url, "http://127.0.0.1:9", worker_id=w) for w in ("w1", "w2"))
    org_id = await new_org(sm)
    async with sm() as session, session.begin():
        rows = [
            await ex.submit(
                session, organisation_id=org_id, operation="exportDebtSubrequests", payload=export_payload()
            )
            for _ in range(5)
        ]
        later = await ex.submit(
            session, organisation_id=org_id, operation="exportDebtSubrequests", payload=export_payload()
        )
        later.next_at = utcnow() + timedelta(hours=1)  # not due: never claimed
    taken = await first.claim(sm, limit=3)
    rest = await second.claim(sm, limit=10)
    assert len(taken) == 3 and len(rest) == 2 and not set(taken) & set(rest)
    assert set(taken) | set(rest) == {r.id for r in rows}
    assert await first.claim(sm) == [] and await second.claim(sm) == []
    async with sm() as session:
        leased = {r.id: r.locked_by for r in (await session.scalars(select(Exchange))).all()}
    assert {leased[i] for i in taken} == {"w1"} and {leased[i] for i in rest} == {"w2"}
    assert leased[later.id] is None
    for e in (first, second):
        await e.transport.aclose()


def test_results_round_trip_through_json() -> None:
    from tests.gis_client.samples import data as samples

    for operation, payload in [
        ("exportDebtSubrequests", samples.dsr_page(3)),
        ("importResponses", samples.common_results()),
        ("exportNsiItem", samples.nsi_item()),
    ]:
        assert ex.decode_result(operation, ex.encode_result(operation, payload)) == payload
    # Whatever pydantic cannot describe is still stored (schema-less) rather than blocking the exchange.
    stored = ex.encode_result("exportAccountData", samples.accounts())
    assert stored["data"]


async def test_submit_leased_leases_only_the_row_it_adds(db: tuple[str, Sessionmaker]) -> None:
    """The row `run` adds is leased to its driver from the start; a row found by its key is left as it is."""
    _url, sm = db
    org_id = await new_org(sm)
    until = utcnow() + timedelta(minutes=1)
    async with sm() as session, session.begin():
        a, added = await ex.submit_leased(
            session, organisation_id=org_id, operation="exportDebtSubrequests", payload=export_payload(),
            idempotency_key="fetch-1", lease=("w1", until),
        )  # fmt: skip
        b, again = await ex.submit_leased(
            session, organisation_id=org_id, operation="exportDebtSubrequests", payload=export_payload(),
            idempotency_key="fetch-1", lease=("w2", until + timedelta(minutes=1)),
        )  # fmt: skip
    assert added and not again and a.id == b.id
    row = await _row(sm, a.id)
    assert (row.status, row.locked_by, row.lease_until) == (PENDING, "w1", until)


async def test_one_row_claim_takes_a_due_free_row_once(db: tuple[str, Sessionmaker]) -> None:
    """`claim(only=…)` (one UPDATE, no read first) leases the row if due and free, else nothing."""
    url, sm = db
    first, second = (make_engine(url, "http://127.0.0.1:9", worker_id=w) for w in ("w1", "w2"))
    org_id = await new_org(sm)
    async with sm() as session, session.begin():
        due = await ex.submit(
            session, organisation_id=org_id, operation="exportDebtSubrequests", payload=export_payload()
        )
        later = await ex.submit(
            session, organisation_id=org_id, operation="exportDebtSubrequests", payload=export_payload()
        )
        later.next_at = utcnow() + timedelta(hours=1)
    taken = await asyncio.gather(first.claim(sm, only=due.id), second.claim(sm, only=due.id))
    assert sorted(map(len, taken)) == [0, 1]  # exactly one driver leases it
    assert await first.claim(sm, only=later.id) == [] and await second.claim(sm, only=later.id) == []
    assert (await _row(sm, later.id)).locked_by is None
    for e in (first, second):
        await e.transport.aclose()
