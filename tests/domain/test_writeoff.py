"""Write-off: limitation with suspension and restart, candidates against a hand-computed fixture, acts."""

from __future__ import annotations

import csv
import io
import random
import uuid
from datetime import date
from decimal import Decimal
from typing import Any

import openpyxl
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models.accounts import Account, AccountLedger
from app.db.models.agreements import Agreement
from app.db.models.core import AuditEvent, Operation
from app.db.models.court import CourtCase, CourtConfirmedDebt
from app.domain import writeoff
from app.domain.accounts.ledger import encode_months
from app.domain.court.packages import build_claim
from app.domain.court.readiness import iter_assessments
from app.domain.court.rules import CourtRules, court_rules
from app.domain.court.written_off import update_registry_after_write_off
from app.domain.kernel import errors
from app.domain.kernel.access import SYSTEM, Principal
from app.domain.kernel.snils import random_valid_snils
from app.domain.writeoff.rules import CaseSpan, effective_expiry, is_expired
from tests.conftest import make_settings
from tests.factories import COURTS, make_org

ON = date(2026, 1, 20)
#: billing month → its due date (the 10th of the next month), all charged 1,000 ₽.
MONTHS = {
    date(2022, 9, 1): date(2022, 10, 10),
    date(2022, 10, 1): date(2022, 11, 10),
    date(2022, 11, 1): date(2022, 12, 10),
    date(2022, 12, 1): date(2023, 1, 10),
    date(2023, 1, 1): date(2023, 2, 10),
}
SEP, OCT, NOV, DEC, JAN = MONTHS


def test_effective_expiry_applies_suspension_extension_and_restart() -> None:
    due = date(2022, 10, 10)
    assert effective_expiry(due) == date(2025, 10, 11)
    pending = CaseSpan("submitted", date(2025, 6, 1), None)
    assert effective_expiry(due, cases=[pending]) is None
    # Cancelled with 132 days left: extended to six months after the cancellation (ГК ст. 204 п. 3).
    assert effective_expiry(due, cases=[CaseSpan("cancelled", date(2025, 6, 1), date(2025, 9, 1))]) == date(
        2026, 3, 1
    )
    # Cancelled with years left: the remainder runs on from the cancellation.
    early = CaseSpan("cancelled", date(2023, 3, 1), date(2023, 4, 1))
    assert effective_expiry(due, cases=[early]) == date(2025, 11, 11)
    assert effective_expiry(due, cases=[CaseSpan("returned", date(2025, 6, 1), None)]) == date(2025, 10, 11)
    assert effective_expiry(due, cases=[CaseSpan("submitted", date(2025, 11, 1), None)]) == date(2025, 10, 11)
    assert effective_expiry(due, acknowledged_on=date(2024, 1, 15)) == date(2027, 1, 16)
    assert is_expired(due, date(2025, 10, 12)) and not is_expired(due, date(2025, 10, 11))


async def _account(
    session: AsyncSession, org_id: uuid.UUID, paid: dict[date, int] | None = None
) -> uuid.UUID:
    account_id = uuid.uuid4()
    session.add(
        Account(
            id=account_id,
            organisation_id=org_id,
            account_number=f"LS{account_id.int % 10**8}",
            payer_kind="person",
            last_name="Сидоров",
            first_name="Семён",
            birth_date=date(1970, 1, 1),
            birth_place="г. Казань",
            snils=random_valid_snils(random.Random(str(account_id))),
        )
    )
    await session.flush()
    paid = paid or {}
    months = encode_months([(p, Decimal(1000), paid.get(p, 0), due) for p, due in MONTHS.items()])
    session.add(AccountLedger(account_id=account_id, months=months))
    await session.flush()
    return account_id


async def _case(
    session: AsyncSession, org_id: uuid.UUID, account: uuid.UUID, months: list[date], **values: Any
) -> None:
    session.add(
        CourtCase(
            organisation_id=org_id,
            account_id=account,
            account_ids=[str(account)],
            debtor={},
            months=[m.isoformat() for m in months],
            period_from=min(months),
            period_to=max(months),
            on_date=values["submitted_on"],
            principal=Decimal(1000 * len(months)),
            penalties=Decimal(0),
            total=Decimal(1000 * len(months)),
            claim={},
            **values,
        )
    )
    await session.flush()


