"""Monitoring snapshots: pure figures, and stored snapshots equal to the hand-computed fixture."""

from __future__ import annotations

import random
import types
import uuid
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.models.core import AuditEvent, Operation
from app.domain.accounts.importing import upsert_accounts
from app.domain.accounts.ledger import LedgerRecord, money_text
from app.domain.accounts.rows import house_id_for
from app.domain.kernel import errors
from app.domain.kernel.access import SYSTEM
from app.domain.monitoring import effect, snapshots
from app.domain.monitoring.figures import BUCKET_NAMES, account_month, bucket_of, stored_month
from app.settings import MonitoringSettings
from tests.factories import make_org
from tests.monitoring_support import (
    EXPECTED_EFFECT,
    EXPECTED_ROWS,
    EXPECTED_TOP,
    EXPECTED_TOTALS,
    MONTH,
    effect_rows,
    monitoring_rows,
    record_measures,
)


@pytest.mark.parametrize(
    ("months", "bucket"),
    [(0, "age_1"), (1, "age_1"), (2, "age_2_3"), (3, "age_2_3"), (4, "age_4_6"), (6, "age_4_6")]
    + [(7, "age_7_12"), (12, "age_7_12"), (13, "age_13_36"), (36, "age_13_36"), (37, "age_over_36")],
)
def test_bucket_of_months_overdue(months: int, bucket: str) -> None:
    assert bucket_of(months) == bucket


def test_account_month_sets_credit_against_oldest_month() -> None:
    months = [
        LedgerRecord(date(2026, 1, 1), "100.00", "0.00", date(2026, 2, 10)),
        LedgerRecord(date(2026, 2, 1), "100.00", "0.00", date(2026, 3, 10)),
        LedgerRecord(date(2026, 3, 1), "100.00", "150.00", date(2026, 4, 10)),
    ]
    figures = account_month(months, date(2026, 3, 1))
    # The 50 overpaid in March settles half of January (the oldest), February stays whole.
    assert (figures.charged, figures.paid, figures.debt) == (10000, 15000, 15000)
    assert figures.ages["age_2_3"] == 5000 and figures.ages["age_1"] == 10000
    assert figures.oldest_overdue == 2


def _expected_rows() -> dict[tuple[uuid.UUID, str], dict[str, Any]]:
    return {(house_id_for(h), c): v for (h, c), v in EXPECTED_ROWS.items()}


async def test_compute_snapshot_matches_hand_computed_fixture(session: AsyncSession) -> None:
    org = await make_org(session)
    await upsert_accounts(session=session, organisation_id=org.id, rows=monitoring_rows())
    snapshot = await snapshots.compute_snapshot(
        session=session, organisation_id=org.id, month=date(2026, 3, 17), settings=MonitoringSettings()
    )
    stored, rows = await snapshots.get_snapshot(session=session, principal=SYSTEM, snapshot_id=snapshot.id)
    assert stored.month == MONTH and stored.version == 1
    fields = next(iter(EXPECTED_ROWS.values())).keys()
    got = {(r.house_id, r.category): {k: getattr(r, k) for k in fields} for r in rows}
    assert got == _expected_rows()
    totals = {k: v for k, v in stored.totals.items() if k != "debtor_min"}
    assert {k: Decimal(str(v)) for k, v in totals.items()} == {
        k: Decimal(str(v)) for k, v in EXPECTED_TOTALS.items()
    }
    assert [(t["account_number"], t["debt"], t["months_overdue"]) for t in stored.top_debtors] == EXPECTED_TOP


async def test_request_snapshot_refuses_silent_recompute_and_journals(session: AsyncSession) -> None:
    org = await make_org(session)
    await upsert_accounts(session=session, organisation_id=org.id, rows=monitoring_rows())
    first, _ = await snapshots.request_snapshot(
        session=session,
        principal=SYSTEM,
        organisation_id=org.id,
        month=MONTH,
        recompute=False,
        settings=MonitoringSettings(),
    )
    assert first is not None
    # A re-import changes the ledger; the stored history does not move until asked.
    rows = monitoring_rows()
    rows[0]["ledger"][0]["paid"] = "1000"
    await upsert_accounts(session=session, organisation_id=org.id, rows=rows[:1])
    with pytest.raises(errors.ConflictError) as refused:
        await snapshots.request_snapshot(
            session=session,
            principal=SYSTEM,
            organisation_id=org.id,
            month=MONTH,
            recompute=False,
            settings=MonitoringSettings(),
        )
    assert refused.value.errors[0].path == "body.recompute"
    await session.refresh(first)
    assert first.totals["debt"] == "8900.01"
    again, _ = await snapshots.request_snapshot(
        session=session,
        principal=SYSTEM,
        organisation_id=org.id,
        month=MONTH,
        recompute=True,
        settings=MonitoringSettings(),
    )
    assert again is not None and again.id == first.id and again.version == 2
    assert again.totals["debt"] == "7900.01"
    actions = (
        await session.scalars(
            select(AuditEvent.action).where(AuditEvent.organisation_id == org.id).order_by(AuditEvent.id)
        )
    ).all()
    assert actions == ["monitoring_snapshot.compute", "monitoring_snapshot.recompute"]


