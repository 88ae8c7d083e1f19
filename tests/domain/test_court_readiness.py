"""Readiness for a court order: the claim by month, exclusions, blocking rules, and consistency properties."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.court.assessment import (
    CaseInput,
    Debtor,
    LedgerRow,
    PenaltyPricer,
    assess,
    kopecks_to_money,
)
from app.domain.court.duty import court_order_duty
from app.domain.court.readiness import debtor_key
from app.domain.court.rules import CourtRules, parse_court_table
from app.domain.kernel.limitation import is_time_barred
from app.domain.kernel.penalties import due_date_for, penalty_for_amount
from app.domain.kernel.snils import random_valid_snils

ON = date(2025, 11, 20)
COURTS = parse_court_table(
    [
        {
            "region": "16",
            "court": {
                "name": "Судебный участок № 1 по Вахитовскому району",
                "district": "1",
                "address": "г. Казань, ул. Правосудия, д. 1",
            },
        },
        {
            "region": "16",
            "city": "г. Казань",
            "street": "ул. Баумана",
            "house_from": 1,
            "house_to": 20,
            "parity": "odd",
            "court": {"name": "Участок № 2", "district": "2", "address": "г. Казань"},
        },
    ]
)
RULES = CourtRules(courts=COURTS)


def _debtor(**overrides: object) -> Debtor:
    import random

    values: dict[str, object] = {
        "account_id": uuid.uuid4(),
        "last_name": "Иванов",
        "first_name": "Иван",
        "middle_name": "Иванович",
        "birth_date": date(1980, 1, 2),
        "birth_place": "г. Казань",
        "snils": random_valid_snils(random.Random(1)),
        "address": "г. Казань, ул. Баумана, д. 5",
        "region": "16",
    }
    values.update(overrides)
    return Debtor(**values)  # type: ignore[arg-type]


def _ledger(
    account: uuid.UUID, months: list[tuple[date, int, int]]
) -> tuple[tuple[uuid.UUID, LedgerRow], ...]:
    return tuple((account, LedgerRow(p, c, paid, due_date_for(p))) for p, c, paid in months)


def _months_back(n: int, amount: int = 500_000, paid: int = 0) -> list[tuple[date, int, int]]:
    out = []
    y, m = ON.year, ON.month
    for _ in range(n):
        m -= 1
        if m == 0:
            y, m = y - 1, 12
        out.append((date(y, m, 1), amount, paid))
    return out


def _assess(debtor: Debtor, months: list[tuple[date, int, int]], **kw: object) -> object:
    rules = kw.pop("rules", RULES)
    case = CaseInput((debtor,), _ledger(debtor.account_id, months), kw.pop("covered", {}))  # type: ignore[arg-type]
    return assess(case, on_date=ON, rules=rules, pricer=PenaltyPricer(rules, ON))  # type: ignore[arg-type]


def test_assess_ready_debtor_builds_claim_by_month() -> None:
    d = _debtor()
    a = _assess(d, _months_back(12))
    assert a.ready, a.blockers
    # The last month is not due yet on ON (due 2025-11-10 for October → due; November's bill not in ledger).
    assert len(a.months) == 12
    assert a.principal == Decimal("60000.00")
    assert a.penalties > 0
    assert a.duty == court_order_duty(a.total, ON)
    assert a.court is not None and a.court.district == "2"  # odd house on Баумана beats the region row


def test_assess_excludes_time_barred_months_and_lists_them() -> None:
    a = _assess(_debtor(), _months_back(48))
    expired = [e for e in a.excluded if e.reason == "limitation"]
    assert expired, "48 months back must reach past the 3-year limitation"
    assert all(is_time_barred(e.due_date, ON) for e in expired)
    assert all(not is_time_barred(m.due_date, ON) for m in a.months)


def test_assess_blocks_missing_identity_with_unblock_hint() -> None:
    a = _assess(_debtor(snils=None, birth_place=None, inn=None), _months_back(6))
    rules = {b.rule for b in a.blockers}
    assert rules == {"debtor_identifier", "debtor_birth_place"}
    assert all(b.unblock for b in a.blockers)


def test_assess_accepts_passport_or_inn_as_identifier() -> None:
    a = _assess(
        _debtor(snils=None, id_doc_type="1", id_doc_number="123456", id_doc_series="9200"), _months_back(6)
    )
    assert a.ready
    b = _assess(_debtor(snils=None, inn="165012345678"), _months_back(6))
    assert b.ready


def test_assess_blocks_claim_over_limit() -> None:
    a = _assess(_debtor(), _months_back(30, amount=2_000_000))  # 20,000 ₽ × 30 months > 500,000 ₽
    assert [b.rule for b in a.blockers] == ["claim_limit"]
    assert a.duty is None


def test_assess_blocks_dispute_bankruptcy_jurisdiction() -> None:
    a = _assess(_debtor(dispute=True, bankruptcy=True, region="77"), _months_back(6))
    assert {b.rule for b in a.blockers} == {"dispute", "bankruptcy", "jurisdiction"}
    warn = _assess(_debtor(bankruptcy=True), _months_back(6), rules=replace(RULES, bankruptcy_mode="warn"))
    assert warn.ready and [w.rule for w in warn.warnings] == ["bankruptcy"]


def test_assess_excludes_months_already_filed() -> None:
    d = _debtor()
    months = _months_back(6)
    case_id = uuid.uuid4()
    covered = {(d.account_id, p): case_id for p, _, _ in months[:3]}
    a = _assess(d, months, covered=covered)
    assert len(a.months) == 3
    assert {e.case_id for e in a.excluded if e.reason == "filed"} == {case_id}
    all_filed = _assess(d, months[:3], covered=covered)
    assert [b.rule for b in all_filed.blockers] == ["no_claimable_debt"]


def test_assess_min_claim_threshold_when_enabled() -> None:
    rules = replace(RULES, min_claim=Decimal("20000"))
    a = _assess(_debtor(), _months_back(3, amount=100_000), rules=rules)
    assert [b.rule for b in a.blockers] == ["min_claim"]


def test_surplus_payment_pays_oldest_claimable_month() -> None:
    months = _months_back(3)  # newest first
    months[0] = (months[0][0], 500_000, 800_000)  # 3,000 ₽ overpaid in the newest month
    a = _assess(_debtor(), months)
    assert a.principal == Decimal("7000.00")
    oldest = min(a.months, key=lambda m: m.period)
    assert oldest.outstanding == 200_000


def test_debtor_key_groups_by_snils_then_name_and_birth() -> None:
    a, b = _debtor(), _debtor(account_id=uuid.uuid4())
    assert debtor_key(a) == debtor_key(b)
    c = _debtor(snils=None)
    assert debtor_key(c).startswith("n:")
    assert debtor_key(_debtor(snils=None, birth_date=None)).startswith("a:")


# ----------------------------------------------------------------------------------------- properties

month_st = st.tuples(st.integers(0, 60), st.integers(-50_000, 2_000_000), st.integers(0, 2_000_000))


@settings(max_examples=150, deadline=None)
@given(amount=st.integers(1, 10_000_000), back=st.integers(0, 2500))
def test_pricer_matches_reference_penalty(amount: int, back: int) -> None:
    due = ON - timedelta(days=back)
    period = date(due.year, due.month, 1) - timedelta(days=1)
    period = period.replace(day=1)
    ref = penalty_for_amount(
        amount=kopecks_to_money(amount), due_date=due, until=ON, rules=RULES.penalty, period=period
    )
    assert kopecks_to_money(PenaltyPricer(RULES, ON).price(amount, due, period)) == ref.total


def _random_case(rows: list[tuple[int, int, int]]) -> tuple[Debtor, list[tuple[date, int, int]]]:
    back = _months_back(61)
    seen: dict[date, tuple[date, int, int]] = {}
    for idx, charged, paid in rows:
        p = back[idx][0]
        seen[p] = (p, charged, paid)
    return _debtor(), list(seen.values())


@settings(max_examples=150, deadline=None)
@given(rows=st.lists(month_st, max_size=40))
def test_random_ledgers_stay_consistent(rows: list[tuple[int, int, int]]) -> None:
    debtor, months = _random_case(rows)
    a = _assess(debtor, months)
    # Nothing older than the limitation is claimed; every claimed month is overdue and owed.
    for m in a.months:
        assert not is_time_barred(m.due_date, ON)
        assert m.due_date < ON
        assert 0 < m.outstanding <= max(m.charged, 0)
    # The claim never exceeds what the ledger says is unpaid overall.
    net = sum(c - p for _, c, p in months)
    assert a.principal <= kopecks_to_money(max(sum(max(c, 0) for _, c, _ in months), 0))
    if net <= 0:
        assert a.principal == 0 or any(e.reason == "limitation" for e in a.excluded)
    assert a.principal == sum((kopecks_to_money(m.outstanding) for m in a.months), Decimal(0))
    assert a.penalties == sum((kopecks_to_money(m.penalty) for m in a.months), Decimal(0))
    # Duty: present exactly when there is a claim within the limit, and at least 2,000 ₽.
    if a.duty is not None:
        assert a.duty >= Decimal("2000") and a.total <= RULES.claim_limit
    assert a.ready == (not a.blockers)


@settings(max_examples=100, deadline=None)
@given(rows=st.lists(st.tuples(st.integers(0, 60), st.integers(1, 1_000_000)), min_size=1, max_size=30))
def test_more_debt_never_lowers_claim_or_duty(rows: list[tuple[int, int]]) -> None:
    debtor, months = _random_case([(i, c, 0) for i, c in rows])
    base = _assess(debtor, months)
    bigger = _assess(debtor, [(p, c + 10_000, paid) for p, c, paid in months])
    assert bigger.principal >= base.principal
    assert bigger.penalties >= base.penalties
    if base.duty is not None and bigger.duty is not None:
        assert bigger.duty >= base.duty


@settings(max_examples=60, deadline=None)
@given(amount=st.integers(1, 5_000_000), start=st.dates(date(2019, 1, 1), date(2023, 12, 1)))
def test_no_penalty_accrues_inside_moratorium(amount: int, start: date) -> None:
    period = start.replace(day=1)
    due = due_date_for(period)
    until = date(2021, 1, 1)
    if due >= date(2020, 4, 6) and until >= due:
        # A debt falling due inside the 2020 moratorium accrues nothing until it ends.
        pricer = PenaltyPricer(RULES, until)
        assert pricer.price(amount, due, period) == 0
