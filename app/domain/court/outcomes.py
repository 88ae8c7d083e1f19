"""Bulk court outcomes: a CSV or JSON Lines file of court events applied to cases in one operation.

Each row names a case (`case_id`, or the court's `case_number` once recorded), an `event` and its `date`, with
the event's data (the order's number, the ФССП proceeding number, the amount received). Rows go through
`cases.apply_event`, so each one lands in the case history and the audit journal as a single event would. The
report lists rejected rows as (row, field, rule) and never echoes a value: the files carry proceeding numbers.

Idempotent: an event already in the history with the same case, type and date (and amount, for payments) is
counted as a duplicate and skipped, so a file imported twice, or an operation re-run after a crash, changes
nothing more. Dates after today (Moscow) and dates before the case's latest event are refused.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models.core import Operation
from app.db.models.court import CourtCase, CourtCaseEvent
from app.domain.court.cases import CaseEvent, EventType, apply_event
from app.domain.court.rules import court_rules
from app.domain.kernel import audit, errors
from app.domain.kernel import operations as ops
from app.domain.kernel.access import Principal, require_organisation
from app.domain.kernel.calendar import moscow_today

OUTCOMES_JOB = "court-outcomes-import"
OutcomesFormat = Literal["jsonl", "csv"]

#: File names for events as billing users call them; the history keeps the case model's names.
EVENT_NAMES: dict[str, EventType] = {
    "filed": "submitted",
    "submitted": "submitted",
    "returned": "returned",
    "issued": "issued",
    "received": "received",
    "objection": "objection",
    "cancelled": "cancelled",
    "in_force": "in_force",
    "enforcement": "enforcement",
    "payment": "payment",
    "closed": "closed",
}
#: Rejected rows kept in the report (the counts stay exact beyond it).
MAX_PROBLEMS = 1000
#: Rows per transaction: progress is saved and a crash re-runs at most this many (as duplicates).
BATCH = 200


class OutcomeRow(BaseModel):
    """One row of an outcomes file."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    case_id: uuid.UUID | None = None
    case_number: str | None = Field(None, min_length=1, max_length=100)
    event: Literal[
        "filed",
        "submitted",
        "returned",
        "issued",
        "received",
        "objection",
        "cancelled",
        "in_force",
        "enforcement",
        "payment",
        "closed",
    ]
    # The file's column is `date`; the attribute is not, so it does not shadow the type.
    on_date: date = Field(alias="date")
    act_number: str | None = Field(None, min_length=1, max_length=255)
    act_pronouncing_date: date | None = None
    fssp_number: str | None = Field(None, min_length=1, max_length=100)
    amount: Decimal | None = Field(None, gt=0, max_digits=14, decimal_places=2)
    note: str | None = Field(None, max_length=1000)


#: Fields an event cannot do without (the case model checks them too; here they are named per row).
REQUIRED: dict[str, tuple[str, ...]] = {
    "issued": ("act_number",),
    "enforcement": ("fssp_number",),
    "payment": ("amount",),
}


def sniff_format(filename: str | None, content_type: str | None) -> OutcomesFormat:
    """Tell CSV from JSON Lines by the file name or content type (JSON Lines otherwise)."""
    name = (filename or "").lower()
    if name.endswith(".csv") or (content_type or "").startswith("text/csv"):
        return "csv"
    return "jsonl"


def read_rows(data: bytes, fmt: OutcomesFormat) -> Iterator[tuple[int, dict[str, Any] | None]]:
    """Yield (row number, raw row) from the file; None for a line that is not a JSON object."""
    text = data.decode("utf-8-sig")
    if fmt == "csv":
        # Row 1 is the header: data rows count from 2, as a spreadsheet shows them.
        for number, row in enumerate(csv.DictReader(io.StringIO(text)), start=2):
            yield number, {k: v for k, v in row.items() if v not in ("", None)}
        return
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except ValueError:
            value = None
        yield number, value if isinstance(value, dict) else None


def _field(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc) or "row"


class Report:
    """The import's counts and its rejected rows (row, field, rule; no values)."""

    def __init__(self) -> None:
        self.rows = self.applied = self.duplicates = self.rejected = 0
        self.problems: list[dict[str, Any]] = []

    def reject(self, row: int, field: str, rule: str) -> None:
        """Count a rejected row and keep its first problems."""
        self.rejected += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append({"row": row, "field": field, "rule": rule})

    def as_dict(self) -> dict[str, Any]:
        """Return the report as the operation's JSON result."""
        return {
            "rows": self.rows,
            "applied": self.applied,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "problems": self.problems,
            "problems_truncated": self.rejected > len(self.problems),
        }


def parse_row(number: int, raw: dict[str, Any] | None, report: Report) -> OutcomeRow | None:
    """Validate one raw row; record (row, field, rule) and return None when it is refused."""
    if raw is None:
        report.reject(number, "row", "json_object")
        return None
    try:
        row = OutcomeRow.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors(include_input=False, include_url=False, include_context=False)[0]
        report.reject(number, _field(first["loc"]), first["type"])
        return None
    if row.case_id is None and row.case_number is None:
        report.reject(number, "case_id", "required")
        return None
    missing = [name for name in REQUIRED.get(row.event, ()) if getattr(row, name) is None]
    if missing:
        report.reject(number, missing[0], "required")
        return None
    return row