async def test_large_organisation_snapshot_runs_as_operation(db: async_sessionmaker[AsyncSession]) -> None:
    settings = MonitoringSettings(inline_limit=0)
    async with db() as session, session.begin():
        org = await make_org(session)
        await upsert_accounts(session=session, organisation_id=org.id, rows=monitoring_rows())
        snapshot, op = await snapshots.request_snapshot(
            session=session,
            principal=SYSTEM,
            organisation_id=org.id,
            month=MONTH,
            recompute=False,
            settings=settings,
        )
        assert snapshot is None and op is not None
        op_id = op.id
    progress_calls: list[int] = []

    async def progress(done: int, total: int | None = None) -> None:
        progress_calls.append(done)

    ctx = types.SimpleNamespace(sessionmaker=db, settings=types.SimpleNamespace(monitoring=settings))
    async with db() as session:
        op = await session.get(Operation, op_id)
        assert op is not None
    result = await snapshots.run_snapshot_job(op, progress, ctx)  # type: ignore[arg-type]
    assert result["totals"]["debt"] == "8900.01" and result["version"] == 1
    assert progress_calls == [7]


def test_window_payments_count_only_billing_months_after_the_measure() -> None:
    months = [LedgerRecord(date(2026, m, 1), "100.00", f"{m}.00", date(2026, m + 1, 10)) for m in range(1, 9)]
    # A measure in March: April is the 30-day window, April–June the 90-day one; March itself never counts.
    assert effect.window_payments(months, effect.month_index(date(2026, 3, 31))) == {30: 400, 90: 1500}


def test_effect_rows_mark_windows_the_ledgers_do_not_yet_hold() -> None:
    tally = effect.EffectTally()
    tally.add(effect.Measure("notice", date(2026, 3, 5), 100, (uuid.uuid4(),)), {30: 100, 90: 100})
    notice = effect.effect_rows({"notice": tally}, newest_month=effect.month_index(date(2026, 4, 1)))[0]
    assert (notice["complete_30"], notice["complete_90"]) == (True, False)
    assert (notice["paid_full_30"], notice["share_paid_30"]) == (1, "1.0000")


async def test_snapshot_effect_of_measures_matches_hand_computed_fixture(session: AsyncSession) -> None:
    org = await make_org(session)
    await upsert_accounts(session=session, organisation_id=org.id, rows=effect_rows())
    await record_measures(session, org.id)
    snapshot = await snapshots.compute_snapshot(
        session=session, organisation_id=org.id, month=MONTH, settings=MonitoringSettings()
    )
    assert snapshot.effect == EXPECTED_EFFECT
    # History: a re-imported ledger leaves the stored effect alone until a re-computation is asked for.
    rows = effect_rows()
    rows[1]["ledger"][3]["paid"] = "2000"  # E2 pays 2000 in April
    await upsert_accounts(session=session, organisation_id=org.id, rows=rows[1:2])
    stored = await snapshots.find_snapshot(session=session, organisation_id=org.id, month=MONTH)
    assert stored is not None and stored.effect == EXPECTED_EFFECT
    again, _ = await snapshots.request_snapshot(
        session=session,
        principal=SYSTEM,
        organisation_id=org.id,
        month=MONTH,
        recompute=True,
        settings=MonitoringSettings(),
    )
    assert again is not None and again.effect is not None
    assert (again.effect[0]["paid_any_30"], again.effect[0]["paid_30"]) == (2, "3000.00")


def _month(index: int, day: int = 1) -> date:
    year, month = divmod(index, 12)
    return date(year, month + 1, day)


def test_stored_month_gives_account_month_figures() -> None:
    rng = random.Random(11)
    for _ in range(300):
        start = rng.randrange(2018 * 12, 2026 * 12)
        records = []
        for i in range(rng.randrange(0, 60)):
            y, m = divmod(start + i, 12)
            period = date(y, m + 1, 1)
            charged = rng.choice([0, 1, 99, 150000, 123456])
            paid = rng.choice([0, charged, charged // 2, charged * 3, -500])
            due = _month(start + i + rng.choice([0, 1, 2]), 10)
            records.append(LedgerRecord(period, money_text(charged / 100), money_text(paid / 100), due))
        stored = [[r.period.isoformat(), r.charged, r.paid, r.due_date.isoformat()] for r in records]
        month = _month(start + rng.randrange(-3, 70))
        want = account_month(records, month)
        got = stored_month(stored, month)
        if not want.billed:
            assert got is None
            continue
        assert got is not None
        assert (got.charged, got.paid, got.debt, got.oldest_overdue) == (
            want.charged,
            want.paid,
            want.debt,
            want.oldest_overdue,
        )
        assert dict(zip(BUCKET_NAMES, got.ages, strict=True)) == want.ages
