"""Debt monitoring: monthly snapshots (compute, read, trend) and their CSV and XLSX exports."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, Field

from app.api.deps import Answerer, Reader, SessionDep, SettingsDep
from app.api.errors import error_responses
from app.api.operations import OperationRead
from app.db.models.monitoring import MonitoringSnapshot, MonitoringSnapshotRow
from app.domain.monitoring import exports, report, snapshots

router = APIRouter(prefix="/api/v1", tags=["monitoring"])

SnapshotId = Annotated[uuid.UUID, Path(description="snapshot id")]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class SnapshotRequest(BaseModel):
    """Which organisation and month to compute; a stored snapshot is recomputed only when asked."""

    organisation_id: uuid.UUID
    month: date = Field(description="any day of the month (the snapshot is of its end)")
    recompute: bool = Field(False, description="replace a stored snapshot (journaled, version + 1)")


class Figures(BaseModel):
    """Charged, paid and overdue debt at month end with its ageing (₽), debtors and rates."""

    accounts: int
    debtors: int
    charged: Decimal
    paid: Decimal
    debt: Decimal
    age_1: Decimal = Field(description="≤ 1 month overdue")
    age_2_3: Decimal
    age_4_6: Decimal
    age_7_12: Decimal
    age_13_36: Decimal
    age_over_36: Decimal = Field(description="> 36 months overdue (past limitation)")
    debtor_share: Decimal | None = Field(description="debtors ÷ accounts")
    collection_rate: Decimal | None = Field(description="paid ÷ charged (none without charges)")


class SnapshotRow(Figures):
    """The figures of one house and consumer category."""

    house_id: uuid.UUID
    category: str


class TopDebtor(BaseModel):
    """One of the largest debts (the account number is not personal data)."""

    account_id: uuid.UUID
    account_number: str
    debt: Decimal
    months_overdue: int


class SnapshotRead(BaseModel):
    """A stored monthly snapshot: totals, rows by house and category, top debtors."""

    id: uuid.UUID
    organisation_id: uuid.UUID
    month: date
    version: int
    debtor_min: Decimal
    computed_at: datetime
    totals: Figures
    rows: list[SnapshotRow]
    top_debtors: list[TopDebtor]


class SnapshotAnswer(BaseModel):
    """The snapshot (computed at once for small organisations) or the operation computing it."""

    snapshot: SnapshotRead | None = None
    operation: OperationRead | None = None


class TrendPoint(BaseModel):
    """One month of the trend."""

    snapshot_id: uuid.UUID
    month: date
    version: int
    totals: Figures


def _read(snapshot: MonitoringSnapshot, rows: list[MonitoringSnapshotRow]) -> SnapshotRead:
    totals: dict[str, Any] = dict(snapshot.totals)
    return SnapshotRead(
        id=snapshot.id,
        organisation_id=snapshot.organisation_id,
        month=snapshot.month,
        version=snapshot.version,
        debtor_min=Decimal(totals.pop("debtor_min", "0.01")),
        computed_at=snapshot.updated_at,
        totals=Figures.model_validate(totals),
        rows=[SnapshotRow.model_validate(exports.row_values(r)) for r in rows],
        top_debtors=[TopDebtor.model_validate(t) for t in snapshot.top_debtors],
    )


@router.post(
    "/monitoring/snapshots",
    response_model=SnapshotAnswer,
    status_code=200,
    responses={
        202: {
            "model": SnapshotAnswer,
            "description": "Accepted: a large organisation is computed by an operation",
        },
        **error_responses(401, 403, 404, 409, 422),
    },
)
async def post_snapshot(
    body: SnapshotRequest, response: Response, session: SessionDep, principal: Answerer, settings: SettingsDep
) -> SnapshotAnswer:
    """Compute a month's debt snapshot; 409 when stored and `recompute` is false (scope `answer`)."""
    snapshot, op = await snapshots.request_snapshot(
        session=session,
        principal=principal,
        organisation_id=body.organisation_id,
        month=body.month,
        recompute=body.recompute,
        settings=settings.monitoring,
    )
    await session.flush()
    if op is not None:
        response.status_code = 202
        return SnapshotAnswer(operation=OperationRead.model_validate(op))
    assert snapshot is not None
    await session.refresh(snapshot)
    stored, rows = await snapshots.get_snapshot(session=session, principal=principal, snapshot_id=snapshot.id)
    return SnapshotAnswer(snapshot=_read(stored, rows))


@router.get(
    "/monitoring/snapshots",
    response_model=list[TrendPoint],
    status_code=200,
    responses=error_responses(401, 403, 404, 422),
)
async def get_trend(
    session: SessionDep,
    principal: Reader,
    organisation_id: uuid.UUID,
    months: Annotated[int, Query(ge=1, le=120, description="latest months")] = 36,
) -> list[TrendPoint]:
    """List an organisation's latest monthly snapshots, oldest first: the trend (scope `read`)."""
    found = await snapshots.list_snapshots(
        session=session, principal=principal, organisation_id=organisation_id, months=months
    )
    out = []
    for s in found:
        totals = {k: v for k, v in s.totals.items() if k != "debtor_min"}
        out.append(
            TrendPoint(
                snapshot_id=s.id, month=s.month, version=s.version, totals=Figures.model_validate(totals)
            )
        )
    return out


@router.get(
    "/monitoring/snapshots/{snapshot_id}",
    response_model=SnapshotRead,
    status_code=200,
    responses={
        200: {
            "content": {"text/csv": {}, XLSX: {}},
            "description": "JSON, or CSV / XLSX with `format`",
        },
        **error_responses(401, 403, 404, 422),
    },
)
async def get_snapshot(
    snapshot_id: SnapshotId,
    session: SessionDep,
    principal: Reader,
    format: Annotated[Literal["json", "csv", "xlsx"], Query(description="json, csv or xlsx")] = "json",  # noqa: A002
) -> Any:
    """Show a snapshot with its rows and top debtors, as JSON, CSV or XLSX (scope `read`)."""
    snapshot, rows = await snapshots.get_snapshot(
        session=session, principal=principal, snapshot_id=snapshot_id
    )
    name = f"monitoring-{snapshot.month:%Y-%m}"
    if format == "csv":
        return Response(
            exports.snapshot_csv(snapshot, rows).encode(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
        )
    if format == "xlsx":
        return Response(
            exports.snapshot_xlsx(snapshot, rows),
            media_type=XLSX,
            headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'},
        )
    return _read(snapshot, rows)


@router.get(
    "/monitoring/report",
    status_code=200,
    response_class=Response,
    responses={
        200: {"content": {XLSX: {}}, "description": "the report as an XLSX workbook"},
        **error_responses(401, 403, 404, 409, 422),
    },
)
async def get_municipal_report(
    session: SessionDep,
    principal: Reader,
    organisation_id: uuid.UUID,
    month: Annotated[date, Query(description="any day of the report's month")],
) -> Response:
    """Download the month's report to the municipality (XLSX); 409 without its snapshot (scope `read`)."""
    data = await report.build_report(
        session=session, principal=principal, organisation_id=organisation_id, month=month
    )
    return Response(
        report.report_xlsx(data),
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="municipal-report-{data.month:%Y-%m}.xlsx"'},
    )