def _pricer(rest: int, due: date, period: date) -> int:  # noqa: ARG001
    return rest // 10  # a fake penalty port: 10 % of the principal


async def test_candidates_equal_the_hand_computed_fixture(session: AsyncSession, database_url: str) -> None:
    org = await make_org(session, region_code="16")
    plain = await _account(session, org.id, paid={OCT: 400})
    suspended = await _account(session, org.id)
    await _case(
        session, org.id, suspended, [SEP, OCT, NOV, DEC], status="cancelled", submitted_on=date(2025, 6, 1),
        cancelled_on=date(2025, 9, 1), duty=Decimal(400),
    )  # fmt: skip
    pending = await _account(session, org.id)
    await _case(
        session, org.id, pending, [SEP], status="submitted", submitted_on=date(2025, 6, 1), duty=Decimal(400)
    )
    early = await _account(session, org.id)
    await _case(
        session, org.id, early, [SEP, OCT], status="cancelled", submitted_on=date(2023, 3, 1),
        cancelled_on=date(2023, 4, 1), duty=Decimal(400),
    )  # fmt: skip
    acknowledged = await _account(session, org.id)
    session.add(
        Agreement(
            organisation_id=org.id, account_id=acknowledged, status="breached", signed_on=date(2024, 1, 15),
            covered_through=NOV, principal=Decimal(3000), penalties=Decimal(0), penalty_mode="included",
            total=Decimal(3000), baseline_paid=Decimal(0), paid=Decimal(0),
        )
    )  # fmt: skip
    bankrupt = await _account(session, org.id)
    await writeoff.record_impossibility(
        session=session, principal=SYSTEM, organisation_id=org.id, account_id=bankrupt,
        ground="bankruptcy_completed", act_date=date(2023, 1, 20),
    )  # fmt: skip

    found = await writeoff.find_candidates(
        session=session, organisation_id=org.id, on_date=ON, pricer=_pricer
    )
    got = {(c.account_id, c.period, c.ground, c.principal, c.penalties, c.duty) for c in found}
    # Hand-computed (kopecks). Due 10 Oct 2022 expires 11 Oct 2025, then one month later each; on 20 Jan 2026
    # Sep–Dec 2022 are past limitation, January 2023 (to 11 Feb 2026) is not.
    lim = "limitation"
    want = {
        (plain, SEP, lim, 100000, 10000, 0),
        (plain, OCT, lim, 60000, 6000, 0),
        (plain, NOV, lim, 100000, 10000, 0),
        (plain, DEC, lim, 100000, 10000, 0),
        # suspended: the case cancelled on 1 Sep 2025 extends every month it claimed to 1 Mar 2026: none.
        # pending: September is being collected; the others run their own term.
        (pending, OCT, lim, 100000, 10000, 0),
        (pending, NOV, lim, 100000, 10000, 0),
        (pending, DEC, lim, 100000, 10000, 0),
        # early: the case of 2023 suspended Sep and Oct 2022 for a month (to 11 Nov and 12 Dec 2025): expired,
        # with its 400 ₽ duty shared between them.
        (early, SEP, lim, 100000, 10000, 20000),
        (early, OCT, lim, 100000, 10000, 20000),
        (early, NOV, lim, 100000, 10000, 0),
        (early, DEC, lim, 100000, 10000, 0),
        # acknowledged: the agreement of 15 Jan 2024 restarted Sep–Nov 2022 (to 16 Jan 2027); December is not
        # covered and expired.
        (acknowledged, DEC, lim, 100000, 10000, 0),
        # bankrupt: months due before 20 Jan 2023 are uncollectable whatever their limitation.
        (bankrupt, SEP, "bankruptcy_completed", 100000, 10000, 0),
        (bankrupt, OCT, "bankruptcy_completed", 100000, 10000, 0),
        (bankrupt, NOV, "bankruptcy_completed", 100000, 10000, 0),
        (bankrupt, DEC, "bankruptcy_completed", 100000, 10000, 0),
    }
    assert got == want
    assert not any(c.account_id == suspended for c in found)

    # The same selection as an operation's work: streamed in partitions of two ledgers, with progress.
    seen: list[tuple[int, int]] = []

    async def progress(done: int, total: int) -> None:
        seen.append((done, total))

    summary, kept = await writeoff.select_all(
        session=session, organisation_id=org.id, on_date=ON, pricer=_pricer, progress=progress, keep=True,
        chunk=2,
    )  # fmt: skip
    assert {(c.account_id, c.period, c.ground, c.principal, c.penalties, c.duty) for c in kept} == want
    assert seen == [(2, 6), (4, 6), (6, 6)]
    kop = {"principal": sum(w[3] for w in want), "penalties": sum(w[4] for w in want)}
    assert summary["months"] == len(want) == 16
    assert (summary["principal"], summary["penalties"], summary["duty"]) == (
        f"{kop['principal'] // 100}.00",
        f"{kop['penalties'] // 100}.00",
        "400.00",
    )
    assert (summary["accounts_read"], summary["accounts_with_candidates"]) == (6, 5)
    assert summary["by_ground"]["bankruptcy_completed"]["months"] == 4
    assert summary["by_ground"]["limitation"]["months"] == 12


