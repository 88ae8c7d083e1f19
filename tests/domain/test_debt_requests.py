"""Debt-request workflow: windows, fetch/upsert, matching, answer rules, batching, results, archive."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.engine import create_engine, create_sessionmaker
from app.db.models.accounts import Account, AccountLedger, AccountPremises, House, Premises
from app.db.models.core import Operation, Organisation
from app.db.models.debt_requests import DebtAnswer, DebtRequestHistory, DebtSendBatch, DebtSubrequest
from app.domain.accounts.ledger import encode_months
from app.domain.accounts.premises import normalize_premises
from app.domain.debt_requests import answers, archive, fetch, matching, sending
from app.domain.kernel import errors as d
from app.domain.kernel import operations as ops
from app.domain.kernel.access import SYSTEM
from app.domain.kernel.calendar import moscow_today as today
from app.domain.kernel.snils import random_valid_snils
from app.gis_client.crypto.backend import attachment_hash
from app.gis_client.errors import GisFaultError
from app.gis_client.messages import (
    DSRAction,
    DSRExportPage,
    DSRRequestInfo,
    Executor,
    ExportDSRsQuery,
    HousingFundObject,
    Organization,
    Period,
    Subrequest,
    build_export_dsrs,
    build_import_dsr_responses,
)
from app.settings import Settings
from tests.factories import make_org, seed_nsi

RNG = random.Random(7)


def make_gis_subrequest(
    i: int,
    *,
    sent: date | None = None,
    deadline: date | None = None,
    fias: uuid.UUID | None = None,
    flat: str | None = None,
    status: str = "NotSent",
) -> Subrequest:
    """Build one GIS-side subrequest as the exporter returns it."""
    sent = sent or today() - timedelta(days=2)
    address = "г. Москва, ул. Тестовая, д. 1" + (f", кв. {flat}" if flat else "")
    return Subrequest(
        subrequest_guid=str(uuid.uuid5(uuid.NAMESPACE_OID, f"sub-{i}")),
        request=DSRRequestInfo(
            request_guid=str(uuid.uuid5(uuid.NAMESPACE_OID, f"req-{i}")),
            request_number=f"R-{i:06d}",
            organization=Organization(str(uuid.uuid5(uuid.NAMESPACE_OID, "uszn")), "УСЗН района"),
            housing_fund_object=HousingFundObject(
                address=address, fias_house_guid=str(fias) if fias else None, house_guid=None
            ),
            period=Period(date(2023, 1, 1), date(2025, 12, 31)),
            status="Sent",
            sent_date=sent,
            response_date=deadline or today() + timedelta(days=7),
            executor=Executor(str(uuid.uuid4()), "Петрова А. А."),
        ),
        response_status=status,  # type: ignore[arg-type]
    )


class FakeGis:
    """In-memory DsrGateway: serves pages of 100, records submitted batches and uploads."""

    page_size = 100

    def __init__(self, subs: Sequence[Subrequest] = ()) -> None:
        self.subs: dict[str, Subrequest] = {s.subrequest_guid: s for s in subs}
        self.queries: list[ExportDSRsQuery] = []
        self.submitted: list[tuple[uuid.UUID, list[DSRAction]]] = []
        self.uploads: list[tuple[str, int]] = []

    async def export_subrequests(
        self, *, organisation_id: uuid.UUID, query: ExportDSRsQuery
    ) -> DSRExportPage:  # noqa: ARG002
        build_export_dsrs(query)  # the real limits apply
        self.queries.append(query)
        if query.subrequest_guids:
            found = tuple(self.subs[g] for g in query.subrequest_guids if g in self.subs)
            return DSRExportPage(subrequests=found, last_page=True)
        assert query.period is not None
        rows = sorted(
            (
                s
                for s in self.subs.values()
                if query.period.start <= s.request.sent_date <= query.period.end
                and (not query.response_statuses or s.response_status in query.response_statuses)
            ),
            key=lambda s: s.subrequest_guid,
        )
        start = 0
        if query.export_subrequest_guid:
            start = next(i for i, s in enumerate(rows) if s.subrequest_guid == query.export_subrequest_guid)
        chunk = tuple(rows[start : start + self.page_size])
        more = start + self.page_size < len(rows)
        return DSRExportPage(
            subrequests=chunk,
            next_subrequest_guid=rows[start + self.page_size].subrequest_guid if more else None,
            last_page=not more,
        )

    async def submit_responses(
        self,
        session: AsyncSession,
        *,
        organisation_id: uuid.UUID,
        actions: Sequence[DSRAction],
        ref_kind: str,
        ref_id: str,
        idempotency_key: str,
    ) -> uuid.UUID | None:  # noqa: ARG002
        build_import_dsr_responses(actions)  # the real limits and rules apply
        self.submitted.append((uuid.UUID(ref_id), list(actions)))
        return None

    async def resolve_uncertain(self, session: AsyncSession, exchange_id: uuid.UUID, *, resend: bool) -> bool:  # noqa: ARG002
        return False  # no exchange rows: nothing is ever uncertain here

    async def upload_file(self, organisation_id: uuid.UUID, context: str, filename: str, data: bytes) -> str:  # noqa: ARG002
        self.uploads.append((filename, len(data)))
        return str(uuid.uuid4())

    def attachment_hash(self, data: bytes) -> str:
        return attachment_hash(data)

    async def complete(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        fail: set[str] = frozenset(),  # type: ignore[assignment]
    ) -> None:
        """Answer every submitted batch: ok, except the subrequest GUIDs in `fail`."""
        batches, self.submitted = self.submitted, []
        for batch_id, actions in batches:
            outcomes = []
            for a in actions:
                if a.subrequest_guid in fail:
                    outcomes.append(
                        sending.ItemOutcome(
                            uuid.UUID(a.transport_guid),
                            ok=False,
                            error_code="SRV000001",
                            error_text="rejected",
                        )  # fmt: skip
                    )
                    continue
                outcomes.append(sending.ItemOutcome(uuid.UUID(a.transport_guid), ok=True))
                s = self.subs.get(a.subrequest_guid)
                if s is not None:
                    status = "Sent" if a.action == "Send" else "NotSent"
                    self.subs[a.subrequest_guid] = replace(s, response_status=status)  # type: ignore[arg-type]
            async with sessionmaker() as session, session.begin():
                await sending.apply_batch_results(session=session, batch_id=batch_id, outcomes=outcomes)


@pytest.fixture
async def maker(fresh_database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """A session factory on a database of its own (the workflow commits in several transactions)."""
    engine = create_engine(fresh_database_url)
    yield create_sessionmaker(engine)
    await engine.dispose()


async def _org(maker: async_sessionmaker[AsyncSession]) -> Organisation:
    async with maker() as session, session.begin():
        await seed_nsi(session)
        org = await make_org(session)
    return org


async def _count(maker: async_sessionmaker[AsyncSession], *where: Any) -> int:
    async with maker() as session:
        return int(await session.scalar(select(func.count()).select_from(DebtSubrequest).where(*where)) or 0)


# ------------------------------------------------------------------------------------------------- pure


def test_split_windows_are_contiguous_and_accepted_by_gis() -> None:
    windows = fetch.split_windows(date(2024, 1, 15), date(2025, 3, 10))
    assert len(windows) == 3
    assert windows[0].start == date(2024, 1, 15) and windows[-1].end == date(2025, 3, 10)
    for a, b in zip(windows, windows[1:], strict=False):
        assert b.start == a.end + timedelta(days=1)
    for w in windows:
        build_export_dsrs(ExportDSRsQuery(period=w))  # raises if a window exceeds 6 months


def test_split_windows_gives_recent_days_a_window_each() -> None:
    windows = fetch.split_windows(date(2024, 1, 15), date(2025, 3, 10), daily_from=date(2025, 3, 4))
    assert windows[0].start == date(2024, 1, 15) and windows[-1].end == date(2025, 3, 10)
    assert all(b.start == a.end + timedelta(days=1) for a, b in zip(windows, windows[1:], strict=False))
    assert [(w.start, w.end) for w in windows[-7:]] == [
        (date(2025, 3, d), date(2025, 3, d)) for d in range(4, 11)
    ]
    assert len(windows) == 3 + 7 and windows[-8].end == date(2025, 3, 3)
    for w in windows:
        build_export_dsrs(ExportDSRsQuery(period=w))
    # A period entirely within the recent days: one window a day.
    assert len(fetch.split_windows(date(2025, 3, 8), date(2025, 3, 10), daily_from=date(2025, 3, 4))) == 3


def test_split_windows_empty_when_reversed() -> None:
    assert fetch.split_windows(date(2025, 2, 1), date(2025, 1, 1)) == []


@pytest.mark.parametrize(
    ("address", "details", "expected"),
    [
        ("г. Москва, ул. Ленина, д. 5, кв. 12а", None, "кв. 12а"),
        ("г. Москва, ул. Ленина, д. 5, пом. 3-Н", None, "пом. 3-Н"),
        ("г. Москва, ул. Ленина, д. 5", None, None),
        ("г. Москва, ул. Ленина, д. 5", "кв 7", "кв 7"),
    ],
)
def test_premises_from_address(address: str, details: str | None, expected: str | None) -> None:
    assert fetch.premises_from(address, details) == expected


def _nsi95() -> dict[str, dict[str, str]]:
    return Settings(_env_file=None).debt.nsi95  # type: ignore[call-arg]


def test_validate_answer_names_each_broken_rule() -> None:
    good = random_valid_snils(RNG)
    bad_check = good[:9] + ("00" if good[9:] != "00" else "01")
    data = answers.AnswerInput(
        has_debt=True,
        defendants=(
            answers.DefendantInput(last_name="Иванов", first_name="Иван", snils=bad_check),
            answers.DefendantInput(last_name="", first_name="Пётр", snils=None),
        ),
    )
    problems = answers.validate_answer(data, path="body", documents={}, nsi95=_nsi95())
    rules = {(p.path, p.rule) for p in problems}
    assert ("body.defendants.0.snils", "snils_checksum") in rules
    assert ("body.defendants.1.snils", "snils_required") in rules
    assert ("body.defendants.1.last_name", "required") in rules


def test_validate_answer_has_debt_needs_defendant_and_no_debt_has_none() -> None:
    nsi = _nsi95()
    empty = answers.validate_answer(answers.AnswerInput(has_debt=True), path="b", documents={}, nsi95=nsi)
    assert [p.rule for p in empty] == ["has_debt_requires_defendant"]
    person = answers.DefendantInput(last_name="А", first_name="Б", snils=random_valid_snils(RNG))
    no = answers.AnswerInput(has_debt=False, defendants=(person,))
    assert [p.rule for p in answers.validate_answer(no, path="b", documents={}, nsi95=nsi)] == [
        "no_debt_without_details"
    ]
    ok = answers.AnswerInput(has_debt=True, defendants=(person,))
    assert answers.validate_answer(ok, path="b", documents={}, nsi95=nsi) == []


def test_draft_from_debts_prefers_registry_guids() -> None:
    class Debt:
        def __init__(self, guid: str | None, snils: str) -> None:
            self.gis_debt_guid = guid
            self.snils = snils
            self.last_name, self.first_name, self.middle_name = "Иванов", "Иван", None
            self.act_number = "2-1/2025"

    g = str(uuid.uuid4())
    snils = random_valid_snils(RNG)
    by_guid = answers.draft_from_debts([Debt(g, snils)], agreement_answer="no_debt")
    assert by_guid is not None and by_guid.debt_guids == (uuid.UUID(g),)
    by_person = answers.draft_from_debts([Debt(None, snils), Debt(None, snils)], agreement_answer="no_debt")
    assert by_person is not None and len(by_person.defendants) == 1 and by_person.has_debt
    assert answers.draft_from_debts([], agreement_answer="no_debt") is None


# -------------------------------------------------------------------------------------------- fetch


class CountingGis(FakeGis):
    """FakeGis that records how many page requests were in flight at once."""

    def __init__(self, subs: Sequence[Subrequest] = ()) -> None:
        super().__init__(subs)
        self.in_flight = 0
        self.most = 0

    async def export_subrequests(
        self, *, organisation_id: uuid.UUID, query: ExportDSRsQuery
    ) -> DSRExportPage:
        self.in_flight += 1
        self.most = max(self.most, self.in_flight)
        try:
            await asyncio.sleep(0.005)
            return await super().export_subrequests(organisation_id=organisation_id, query=query)
        finally:
            self.in_flight -= 1


async def test_fetch_in_day_windows_runs_bounded_parallel_chains(
    maker: async_sessionmaker[AsyncSession],
) -> None:
    org = await _org(maker)
    start = today() - timedelta(days=9)
    subs = [make_gis_subrequest(i, sent=start + timedelta(days=i % 10)) for i in range(1500)]
    gis = CountingGis(subs)
    result = await fetch.fetch(
        gateway=gis, sessionmaker=maker, organisation_id=org.id, date_from=start, daily_days=10, concurrency=3
    )
    assert result["new"] == 1500 and result["windows"] == 10
    assert gis.most == 3  # ten chains of two pages each, three at a time
    assert len(gis.queries) == 20 and await _count(maker) == 1500


async def test_fetch_upserts_once_follows_pages_and_splits_windows(
    maker: async_sessionmaker[AsyncSession],
) -> None:
    org = await _org(maker)
    start = today() - timedelta(days=300)
    subs = [make_gis_subrequest(i, sent=start + timedelta(days=i % 290)) for i in range(250)]
    gis = FakeGis(subs)
    result = await fetch.fetch(gateway=gis, sessionmaker=maker, organisation_id=org.id, date_from=start)
    assert result["new"] == 250 and result["windows"] == 2
    assert any(q.export_subrequest_guid for q in gis.queries)  # pages were followed
    again = await fetch.fetch(gateway=gis, sessionmaker=maker, organisation_id=org.id, date_from=start)
    assert again["new"] == 0 and again["updated"] == 0
    assert await _count(maker) == 250
    # GIS auto-answers one: the next fetch archives it and flags it.
    first = subs[0]
    gis.subs[first.subrequest_guid] = replace(first, response_status="AutoGenerated")
    third = await fetch.fetch(gateway=gis, sessionmaker=maker, organisation_id=org.id, date_from=start)
    assert third["auto_answered"] == 1
    async with maker() as session:
        row = await session.scalar(
            select(DebtSubrequest).where(DebtSubrequest.subrequest_guid == uuid.UUID(first.subrequest_guid))
        )
        assert row is not None and row.status == "archived" and row.auto_answered
        org_row = await session.get(Organisation, org.id)
        assert org_row is not None and org_row.last_fetch_until is not None


async def test_fetch_incremental_starts_from_last_mark(maker: async_sessionmaker[AsyncSession]) -> None:
    org = await _org(maker)
    gis = FakeGis([make_gis_subrequest(1)])
    await fetch.fetch(gateway=gis, sessionmaker=maker, organisation_id=org.id)
    gis.queries.clear()
    await fetch.fetch(gateway=gis, sessionmaker=maker, organisation_id=org.id, overlap_days=2)
    assert gis.queries[0].period is not None
    assert gis.queries[0].period.start == today() - timedelta(days=2)


async def test_fetch_archives_past_deadline(maker: async_sessionmaker[AsyncSession]) -> None:
    org = await _org(maker)
    old = make_gis_subrequest(1, sent=today() - timedelta(days=20), deadline=today() - timedelta(days=10))
    gis = FakeGis([old, make_gis_subrequest(2)])
    result = await fetch.fetch(gateway=gis, sessionmaker=maker, organisation_id=org.id)
    assert result["archived_past_deadline"] == 1
    assert await _count(maker, DebtSubrequest.status == "archived") == 1


# ---------------------------------------------------------------------------------------- answers


async def _fetched(
    maker: async_sessionmaker[AsyncSession], n: int
) -> tuple[Organisation, FakeGis, list[uuid.UUID]]:
    org = await _org(maker)
    gis = FakeGis([make_gis_subrequest(i) for i in range(n)])
    await fetch.fetch(gateway=gis, sessionmaker=maker, organisation_id=org.id)
    async with maker() as session:
        ids = list((await session.scalars(select(DebtSubrequest.id).order_by(DebtSubrequest.id))).all())
    return org, gis, ids


class StormyGis(FakeGis):
    """FakeGis whose export fails for one page (a page that exhausted its attempts), until healed."""

    def __init__(self, subs: Sequence[Subrequest], fail_page: int) -> None:
        super().__init__(subs)
        self.fail_page = fail_page
        self.healed = False

    async def export_subrequests(
        self, *, organisation_id: uuid.UUID, query: ExportDSRsQuery
    ) -> DSRExportPage:
        if not self.healed and len(self.queries) == self.fail_page:
            self.queries.append(query)
            raise GisFaultError("EXP001000", "storm", retryable=True)
        return await super().export_subrequests(organisation_id=organisation_id, query=query)


async def test_fetch_resumes_from_the_failed_page(maker: async_sessionmaker[AsyncSession]) -> None:
    org = await _org(maker)
    start = today() - timedelta(days=60)
    gis = StormyGis([make_gis_subrequest(i, sent=start + timedelta(days=i % 50)) for i in range(450)], 3)
    with pytest.raises(GisFaultError):
        await fetch.fetch(gateway=gis, sessionmaker=maker, organisation_id=org.id, date_from=start)
    assert await _count(maker) == 300, "the pages before the failed one are kept"
    failed_query = gis.queries[3]
    gis.healed, gis.queries = True, []
    # The next run without a period (as the scheduled fetch runs) resumes from the failed page.
    result = await fetch.fetch(gateway=gis, sessionmaker=maker, organisation_id=org.id)
    assert result["resumed"] is True and result["new"] == 150
    assert gis.queries[0] == failed_query and len(gis.queries) == 2
    assert await _count(maker) == 450
    async with maker() as session:
        row = await session.get(Organisation, org.id)
        assert row is not None and row.fetch_resume is None and row.last_fetch_until is not None
    again = await fetch.fetch(gateway=gis, sessionmaker=maker, organisation_id=org.id)
    assert again["resumed"] is False


async def test_send_rerun_settles_uncertain_batches_before_succeeding(
    maker: async_sessionmaker[AsyncSession],
) -> None:
    org, gis, ids = await _fetched(maker, 3)
    async with maker() as session, session.begin():
        await answers.answer_no_debt(session=session, principal=SYSTEM, ids=ids)
        op = await ops.create(session=session, principal=SYSTEM, kind="debt-send", organisation_id=org.id)
    await sending.run_send(
        sessionmaker=maker, gateway=gis, organisation_id=org.id, action="Send", actor="t",
        operation_id=op.id, wait_seconds=0,
    )  # fmt: skip
    # A crash mid-POST: the import's fate is unknown; GIS did receive all three answers.
    ((batch_id, actions),) = gis.submitted
    gis.submitted.clear()
    for a in actions:
        gis.subs[a.subrequest_guid] = replace(gis.subs[a.subrequest_guid], response_status="Sent")
    async with maker() as session, session.begin():
        assert await sending.mark_uncertain(session=session, batch_id=batch_id)
    # The operation runs again after the restart: it must not end while the batch awaits reconciliation.
    out = await sending.run_send(
        sessionmaker=maker, gateway=gis, organisation_id=org.id, action="Send", actor="t",
        operation_id=op.id, wait_seconds=5,
    )  # fmt: skip
    assert (out["accepted"], out["pending"], out["pending_messages"]) == (3, 0, 0)
    assert gis.submitted == [], "nothing is sent twice"
    # The batch's own reconcile job, running later, finds nothing left to do.
    counts = await sending.reconcile_batch(sessionmaker=maker, gateway=gis, batch_id=batch_id)
    assert counts == {"confirmed": 0, "resent": 0}


async def test_answer_to_archived_request_is_refused(maker: async_sessionmaker[AsyncSession]) -> None:
    _org_row, _gis, ids = await _fetched(maker, 2)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    async with maker() as session, session.begin():
        await archive.archive(session=session, principal=SYSTEM, subrequest_id=ids[0])
    async with maker() as session, session.begin():
        with pytest.raises(d.ConflictError) as err:
            await answers.set_answer(
                session=session,
                principal=SYSTEM,
                settings=settings,
                subrequest_id=ids[0],
                data=answers.AnswerInput(has_debt=False),
            )
    assert err.value.rule == "request_archived"
    async with maker() as session, session.begin():
        with pytest.raises(d.RuleViolation) as mass:
            await answers.answer_no_debt(session=session, principal=SYSTEM, ids=[ids[1], ids[0]])
    assert [(e.path, e.rule) for e in mass.value.errors] == [("body.ids.1", "request_archived")]


async def test_set_answer_records_history_and_version(maker: async_sessionmaker[AsyncSession]) -> None:
    _org_row, _gis, ids = await _fetched(maker, 1)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    person = answers.DefendantInput(last_name="Иванов", first_name="Иван", snils=random_valid_snils(RNG))
    async with maker() as session, session.begin():
        sub = await answers.set_answer(
            session=session,
            principal=SYSTEM,
            settings=settings,
            subrequest_id=ids[0],
            data=answers.AnswerInput(has_debt=True, defendants=(person,)),
            expected_version=1,
        )
        assert sub.status == "prepared" and sub.version == 2
    async with maker() as session, session.begin():
        with pytest.raises(d.ConflictError) as err:
            await answers.set_answer(
                session=session,
                principal=SYSTEM,
                settings=settings,
                subrequest_id=ids[0],
                data=answers.AnswerInput(has_debt=False),
                expected_version=1,
            )
        assert err.value.rule == "version_mismatch"
    async with maker() as session:
        history = (
            await session.scalars(select(DebtRequestHistory.to_status).order_by(DebtRequestHistory.id))
        ).all()
    assert list(history) == ["received", "prepared"]


# ---------------------------------------------------------------------------------------- sending


async def test_250_prepared_answers_go_as_three_messages_with_partial_failure(
    maker: async_sessionmaker[AsyncSession],
) -> None:
    org, gis, ids = await _fetched(maker, 250)
    async with maker() as session, session.begin():
        result = await answers.answer_no_debt(session=session, principal=SYSTEM, ids=ids)
    assert result.prepared == 250
    out = await sending.run_send(
        sessionmaker=maker, gateway=gis, organisation_id=org.id, action="Send", actor="test",
        operation_id=None, wait_seconds=0,
    )  # fmt: skip
    assert [len(actions) for _, actions in gis.submitted] == [100, 100, 50]
    # A second run while the batches are in flight sends nothing again.
    await sending.run_send(
        sessionmaker=maker, gateway=gis, organisation_id=org.id, action="Send", actor="test",
        operation_id=None, wait_seconds=0,
    )  # fmt: skip
    assert len(gis.submitted) == 3
    failing = gis.submitted[1][1][5].subrequest_guid
    await gis.complete(maker, fail={failing})
    assert await _count(maker, DebtSubrequest.status == "sent") == 249
    async with maker() as session:
        bad = await session.scalar(
            select(DebtSubrequest).where(DebtSubrequest.subrequest_guid == uuid.UUID(failing))
        )
        assert bad is not None and bad.status == "prepared" and bad.last_error_code == "SRV000001"
        assert bad.send_batch_id is None
        assert await session.scalar(select(func.count()).select_from(DebtSendBatch)) == 3
    assert out == {"files_uploaded": 0}
    # Results are applied once: replaying a batch changes nothing.
    async with maker() as session, session.begin():
        batch_id = (await session.scalars(select(DebtSendBatch.id))).first()
        assert batch_id is not None
        again = await sending.apply_batch_results(session=session, batch_id=batch_id, outcomes=[])
    assert again == {"ok": 0, "error": 0}


async def test_send_uploads_files_and_builds_debt_info(maker: async_sessionmaker[AsyncSession]) -> None:
    org, gis, ids = await _fetched(maker, 1)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    async with maker() as session, session.begin():
        doc = await answers.add_document(
            session=session, principal=SYSTEM, settings=settings, files=gis, subrequest_id=ids[0],
            nsi_code="1", file_name="приказ.pdf", description=None, content_type="application/pdf",
            data=b"%PDF-1.4 test",
        )  # fmt: skip
        person = answers.DefendantInput(
            last_name="Иванов", first_name="Иван", snils=random_valid_snils(RNG), document_ids=(doc.id,)
        )
        await answers.set_answer(
            session=session, principal=SYSTEM, settings=settings, subrequest_id=ids[0],
            data=answers.AnswerInput(has_debt=True, defendants=(person,)),
        )  # fmt: skip
    await sending.run_send(
        sessionmaker=maker, gateway=gis, organisation_id=org.id, action="Send", actor="t",
        operation_id=None, wait_seconds=0,
    )  # fmt: skip
    assert gis.uploads == [("приказ.pdf", 13)]
    ((_batch, actions),) = gis.submitted
    response = actions[0].response
    assert response is not None and response.has_debt
    assert response.debt_info[0].documents[0].attachment.hash == attachment_hash(b"%PDF-1.4 test")


async def test_revoke_and_reconcile(maker: async_sessionmaker[AsyncSession]) -> None:
    org, gis, ids = await _fetched(maker, 3)
    async with maker() as session, session.begin():
        await answers.answer_no_debt(session=session, principal=SYSTEM, ids=ids)
    await sending.run_send(
        sessionmaker=maker, gateway=gis, organisation_id=org.id, action="Send", actor="t",
        operation_id=None, wait_seconds=0,
    )  # fmt: skip
    # The import's fate is unknown (crash mid-POST): GIS shows two of three as answered.
    ((batch_id, actions),) = gis.submitted
    gis.submitted.clear()
    for a in actions[:2]:
        gis.subs[a.subrequest_guid] = replace(gis.subs[a.subrequest_guid], response_status="Sent")
    async with maker() as session, session.begin():
        assert await sending.mark_uncertain(session=session, batch_id=batch_id)
    counts = await sending.reconcile_batch(sessionmaker=maker, gateway=gis, batch_id=batch_id)
    assert counts == {"confirmed": 2, "resent": 1}
    assert [[a.subrequest_guid for a in acts] for _, acts in gis.submitted] == [[actions[2].subrequest_guid]]
    await gis.complete(maker)
    assert await _count(maker, DebtSubrequest.status == "sent") == 3
    # Revoke one.
    async with maker() as session, session.begin():
        await sending.queue_revoke(
            session=session, principal=SYSTEM, subrequest_id=ids[0], revoke_after_deadline=False
        )
    await sending.run_send(
        sessionmaker=maker, gateway=gis, organisation_id=org.id, action="Revoke", actor="t",
        operation_id=None, subrequest_ids=[ids[0]], wait_seconds=0,
    )  # fmt: skip
    assert gis.submitted[0][1][0].action == "Revoke"
    await gis.complete(maker)
    assert await _count(maker, DebtSubrequest.status == "revoked") == 1


async def test_delete_archived_needs_confirmation(maker: async_sessionmaker[AsyncSession]) -> None:
    org, _gis, ids = await _fetched(maker, 3)
    async with maker() as session, session.begin():
        for sid in ids[:2]:
            await archive.archive(session=session, principal=SYSTEM, subrequest_id=sid)
    span = {"deadline_from": today(), "deadline_to": today() + timedelta(days=30)}
    async with maker() as session, session.begin():
        with pytest.raises(d.RuleViolation) as err:
            await archive.delete_archived(session=session, principal=SYSTEM, organisation_id=org.id,
                                          confirm=None, **span)  # fmt: skip
    assert err.value.errors[0].rule == "confirmation_required"
    async with maker() as session, session.begin():
        n = await archive.delete_archived(session=session, principal=SYSTEM, organisation_id=org.id,
                                          confirm="DELETE", **span)  # fmt: skip
    assert n == 2 and await _count(maker) == 1


# --------------------------------------------------------------------------------------- matching


async def test_matching_exact_normalised_and_debt(session: AsyncSession) -> None:
    org = await make_org(session)
    fias = uuid.uuid4()
    house = House(id=uuid.uuid4(), fias_house_guid=fias, address="ул. Тестовая, 1")
    session.add(house)
    accounts_by_flat: dict[str, uuid.UUID] = {}
    for raw in ("12", "14А"):
        prem = Premises(
            id=uuid.uuid4(),
            house_id=house.id,
            number_raw=raw,
            number_norm=normalize_premises(raw),
            kind="apartment",
            residential=True,
        )
        acc = Account(
            id=uuid.uuid4(), organisation_id=org.id, account_number=f"LS-{raw}", payer_kind="person"
        )
        session.add_all([prem, acc])
        await session.flush()
        session.add(AccountPremises(account_id=acc.id, premises_id=prem.id))
        accounts_by_flat[raw] = acc.id
    months = [
        (date(2024, m, 1), "1000.00", "400.00", date(2024, m, 10) + timedelta(days=31)) for m in (1, 2, 3)
    ]
    session.add(AccountLedger(account_id=accounts_by_flat["12"], months=encode_months(months)))
    await session.flush()
    gis_rows = [
        make_gis_subrequest(1, fias=fias, flat="12"),
        make_gis_subrequest(2, fias=fias, flat="14 а"),
        make_gis_subrequest(3, fias=fias, flat="99"),
        make_gis_subrequest(4, fias=uuid.uuid4(), flat="1"),
    ]
    await fetch.upsert_subrequests(session=session, organisation_id=org.id, subrequests=gis_rows)
    subs = await matching.open_subrequests(session=session, organisation_id=org.id)
    results = await matching.match_chunk(
        session=session, organisation_id=org.id, subs=subs, scope="organisation", exact_only=False, on=today()
    )
    by_number = {s.request_number: results[s.id] for s in subs}
    assert by_number["R-000001"].quality == "exact"
    assert by_number["R-000001"].account_ids == (accounts_by_flat["12"],)
    assert by_number["R-000001"].debt_sum == Decimal("1800.00") and by_number["R-000001"].debt_months == 3
    assert by_number["R-000002"].quality == "normalised"
    assert by_number["R-000003"].quality == "house_only" and by_number["R-000003"].account_ids == ()
    assert by_number["R-000004"].quality == "none"
    strict = await matching.match_chunk(
        session=session, organisation_id=org.id, subs=subs, scope="organisation", exact_only=True, on=today()
    )
    assert {s.request_number: strict[s.id].quality for s in subs}["R-000002"] == "review"
    first_id = subs[0].id
    await matching.store_matches(results, session=session)
    session.expire_all()
    stored = await session.get(DebtSubrequest, first_id)
    assert stored is not None and stored.match_quality is not None


async def test_an_answer_the_message_cannot_carry_is_left_out_and_the_rest_goes(
    maker: async_sessionmaker[AsyncSession],
) -> None:
    org, gis, ids = await _fetched(maker, 3)
    async with maker() as session, session.begin():
        await answers.answer_no_debt(session=session, principal=SYSTEM, ids=ids)
        # Stored before the API refused such values (or by a path that skipped it): U+0001 cannot go in XML.
        await session.execute(
            update(DebtAnswer).where(DebtAnswer.subrequest_id == ids[1]).values(description="долг\x01")
        )
    out = await sending.run_send(
        sessionmaker=maker, gateway=gis, organisation_id=org.id, action="Send", actor="t",
        operation_id=None, wait_seconds=0,
    )  # fmt: skip
    ((_batch, actions),) = gis.submitted
    assert len(actions) == 2
    assert out["left_out"] == 1 and out["left_out_ids"] == [str(ids[1])]
    await gis.complete(maker)
    async with maker() as session:
        bad = await session.get(DebtSubrequest, ids[1])
        assert bad is not None and bad.status == "prepared" and bad.send_batch_id is None
        assert bad.last_error_code == "INVALID_ANSWER"
        assert "responseData.description" in (bad.last_error_text or "")
        assert "xml" in (bad.last_error_text or "").lower()
    assert await _count(maker, DebtSubrequest.status == "sent") == 2


async def test_a_message_refused_as_a_whole_is_split_and_queued_again_once(
    maker: async_sessionmaker[AsyncSession],
) -> None:
    org, gis, ids = await _fetched(maker, 5)
    async with maker() as session, session.begin():
        await answers.answer_no_debt(session=session, principal=SYSTEM, ids=ids)
    await sending.run_send(
        sessionmaker=maker, gateway=gis, organisation_id=org.id, action="Send", actor="t",
        operation_id=None, wait_seconds=0,
    )  # fmt: skip
    ((batch_id, _actions),) = gis.submitted
    async with maker() as session, session.begin():
        # Access refusals hit every part of a message again: no split.
        assert not await sending.split_refused_batch(
            session=session, batch_id=batch_id, error_code="AUT011003", error_text="access denied"
        )
        assert await sending.split_refused_batch(
            session=session,
            batch_id=batch_id,
            error_code="FMT001300",
            error_text="All strings must be XML compatible",
        )
        # Applied once: a replayed hook neither splits again nor applies results.
        assert not await sending.split_refused_batch(
            session=session, batch_id=batch_id, error_code="FMT001300", error_text="again"
        )
        assert await sending.apply_batch_results(session=session, batch_id=batch_id, outcomes=None) == {
            "ok": 0,
            "error": 0,
        }
    async with maker() as session:
        op = await session.scalar(select(Operation).where(Operation.kind == "debt-send"))
        assert (
            op is not None
            and op.params["batch_size"] == 3
            and sorted(op.params["ids"]) == sorted(str(x) for x in ids)
        )
        assert (
            await _count(maker, DebtSubrequest.send_batch_id.is_(None), DebtSubrequest.status == "prepared")
            == 5
        )
    gis.submitted.clear()
    await sending.run_send(
        sessionmaker=maker, gateway=gis, organisation_id=org.id, action="Send", actor="t",
        operation_id=op.id, subrequest_ids=ids, batch_size=op.params["batch_size"], wait_seconds=0,
    )  # fmt: skip
    assert [len(a) for _, a in gis.submitted] == [3, 2]
    sent_guids = [a.subrequest_guid for _, actions in gis.submitted for a in actions]
    assert len(sent_guids) == len(set(sent_guids)) == 5
