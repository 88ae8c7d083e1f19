"""Notice runs as operations: committed steps with a cursor; a worker killed mid-run resumes without
duplicating a notice."""

from __future__ import annotations

import types
import uuid
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.base import utcnow
from app.db.models.core import AuditEvent, Operation
from app.db.models.monitoring import Notice, NoticeRun
from app.domain.accounts.importing import upsert_accounts
from app.domain.court.notice_runs import run_notice_run
from app.domain.court.rules import court_rules
from app.domain.kernel import operations as ops
from app.domain.kernel.access import SYSTEM
from app.domain.monitoring import notices
from tests.conftest import make_settings
from tests.factories import make_org

ON = date(2026, 3, 31)
PAYMENT = notices.PaymentDetails(
    payee="ООО «УК Тестовая»", inn="7701234567", bank="ПАО Сбербанк", bik="044525225",
    account="40702810938000000001",
)  # fmt: skip
RULES = notices.NoticeRules(min_debt="100.00", min_months_overdue=2, noticed_within_days=30)
N = 60


def _rows() -> list[dict[str, Any]]:
    """N accounts; every third owes its last three months (a debtor), the others paid everything."""
    out = []
    for i in range(N):
        months = []
        for m in range(1, 7):
            period = date(2025, 9 + m, 1) if m <= 3 else date(2026, m - 3, 1)
            due = (period + timedelta(days=40)).replace(day=10)
            owes = i % 3 == 0 and m >= 3
            months.append(
                {"period": period.isoformat(), "charged": "1000", "paid": "0" if owes else "1000",
                 "due_date": due.isoformat()}
            )  # fmt: skip
        out.append(
            {
                "account_number": f"R{i:04d}",
                "payer": {"kind": "person", "last_name": "Петров", "first_name": "Пётр"},
                "premises": [{"fias_house_guid": str(uuid.UUID(int=7)), "number": str(i + 1)}],
                "ledger": months,
            }
        )
    return out


class Crash(Exception):
    """The worker dies here (after a step was committed)."""


async def test_queued_run_resumes_after_a_crash_with_one_notice_per_debtor(
    db: async_sessionmaker[AsyncSession], fresh_database_url: str
) -> None:
    settings = make_settings(fresh_database_url, monitoring_notice_chunk=7)
    async with db() as session, session.begin():
        org = await make_org(session)
        await upsert_accounts(session=session, organisation_id=org.id, rows=_rows())
        run, op = await notices.request_run(
            session=session, principal=SYSTEM, organisation_id=org.id, rules=RULES, payment_details=PAYMENT,
            on_date=ON, penalty_rules=court_rules(settings).penalty, templates=None, inline_limit=10,
        )  # fmt: skip
        assert op is not None and run.status == "pending" and op.progress_total == N
        run_id, op_id, org_id = run.id, op.id, org.id
    ctx = types.SimpleNamespace(sessionmaker=db, settings=settings)
    calls: list[tuple[int, int | None]] = []

    async def dying(done: int, total: int | None = None) -> None:
        calls.append((done, total))
        if len(calls) == 4:  # three steps of 7 accounts committed
            raise Crash

    async with db() as session:
        claimed = await ops.claim_next(session=session, kinds=[notices.RUN_JOB])
        await session.commit()
        assert claimed is not None and claimed.id == op_id
    with pytest.raises(Crash):
        await run_notice_run(claimed, dying, ctx)  # type: ignore[arg-type]
    async with db() as session:
        run = await session.get(NoticeRun, run_id)
        assert run is not None and run.status == "running" and run.cursor == "R0020"
        assert run.total == 7  # R0000, R0003, …, R0018
        assert await session.scalar(select(func.count()).where(Notice.run_id == run_id)) == 7
        # The lease of the dead worker runs out; another worker claims the operation again.
        await session.execute(
            update(Operation).where(Operation.id == op_id).values(lease_until=utcnow() - timedelta(seconds=1))
        )
        await session.commit()
    async with db() as session:
        again = await ops.claim_next(session=session, kinds=[notices.RUN_JOB])
        await session.commit()
        assert again is not None and again.id == op_id
    calls.clear()

    async def progress(done: int, total: int | None = None) -> None:
        calls.append((done, total))

    result = await run_notice_run(again, progress, ctx)  # type: ignore[arg-type]
    assert calls[0] == (21, N) and calls[-1] == (N, N)
    assert result["notices"] == N // 3 and result["run_id"] == str(run_id)
    assert result["contacts"] == {"with_phone": 0, "without_phone": 20, "with_email": 0, "without_email": 20}
    async with db() as session:
        got = (
            await session.execute(
                select(Notice.seq, Notice.account_number).where(Notice.run_id == run_id).order_by(Notice.seq)
            )
        ).all()
        assert [tuple(r) for r in got] == [(k + 1, f"R{3 * k:04d}") for k in range(N // 3)]
        run = await session.get(NoticeRun, run_id)
        assert run is not None and run.status == "done"
        actions = (
            await session.scalars(
                select(AuditEvent.action).where(AuditEvent.organisation_id == org_id).order_by(AuditEvent.id)
            )
        ).all()
        assert actions == ["notice_run.queue", "notice_run.create"]
    # A finished run claimed again (a duplicate delivery of the job) changes nothing.
    assert (await run_notice_run(again, progress, ctx))["notices"] == N // 3  # type: ignore[arg-type]
    async with db() as session:
        assert await session.scalar(select(func.count()).where(Notice.run_id == run_id)) == N // 3


async def test_small_organisation_runs_inline_in_the_request(
    session: AsyncSession, database_url: str
) -> None:
    settings = make_settings(database_url)
    org = await make_org(session)
    await upsert_accounts(session=session, organisation_id=org.id, rows=_rows())
    run, op = await notices.request_run(
        session=session, principal=SYSTEM, organisation_id=org.id, rules=RULES, payment_details=PAYMENT,
        on_date=ON, penalty_rules=court_rules(settings).penalty, templates=None, inline_limit=N,
    )  # fmt: skip
    assert op is None and run.status == "done" and run.total == N // 3