async def test_act_posts_and_posted_months_leave_court_claims(
    session: AsyncSession, database_url: str
) -> None:
    org = await make_org(session, region_code="16")
    account = await _account(session, org.id)
    act = await writeoff.create_act(
        session=session,
        principal=SYSTEM,
        organisation_id=org.id,
        on_date=ON,
        pricer=_pricer,
        reason="limitation",
    )
    lines = await writeoff.act_lines(session=session, act_id=act.id)
    assert [(x.period, x.principal, x.penalties) for x in lines] == [
        (p, Decimal("1000.00"), Decimal("100.00")) for p in (SEP, OCT, NOV, DEC)
    ]
    assert (act.principal, act.penalties, act.duty) == (
        Decimal("4000.00"),
        Decimal("400.00"),
        Decimal("0.00"),
    )
    # A month already in an act cannot go into another.
    with pytest.raises(errors.RuleViolation) as caught:
        await writeoff.create_act(
            session=session, principal=SYSTEM, organisation_id=org.id, on_date=ON, pricer=_pricer,
            months=[writeoff.MonthRef(account, SEP), writeoff.MonthRef(account, JAN)],
        )  # fmt: skip
    assert [(p.path, p.rule) for p in caught.value.errors] == [
        ("body.months.0", "already_written_off"),
        ("body.months.1", "not_a_candidate"),
    ]
    await writeoff.advance_act(session=session, principal=SYSTEM, act_id=act.id, step="approve", reason="ok")
    with pytest.raises(errors.ConflictError):
        await writeoff.advance_act(session=session, principal=SYSTEM, act_id=act.id, step="cancel")
    assert await writeoff.written_off_months(session=session, organisation_id=org.id) == set()
    await writeoff.advance_act(session=session, principal=SYSTEM, act_id=act.id, step="post", reason="posted")
    assert act.status == "posted"
    assert await writeoff.written_off_months(session=session, organisation_id=org.id) == {
        (account, p) for p in (SEP, OCT, NOV, DEC)
    }
    actions = (
        await session.scalars(select(AuditEvent.action).where(AuditEvent.resource_id == str(act.id)))
    ).all()
    assert sorted(actions) == ["write_off.approve", "write_off.draft", "write_off.post"]
    csv_text = await writeoff.act_csv(session=session, act=act)
    assert csv_text.splitlines()[1].endswith(";2022-09-01;2022-10-10;limitation;1000.00;100.00;0.00;1100.00")
    # Court readiness no longer counts the written-off months.
    rules = court_rules(make_settings(database_url, court_courts=COURTS))
    found = iter_assessments(
        session=session, organisation_id=org.id, cases=[[account]], on_date=ON, rules=rules
    )
    batches = [b async for b in found]
    reasons = {e.period: e.reason for e in batches[0][0].excluded}
    assert reasons == {SEP: "written_off", OCT: "written_off", NOV: "written_off", DEC: "written_off"}
    # Nor does the package's claim built from it (court.packages.build_claim): the months are listed excluded.
    claim = build_claim(batches[0][0], rules=rules)
    claimed = {m["period"] for m in claim["months"]}
    assert not claimed & {p.isoformat() for p in (SEP, OCT, NOV, DEC)}
    excluded = {(e["period"], e["reason"]) for e in claim["excluded"]}
    assert {(p.isoformat(), "written_off") for p in (SEP, OCT, NOV, DEC)} <= excluded


