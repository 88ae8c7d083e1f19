"""Bulk court outcomes (row report, no echoes, idempotent, dates, history, audit) and the registry loop."""

from __future__ import annotations

import json
import uuid
from datetime import date
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.models.core import AuditEvent, Operation
from app.db.models.court import CourtCase, CourtCaseEvent, CourtConfirmedDebt
from app.domain.court.outcomes import request_outcomes_import, run_outcomes_job, store_upload
from app.domain.court.registry import RegistryRequest, next_registry_action
from app.domain.court.rules import CourtRules
from app.domain.kernel.access import Principal
from tests.conftest import make_settings
from tests.factories import make_org

SECRET = "ФС-СЕКРЕТ-777"
HEADER = "case_id,case_number,event,date,act_number,fssp_number,amount,note\n"


async def _case(sm: async_sessionmaker[AsyncSession], org_id: uuid.UUID) -> uuid.UUID:
    case = CourtCase(
        organisation_id=org_id,
        account_ids=[],
        status="draft",
        debtor={"last_name": "Петров", "first_name": "Пётр", "snils": "11223344595"},
        months=["2025-01-01"],
        period_from=date(2025, 1, 1),
        period_to=date(2025, 1, 31),
        on_date=date(2025, 10, 1),
        principal=Decimal("10000"),
        penalties=Decimal("263.08"),
        duty=Decimal("2000"),
        total=Decimal("12263.08"),
        claim={},
    )
    async with sm() as session, session.begin():
        session.add(case)
    return case.id


async def _run(
    sm: async_sessionmaker[AsyncSession], url: str, org_id: uuid.UUID, data: bytes, fmt: str, tmp: Path
) -> dict[str, Any]:
    principal = Principal(key_id=None, name="billing", scopes=frozenset({"court"}), all_organisations=True)
    path = store_upload(data, tmp, fmt)  # type: ignore[arg-type]
    async with sm() as session, session.begin():
        op = await request_outcomes_import(
            session=session,
            principal=principal,
            organisation_id=org_id,
            path=path,
            fmt=fmt,  # type: ignore[arg-type]
        )
    calls: list[tuple[int, int | None]] = []

    async def progress(done: int, total: int | None = None) -> None:
        calls.append((done, total))

    async with sm() as session:
        row = await session.get(Operation, op.id)
    assert row is not None
    result = await run_outcomes_job(
        row, progress, SimpleNamespace(settings=make_settings(url), sessionmaker=sm)
    )  # type: ignore[arg-type]
    assert calls and calls[-1][0] == calls[-1][1]
    assert not path.exists()
    return result


async def test_outcomes_csv_drive_case_to_closed_with_row_report(
    db: async_sessionmaker[AsyncSession], fresh_database_url: str, tmp_path: Path
) -> None:
    async with db() as session, session.begin():
        org_id = (await make_org(session)).id
    case_id = await _case(db, org_id)
    other = await _case(db, org_id)
    rows = [
        f"{case_id},2-77/2025,filed,2025-10-02,,,,",
        f"{case_id},,issued,2025-10-09,2-77/2025,,,",
        ",2-77/2025,received,2025-10-13,,,,",  # by case number: recorded by the filed row
        f"{case_id},,in_force,2025-10-20,,,,",  # 10 working days from 13 Oct end on 27 Oct: too early
        f"{case_id},,in_force,2025-10-28,,,,",
        f"{case_id},,enforcement,2025-11-05,,{SECRET},,",
        f"{case_id},,payment,2025-11-20,,,1500.50,",
        f"{case_id},,payment,2025-11-20,,,1500.50,",  # the same payment twice in one file: a duplicate
        f"{case_id},,payment,2025-11-10,,,99.00,",  # before the latest event
        f"{case_id},,closed,2025-12-01,,,,",
        f"{other},,filed,2099-01-01,,,,",  # future
        f"{other},,issued,2025-10-09,,,,",  # no act number
        f"{other},,appealed,2025-10-09,,,,",  # unknown event
        f"{uuid.uuid4()},,filed,2025-10-02,,,,",  # unknown case
        ",,filed,2025-10-02,,,,",  # no case
        f"{other},,enforcement,2025-10-02,,{SECRET},,",  # wrong status for the event
        f"{other},,payment,2025-10-02,,,-5,",  # negative amount
        f"{other},,filed,02.10.2025,,,,",  # not an ISO date
    ]
    data = (HEADER + "\n".join(rows) + "\n").encode()
    report = await _run(db, fresh_database_url, org_id, data, "csv", tmp_path)
    assert SECRET not in json.dumps(report, ensure_ascii=False)
    assert (report["rows"], report["applied"], report["duplicates"]) == (18, 7, 1)
    problems = {(p["row"], p["field"], p["rule"]) for p in report["problems"]}
    assert problems == {
        (5, "event", "objection_window"),
        (10, "date", "out_of_order"),
        (12, "date", "future"),
        (13, "act_number", "required"),
        (14, "event", "literal_error"),
        (15, "case_id", "not_found"),
        (16, "case_id", "required"),
        (17, "event", "case_transition"),
        (18, "amount", "greater_than"),
        (19, "date", "date_from_datetime_parsing"),
    }
    assert report["rejected"] == len(problems)
    async with db() as session:
        case = await session.get(CourtCase, case_id)
        assert case is not None and case.status == "closed" and case.case_number == "2-77/2025"
        history = (
            await session.scalars(
                select(CourtCaseEvent).where(CourtCaseEvent.case_id == case_id).order_by(CourtCaseEvent.id)
            )
        ).all()
        assert [e.type for e in history] == [
            "submitted", "issued", "received", "in_force", "enforcement", "payment", "closed"
        ]  # fmt: skip
        assert history[4].details == {"fssp_number": SECRET}
        assert history[5].details == {"amount": "1500.50"} and history[5].to_status == "enforcement"
        assert {e.actor for e in history} == {"key:billing"}
        audited = await session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.resource_id == str(case_id))
        )
        assert audited == 7
        debt = await session.scalar(select(CourtConfirmedDebt).where(CourtConfirmedDebt.case_id == case_id))
        assert debt is not None and debt.act_number == "2-77/2025"
        journal = (
            await session.scalars(select(AuditEvent).where(AuditEvent.action == "court_case.outcomes.import"))
        ).one()
        assert journal.details is not None and journal.details["applied"] == 7

    again = await _run(db, fresh_database_url, org_id, data, "csv", tmp_path)
    assert (again["applied"], again["duplicates"]) == (0, 8)
    async with db() as session:
        count = await session.scalar(
            select(func.count()).select_from(CourtCaseEvent).where(CourtCaseEvent.case_id == case_id)
        )
        assert count == 7