async def _find_case(session: AsyncSession, organisation_id: uuid.UUID, row: OutcomeRow) -> CourtCase | None:
    if row.case_id is not None:
        case = await session.get(CourtCase, row.case_id)
        return case if case is not None and case.organisation_id == organisation_id else None
    found = (
        await session.scalars(
            select(CourtCase)
            .where(CourtCase.organisation_id == organisation_id, CourtCase.case_number == row.case_number)
            .limit(2)
        )
    ).all()
    return found[0] if len(found) == 1 else None


async def _is_duplicate(session: AsyncSession, case: CourtCase, event: CaseEvent) -> bool:
    stmt = select(CourtCaseEvent.details).where(
        CourtCaseEvent.case_id == case.id,
        CourtCaseEvent.type == event.type,
        CourtCaseEvent.on_date == event.on_date,
    )
    for details in (await session.scalars(stmt)).all():
        if event.type != "payment" or (details or {}).get("amount") == str(event.amount):
            return True
    return False


async def apply_row(
    *,
    session: AsyncSession,
    organisation_id: uuid.UUID,
    number: int,
    row: OutcomeRow,
    principal: Principal,
    today: date,
    report: Report,
    rules: Any,
) -> None:
    """Apply one valid row to its case, or record why not (duplicate, future, out of order, transition)."""
    if row.on_date > today:
        report.reject(number, "date", "future")
        return
    case = await _find_case(session, organisation_id, row)
    if case is None:
        report.reject(number, "case_id" if row.case_id is not None else "case_number", "not_found")
        return
    event = CaseEvent(
        type=EVENT_NAMES[row.event],
        on_date=row.on_date,
        # With case_id given, case_number is the court's number to record (filing or order); alone, it finds.
        case_number=row.case_number if row.case_id is not None else None,
        act_number=row.act_number,
        act_pronouncing_date=row.act_pronouncing_date,
        note=row.note,
        fssp_number=row.fssp_number,
        amount=row.amount,
    )
    if await _is_duplicate(session, case, event):
        report.duplicates += 1
        return
    latest = await session.scalar(
        select(func.max(CourtCaseEvent.on_date)).where(CourtCaseEvent.case_id == case.id)
    )
    if latest is not None and row.on_date < latest:
        report.reject(number, "date", "out_of_order")
        return
    try:
        async with session.begin_nested():
            await apply_event(session=session, case=case, event=event, principal=principal, rules=rules)
    except errors.DomainError as exc:
        await session.refresh(case)
        field = exc.errors[0].path.removeprefix("body.") if exc.errors else "event"
        report.reject(number, field, exc.errors[0].rule if exc.errors else exc.rule)
        return
    report.applied += 1


# --- the operation ---------------------------------------------------------------------------------------


def store_upload(data: bytes, upload_dir: Path, fmt: OutcomesFormat) -> Path:
    """Keep the uploaded file where every gateway process finds it until its operation has run."""
    upload_dir.mkdir(parents=True, exist_ok=True)
    target = upload_dir / f"court-outcomes-{uuid.uuid4().hex}.{fmt}"
    target.write_bytes(data)
    return target


async def request_outcomes_import(
    *,
    session: AsyncSession,
    principal: Principal,
    organisation_id: uuid.UUID,
    path: Path,
    fmt: OutcomesFormat,
) -> Operation:
    """Queue the import of a stored outcomes file; the operation's result is the row report."""
    await require_organisation(session=session, principal=principal, organisation_id=organisation_id)
    op = await ops.create(
        session=session,
        principal=principal,
        kind=OUTCOMES_JOB,
        organisation_id=organisation_id,
        params={"path": str(path), "format": fmt, "actor": principal.name},
    )
    await audit.record(
        session=session,
        principal=principal,
        action="court_case.outcomes.queue",
        resource_type="operation",
        resource_id=op.id,
        organisation_id=organisation_id,
    )
    return op


async def run_outcomes_job(op: Operation, progress: ops.Progress, ctx: Any) -> dict[str, Any]:
    """Apply an outcomes file row by row in file order, committing every BATCH rows (re-runnable)."""
    assert op.organisation_id is not None
    params = dict(op.params or {})
    path = Path(params["path"])
    rules = court_rules(ctx.settings)
    # The rows act for the key that uploaded them: the history and the audit journal name it.
    principal = Principal(
        key_id=op.key_id,
        name=params.get("actor") or "system",
        scopes=frozenset({"court"}),
        organisation_ids=frozenset({op.organisation_id}),
    )
    rows = list(read_rows(path.read_bytes(), params["format"]))
    report = Report()
    today = moscow_today()
    async with ctx.sessionmaker() as session:
        for start in range(0, len(rows), BATCH):
            async with session.begin():
                for number, raw in rows[start : start + BATCH]:
                    report.rows += 1
                    row = parse_row(number, raw, report)
                    if row is not None:
                        await apply_row(
                            session=session,
                            organisation_id=op.organisation_id,
                            number=number,
                            row=row,
                            principal=principal,
                            today=today,
                            report=report,
                            rules=rules,
                        )
            await progress(min(start + BATCH, len(rows)), len(rows))
        async with session.begin():
            await audit.record(
                session=session,
                principal=principal,
                action="court_case.outcomes.import",
                resource_type="operation",
                resource_id=op.id,
                organisation_id=op.organisation_id,
                details={k: v for k, v in report.as_dict().items() if k != "problems"},
            )
    path.unlink(missing_ok=True)
    return report.as_dict()