async def test_draft_act_can_be_cancelled_and_its_months_freed(session: AsyncSession) -> None:
    org = await make_org(session)
    await _account(session, org.id)
    act = await writeoff.create_act(
        session=session, principal=SYSTEM, organisation_id=org.id, on_date=ON, pricer=_pricer
    )
    await writeoff.advance_act(
        session=session, principal=SYSTEM, act_id=act.id, step="cancel", reason="mistake"
    )
    again = await writeoff.find_candidates(
        session=session, organisation_id=org.id, on_date=ON, pricer=_pricer
    )
    assert len(again) == 4


async def test_act_exports_read_back_as_csv_and_xlsx(session: AsyncSession) -> None:
    org = await make_org(session)
    first = await _account(session, org.id, paid={OCT: 400})
    second = await _account(session, org.id)
    act = await writeoff.create_act(
        session=session, principal=SYSTEM, organisation_id=org.id, on_date=ON, pricer=_pricer, reason="ГК 196"
    )
    chief = Principal(key_id=None, name="chief", scopes=frozenset({"admin"}), all_organisations=True)
    await writeoff.advance_act(session=session, principal=chief, act_id=act.id, step="approve")
    await writeoff.advance_act(session=session, principal=chief, act_id=act.id, step="post")
    numbers = {
        a.id: a.account_number
        for a in (await session.scalars(select(Account).where(Account.id.in_([first, second])))).all()
    }
    # Hand-computed: Sep–Dec 2022 of each, 1,000 ₽ a month (600 ₽ of the first's October), penalties 10 %.
    want_lines = {
        (numbers[acc], p.isoformat(), "limitation", Decimal(pr), Decimal(pr) / 10)
        for acc in (first, second)
        for p in (SEP, OCT, NOV, DEC)
        for pr in [600 if (acc, p) == (first, OCT) else 1000]
    }
    want_accounts = {numbers[first]: Decimal(3600), numbers[second]: Decimal(4000)}

    rows = list(csv.reader(io.StringIO(await writeoff.act_csv(session=session, act=act)), delimiter=";"))
    assert rows[0] == list(writeoff.exports.COLUMNS)
    lines = [r for r in rows[1:] if r[3] == "limitation"]
    assert {(r[0], r[1], r[3], Decimal(r[4]), Decimal(r[5])) for r in lines} == want_lines
    assert all(Decimal(r[7]) == Decimal(r[4]) + Decimal(r[5]) + Decimal(r[6]) for r in lines)
    subtotals = {r[0]: Decimal(r[4]) for r in rows if r[3] == "account_total"}
    assert subtotals == want_accounts
    (total,) = [r for r in rows if r[0] == "total"]
    assert [Decimal(x) for x in total[4:]] == [Decimal(7600), Decimal(760), Decimal(0), Decimal(8360)]
    steps = {r[0]: r[1] for r in rows if r[0] in ("created", "approved", "posted")}
    assert steps == {"created": "key:system", "approved": "key:chief", "posted": "key:chief"}

    book = openpyxl.load_workbook(io.BytesIO(await writeoff.act_xlsx(session=session, act=act)))
    sheet = book["Акт списания"]
    values = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert values[0][0] == "Акт списания безнадёжной задолженности от 20.01.2026"
    assert values[2][:2] == ["Статус", "проведён"]
    header = values.index(list(writeoff.exports.HEADINGS_RU))
    body = [r for r in values[header + 1 :] if r and r[3] and str(r[3]).startswith("Истечение")]
    assert {
        (r[0], r[1].date().isoformat(), "limitation", Decimal(str(r[4])), Decimal(str(r[5]))) for r in body
    } == want_lines
    per_account = {r[0]: Decimal(str(r[4])) for r in values if r and r[3] == "Итого по лицевому счёту"}
    assert per_account == want_accounts
    (grand,) = [r for r in values if r and r[0] == "Итого по акту"]
    assert [Decimal(str(x)) for x in grand[4:8]] == [Decimal(7600), Decimal(760), Decimal(0), Decimal(8360)]
    signed = {r[0]: r[1] for r in values if r and r[0] in ("Составил", "Утвердил", "Провёл")}
    assert signed == {"Составил": "key:system", "Утвердил": "key:chief", "Провёл": "key:chief"}