async def test_outcomes_jsonl_rows_and_bad_lines(
    db: async_sessionmaker[AsyncSession], fresh_database_url: str, tmp_path: Path
) -> None:
    async with db() as session, session.begin():
        org_id = (await make_org(session)).id
    case_id = await _case(db, org_id)
    lines = [
        json.dumps({"case_id": str(case_id), "event": "filed", "date": "2025-10-02"}),
        "not json",
        json.dumps({"case_id": str(case_id), "event": "issued", "date": "2025-10-03", "act_number": "7",
                    "judge": SECRET}),
        json.dumps({"case_id": str(case_id), "event": "issued", "date": "2025-10-03", "act_number": "7"}),
    ]  # fmt: skip
    report = await _run(db, fresh_database_url, org_id, ("\n".join(lines) + "\n").encode(), "jsonl", tmp_path)
    assert SECRET not in json.dumps(report, ensure_ascii=False)
    assert report["applied"] == 2
    assert {(p["row"], p["field"], p["rule"]) for p in report["problems"]} == {
        (2, "row", "json_object"),
        (3, "judge", "extra_forbidden"),
    }


def test_next_registry_action_follows_the_case() -> None:
    rules = CourtRules(registry_auto=True, annulment_reason=("1", "3f1c3b0e-0b6a-4a0a-9d55-5d1e6f6a0001"))
    debt = CourtConfirmedDebt(
        placement="not_placed", gis_debt_guid=None, gis_status=None, repayment_status="UNPAID",
        annulled_on=None, amount=Decimal("12263.08"),
    )  # fmt: skip
    case = CourtCase(status="in_force")
    assert next_registry_action(debt, case, Decimal(0), None, rules) == RegistryRequest("place")
    debt.placement = "placing"
    assert next_registry_action(debt, case, Decimal(0), None, rules) is None  # the placing job goes on
    debt.placement, debt.gis_debt_guid, debt.gis_status = "placed", str(uuid.uuid4()), "PUBLISHED"
    assert next_registry_action(debt, case, Decimal("12263.07"), date(2026, 1, 5), rules) is None
    paid = next_registry_action(debt, case, Decimal("12263.08"), date(2026, 1, 5), rules)
    assert paid == RegistryRequest("repayment", repaid_on=date(2026, 1, 5))
    case.status = "cancelled"
    annul = next_registry_action(debt, case, Decimal(0), None, rules)
    assert annul is not None and (annul.action, annul.reason_code) == ("annul", "1")
    no_reason = CourtRules(registry_auto=True)
    assert next_registry_action(debt, case, Decimal(0), None, no_reason) is None
    debt.gis_status = "CANCELLED"
    assert next_registry_action(debt, case, Decimal(0), None, rules) is None
