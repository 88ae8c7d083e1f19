"""The court funnel of a month: each stage counts what entered it in the month, with exact sums."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models.core import Organisation
from app.db.models.court import CourtCase, CourtCaseEvent, CourtReadinessResult, CourtReadinessRun
from app.db.models.monitoring import MonitoringSnapshot
from app.domain.court.funnel import STAGES, court_funnel, court_funnels
from app.domain.kernel import errors
from app.domain.kernel.access import Principal
from tests.factories import make_org

NOV = date(2026, 11, 1)


def reader(*orgs: uuid.UUID) -> Principal:
    """A `read` key bound to these organisations."""
    return Principal(key_id=None, name="ops", scopes=frozenset({"read"}), organisation_ids=frozenset(orgs))


async def add_case(session: AsyncSession, org: Organisation, total: str, **dates: Any) -> CourtCase:
    """A court case of `total` ₽ with the given event dates (on_date: when the package was calculated)."""
    case = CourtCase(
        organisation_id=org.id,
        account_ids=[],
        status=dates.pop("status", "draft"),
        debtor={"last_name": "Иванов"},
        months=["2025-01-01"],
        period_from=date(2025, 1, 1),
        period_to=date(2025, 1, 31),
        on_date=dates.pop("on_date", NOV),
        principal=Decimal(total),
        penalties=Decimal("0"),
        duty=Decimal("0"),
        total=Decimal(total),
        claim={},
        **dates,
    )
    session.add(case)
    await session.flush()
    return case


async def add_run(
    session: AsyncSession, org: Organisation, on_date: date, results: list[tuple[bool, str]]
) -> None:
    """A finished readiness run with (ready, total ₽) verdicts."""
    run = CourtReadinessRun(organisation_id=org.id, on_date=on_date, status="done", total=len(results))
    session.add(run)
    await session.flush()
    for seq, (ready, total) in enumerate(results, start=1):
        session.add(
            CourtReadinessResult(
                run_id=run.id,
                seq=seq,
                account_id=uuid.uuid4(),
                account_ids=[],
                ready=ready,
                principal=Decimal(total),
                penalties=Decimal("0"),
                duty=None,
                total=Decimal(total),
                months_claimed=1,
                verdict={},
            )
        )
    await session.flush()


async def seed(session: AsyncSession) -> tuple[Organisation, Organisation]:
    """Hand-built November 2026 of one organisation with October and December noise, and a second one."""
    org = await make_org(session, name="УК Воронка")
    other = await make_org(session, name="УК Другая")
    session.add(
        MonitoringSnapshot(
            organisation_id=org.id, month=NOV, totals={"debtors": 40, "debt": "812345.67"}, top_debtors=[]
        )
    )
    # An earlier November run is replaced by the later one; October's run is another month.
    await add_run(session, org, date(2026, 11, 2), [(True, "1.00")])
    await add_run(session, org, date(2026, 11, 20), [(True, "30000.10"), (True, "20000.20"), (False, "5000")])
    await add_run(session, org, date(2026, 10, 30), [(True, "99999")])
    await add_run(session, other, date(2026, 11, 5), [(True, "700"), (False, "300"), (False, "0")])
    await add_case(session, org, "30000.10", on_date=date(2026, 11, 21))
    await add_case(session, org, "20000.20", on_date=date(2026, 11, 21), submitted_on=date(2026, 11, 25))
    await add_case(session, org, "15000.00", on_date=date(2026, 10, 1), submitted_on=date(2026, 10, 3))
    issued = await add_case(
        session,
        org,
        "12000.00",
        on_date=date(2026, 9, 1),
        submitted_on=date(2026, 9, 2),
        issued_on=date(2026, 11, 3),
        in_force_on=date(2026, 11, 30),
        status="in_force",
    )
    enforced = await add_case(
        session,
        org,
        "8000.00",
        on_date=date(2026, 6, 1),
        submitted_on=date(2026, 6, 2),
        issued_on=date(2026, 7, 1),
        in_force_on=date(2026, 8, 1),
        enforcement_on=date(2026, 11, 10),
        status="enforcement",
    )
    for case, day, amount in (
        (enforced, date(2026, 11, 12), "1500.50"),
        (enforced, date(2026, 11, 28), "499.50"),
        (issued, date(2026, 12, 1), "100.00"),  # December: not in November's funnel
    ):
        session.add(
            CourtCaseEvent(
                case_id=case.id,
                type="payment",
                on_date=day,
                from_status=case.status,
                to_status=case.status,
                actor="key:test",
                details={"amount": amount},
            )
        )
    await session.flush()
    return org, other


async def test_court_funnel_counts_the_month(session: AsyncSession) -> None:
    org, other = await seed(session)
    funnels = await court_funnel(
        session=session, principal=reader(org.id, other.id), month=date(2026, 11, 17)
    )
    by_name = {f.name: f for f in funnels}
    mine = by_name["УК Воронка"]
    assert mine.month == NOV and mine.debtors_source == "monitoring_snapshot"
    got = {s.name: (s.count, s.amount) for s in mine.stages}
    assert list(got) == list(STAGES)
    assert got == {
        "debtors": (40, Decimal("812345.67")),
        "ready": (2, Decimal("50000.30")),
        "packaged": (2, Decimal("50000.30")),
        "filed": (1, Decimal("20000.20")),
        "order_issued": (1, Decimal("12000.00")),
        "in_force": (1, Decimal("12000.00")),
        "enforcement": (1, Decimal("8000.00")),
        "paid": (1, Decimal("2000.00")),
    }
    # Without a snapshot the debtors are the run's verdicts with a debt (a zero total is no debtor).
    theirs = by_name["УК Другая"]
    assert theirs.debtors_source == "readiness_run"
    assert (theirs.stage("debtors").count, theirs.stage("debtors").amount) == (2, Decimal("1000.00"))
    assert (theirs.stage("ready").count, theirs.stage("ready").amount) == (1, Decimal("700.00"))
    assert theirs.stage("paid").count == 0 and theirs.stage("paid").amount == Decimal("0.00")


async def test_court_funnel_of_an_empty_month_is_zero(session: AsyncSession) -> None:
    org, _ = await seed(session)
    (funnel,) = await court_funnel(
        session=session, principal=reader(org.id), month=date(2025, 3, 1), organisation_id=org.id
    )
    assert funnel.debtors_source is None
    assert all(s.count == 0 and s.amount == Decimal("0.00") for s in funnel.stages)


async def test_court_funnel_hides_other_organisations(session: AsyncSession) -> None:
    org, other = await seed(session)
    funnels = await court_funnel(session=session, principal=reader(org.id), month=NOV)
    assert [f.name for f in funnels] == ["УК Воронка"]
    with pytest.raises(errors.NotFoundError):
        await court_funnel(session=session, principal=reader(org.id), month=NOV, organisation_id=other.id)


async def test_court_funnels_list_each_organisation_month_by_month(session: AsyncSession) -> None:
    org, other = await seed(session)
    funnels = await court_funnels(
        session=session, principal=reader(org.id, other.id), last_month=date(2026, 12, 9), months=3
    )
    assert [(f.name, f.month) for f in funnels] == [
        (name, date(2026, m, 1)) for name in ("УК Воронка", "УК Другая") for m in (10, 11, 12)
    ]
    october, november, december = funnels[:3]
    assert (october.stage("filed").count, october.stage("filed").amount) == (1, Decimal("15000.00"))
    assert october.stage("ready").amount == Decimal("99999.00")
    assert november.stage("paid").amount == Decimal("2000.00")
    assert (december.stage("paid").count, december.stage("paid").amount) == (1, Decimal("100.00"))
    # Over the three months, each case is filed once: the funnel counts events, never a case twice a stage.
    assert sum(f.stage("filed").count for f in funnels[:3]) == 2