async def _placed_debt(session: AsyncSession, org_id: uuid.UUID, account: uuid.UUID) -> CourtConfirmedDebt:
    case = CourtCase(
        organisation_id=org_id, account_id=account, account_ids=[str(account)], debtor={},
        months=[m.isoformat() for m in (SEP, OCT)], period_from=SEP, period_to=OCT, on_date=date(2023, 3, 1),
        principal=Decimal(2000), penalties=Decimal(0), total=Decimal(2000), claim={}, status="in_force",
        submitted_on=date(2023, 3, 1), duty=Decimal(400),
    )  # fmt: skip
    session.add(case)
    await session.flush()
    debt = CourtConfirmedDebt(
        organisation_id=org_id, case_id=case.id, account_id=account, last_name="Сидоров", first_name="Семён",
        act_number="2-1/2023", act_date=date(2023, 5, 1), act_pronouncing_date=date(2023, 4, 1),
        principal=Decimal(2000), penalties=Decimal(0), duty=Decimal(400), amount=Decimal(2400),
        placement="placed", gis_debt_guid=str(uuid.uuid4()), gis_status="PUBLISHED",
    )  # fmt: skip
    session.add(debt)
    await session.flush()
    return debt


@pytest.mark.parametrize("reason", [("5", "3f1c3b0e-0b6a-4a0a-9d55-5d1e6f6a0005"), None])
async def test_posting_queues_the_registry_action_the_write_off_calls_for(
    session: AsyncSession, reason: tuple[str, str] | None
) -> None:
    org = await make_org(session)
    account = await _account(session, org.id)
    debt = await _placed_debt(session, org.id, account)
    await writeoff.record_impossibility(
        session=session, principal=SYSTEM, organisation_id=org.id, account_id=account,
        ground="enforcement_closed", act_date=date(2025, 1, 1),
    )  # fmt: skip
    rules = CourtRules(writeoff_reason=reason)

    async def hook(s: AsyncSession, who: Principal, act: Any) -> list[uuid.UUID]:
        return await update_registry_after_write_off(s, who, act, rules=rules)

    async def post(months: list[date]) -> list[Operation]:
        act = await writeoff.create_act(
            session=session, principal=SYSTEM, organisation_id=org.id, on_date=ON, pricer=_pricer,
            months=[writeoff.MonthRef(account, m) for m in months],
        )  # fmt: skip
        await writeoff.advance_act(session=session, principal=SYSTEM, act_id=act.id, step="approve")
        _, queued = await writeoff.post_act(session=session, principal=SYSTEM, act_id=act.id, on_posted=hook)
        return [op for op in [await session.get(Operation, i) for i in queued] if op is not None]

    # A month the case did not claim: nothing to update. One claimed month of two: an edit with a note.
    # One operation per posting, whatever the number of debts (the job batches them into importDebt messages).
    assert await post([NOV]) == []
    (edit,) = await post([SEP])
    assert edit.params is not None and edit.kind == "court-registry-write-off" and edit.progress_total == 1
    (item,) = edit.params["items"]
    assert (item["debt_id"], item["action"]) == (str(debt.id), "edit")
    assert item["text"].startswith("Часть задолженности списана как безнадёжная")
    assert "09.2022" in item["text"]
    # The last claimed month: the debt is written off whole → annulled (NSI 365 from settings), else edited
    # with a note and a hint to annul by hand.
    (last,) = await post([OCT])
    assert last.params is not None
    (item,) = last.params["items"]
    if reason is not None:
        assert (item["action"], last.params["reason_code"]) == ("annul", "5")
        assert item["text"].startswith("Задолженность списана как безнадёжная")
        assert debt.last_error is None
    else:
        assert item["action"] == "edit"
        assert debt.last_error is not None and "GISGW_COURT_WRITEOFF_REASON_CODE" in debt.last_error
