"""Write-off of uncollectable receivables: candidates, impossibilities of collection, acts, export."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession

from app.api.deps import MAX_SERIAL_ID, Admin, Answerer, Reader, SessionDep, SettingsDep
from app.api.errors import error_responses
from app.api.operations import OperationRead
from app.db.models.writeoff import WriteOffAct
from app.domain import writeoff as service
from app.domain.court.assessment import PenaltyPricer
from app.domain.court.rules import court_rules
from app.domain.court.written_off import update_registry_after_write_off
from app.domain.kernel.access import Principal
from app.domain.kernel.calendar import moscow_today
from app.settings import Settings

router = APIRouter(prefix="/api/v1", tags=["write-off"])

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ActId = Annotated[uuid.UUID, Path(description="write-off act id")]


def _pricer(settings: Settings, on_date: date) -> service.Pricer:
    return PenaltyPricer(court_rules(settings), on_date).price


def _money(kop: int) -> Decimal:
    return (Decimal(kop) / 100).quantize(Decimal("0.01"))


class CandidateRead(BaseModel):
    """A billing month that may be written off, with its ground and split."""

    account_id: uuid.UUID
    period: date
    due_date: date
    ground: str
    principal: Decimal
    penalties: Decimal
    duty: Decimal


class CandidatesPage(BaseModel):
    """Write-off candidates on a date, with their totals."""

    on_date: date
    items: list[CandidateRead]
    principal: Decimal
    penalties: Decimal
    duty: Decimal


class ImpossibilityCreate(BaseModel):
    """A recorded impossibility of collecting an account's debt."""

    organisation_id: uuid.UUID
    account_id: uuid.UUID
    ground: Literal["enforcement_closed", "bankruptcy_completed"]
    act_date: date = Field(description="date of the bailiff's act or of the bankruptcy's completion")
    document: str | None = Field(None, max_length=255, description="the act's number and issuer")


class ImpossibilityRead(BaseModel):
    """A recorded impossibility of collection."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    account_id: uuid.UUID
    ground: str
    act_date: date
    document: str | None


class MonthSelect(BaseModel):
    """One account's billing month to write off."""

    account_id: uuid.UUID
    period: date


class ActCreate(BaseModel):
    """A write-off act over every candidate, those of some accounts, or the months listed."""

    organisation_id: uuid.UUID
    on_date: date | None = Field(None, description="the act's date (default today)")
    reason: str | None = Field(None, max_length=2000)
    account_ids: list[uuid.UUID] | None = None
    months: list[MonthSelect] | None = Field(None, description="exact months; each must be a candidate")


class ActStep(BaseModel):
    """Why the step is taken (journaled)."""

    reason: str | None = Field(None, max_length=2000)


class LineRead(BaseModel):
    """One written-off month."""

    model_config = ConfigDict(from_attributes=True)

    account_id: uuid.UUID
    period: date
    due_date: date
    ground: str
    principal: Decimal
    penalties: Decimal
    duty: Decimal


class ActRead(BaseModel):
    """A write-off act, its totals and who did each step."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    organisation_id: uuid.UUID
    status: str
    on_date: date
    reason: str | None
    principal: Decimal
    penalties: Decimal
    duty: Decimal
    created_by: str
    approved_by: str | None
    posted_by: str | None
    cancelled_by: str | None


class ActDetail(ActRead):
    """A write-off act with its lines."""

    lines: list[LineRead]
    registry_operations: list[uuid.UUID] = Field(
        default_factory=list,
        description="on posting: the operation updating every touched court-confirmed debt in GIS's registry "
        "(one per posting, in importDebt messages of up to 100 debts; empty when no placed debt is touched)",
    )


class ActsPage(BaseModel):
    """A page of write-off acts."""

    items: list[ActRead]


async def _detail(session: SessionDep, act: WriteOffAct) -> ActDetail:
    lines = await service.act_lines(session=session, act_id=act.id)
    return ActDetail(
        **ActRead.model_validate(act).model_dump(), lines=[LineRead.model_validate(x) for x in lines]
    )


@router.get(
    "/write-off/candidates",
    response_model=CandidatesPage,
    status_code=200,
    responses=error_responses(401, 403, 404, 422),
)
async def list_candidates(
    session: SessionDep,
    principal: Reader,
    settings: SettingsDep,
    organisation_id: uuid.UUID,
    on_date: date | None = None,
    account_id: Annotated[list[uuid.UUID] | None, Query()] = None,
) -> CandidatesPage:
    """List months past limitation or uncollectable, split into principal, penalties, duty (scope `read`)."""
    principal.require_org(organisation_id)
    day = on_date or moscow_today()
    found = await service.find_candidates(
        session=session,
        organisation_id=organisation_id,
        on_date=day,
        pricer=_pricer(settings, day),
        account_ids=account_id,
    )
    return CandidatesPage(
        on_date=day,
        items=[
            CandidateRead(
                account_id=c.account_id,
                period=c.period,
                due_date=c.due_date,
                ground=c.ground,
                principal=_money(c.principal),
                penalties=_money(c.penalties),
                duty=_money(c.duty),
            )
            for c in found
        ],
        principal=_money(sum(c.principal for c in found)),
        penalties=_money(sum(c.penalties for c in found)),
        duty=_money(sum(c.duty for c in found)),
    )


class SelectionCreate(BaseModel):
    """Candidate selection over a whole organisation, as an operation."""

    organisation_id: uuid.UUID
    on_date: date | None = Field(None, description="the date limitation is judged on (default today)")
    draft: bool = Field(False, description="draft an act over every candidate found")
    reason: str | None = Field(None, max_length=2000, description="the drafted act's reason")


@router.post(
    "/write-off/selections",
    response_model=OperationRead,
    status_code=202,
    responses=error_responses(401, 403, 404, 422, 429),
)
async def select_candidates(session: SessionDep, principal: Answerer, body: SelectionCreate) -> OperationRead:
    """Select every candidate of an organisation as an operation with progress (scope `answer`).

    The operation's result sums the candidates by ground (and names the drafted act with `draft`).
    """
    op = await service.request_selection(
        session=session,
        principal=principal,
        organisation_id=body.organisation_id,
        on_date=body.on_date or moscow_today(),
        draft=body.draft,
        reason=body.reason,
    )
    return OperationRead.model_validate(op)


@router.post(
    "/write-off/impossibilities",
    response_model=ImpossibilityRead,
    status_code=201,
    responses=error_responses(401, 403, 404, 422),
)
async def record_impossibility(
    session: SessionDep, principal: Answerer, body: ImpossibilityCreate
) -> ImpossibilityRead:
    """Record that an account's debt cannot be collected: bailiff's act, bankruptcy (scope `answer`)."""
    row = await service.record_impossibility(
        session=session,
        principal=principal,
        organisation_id=body.organisation_id,
        account_id=body.account_id,
        ground=body.ground,
        act_date=body.act_date,
        document=body.document,
    )
    return ImpossibilityRead.model_validate(row)


@router.post(
    "/write-off/acts",
    response_model=ActDetail,
    status_code=201,
    responses=error_responses(401, 403, 404, 422),
)
async def create_act(
    session: SessionDep, principal: Answerer, settings: SettingsDep, body: ActCreate
) -> ActDetail:
    """Draft a write-off act over the candidates (scope `answer`); 422 for months without ground or taken."""
    day = body.on_date or moscow_today()
    act = await service.create_act(
        session=session,
        principal=principal,
        organisation_id=body.organisation_id,
        on_date=day,
        pricer=_pricer(settings, day),
        reason=body.reason,
        account_ids=body.account_ids,
        months=[service.MonthRef(m.account_id, m.period) for m in body.months] if body.months else None,
    )
    return await _detail(session, act)


@router.get(
    "/write-off/acts", response_model=ActsPage, status_code=200, responses=error_responses(401, 403, 404, 422)
)
async def list_acts(
    session: SessionDep,
    principal: Reader,
    organisation_id: uuid.UUID,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_SERIAL_ID)] = 0,
) -> ActsPage:
    """List an organisation's write-off acts, newest first (scope `read`)."""
    rows = await service.list_acts(
        session=session, principal=principal, organisation_id=organisation_id, limit=limit, offset=offset
    )
    return ActsPage(items=[ActRead.model_validate(r) for r in rows])


@router.get(
    "/write-off/acts/{act_id}",
    response_model=ActDetail,
    status_code=200,
    responses=error_responses(401, 403, 404),
)
async def get_act(session: SessionDep, principal: Reader, act_id: ActId) -> ActDetail:
    """Show a write-off act with its lines (scope `read`)."""
    return await _detail(session, await service.get_act(session=session, principal=principal, act_id=act_id))


@router.get(
    "/write-off/acts/{act_id}/export.csv",
    response_class=Response,
    status_code=200,
    responses={200: {"content": {"text/csv": {}}}, **error_responses(401, 403, 404)},
)
async def export_act(session: SessionDep, principal: Reader, act_id: ActId) -> Response:
    """Export a write-off act for accounting as CSV (scope `read`)."""
    act = await service.get_act(session=session, principal=principal, act_id=act_id)
    return Response(
        await service.act_csv(session=session, act=act),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="write-off-{act.id}.csv"'},
    )


@router.get(
    "/write-off/acts/{act_id}/export.xlsx",
    response_class=Response,
    status_code=200,
    responses={200: {"content": {XLSX: {}}}, **error_responses(401, 403, 404)},
)
async def export_act_xlsx(session: SessionDep, principal: Reader, act_id: ActId) -> Response:
    """Export a write-off act for accounting as an XLSX workbook (scope `read`)."""
    act = await service.get_act(session=session, principal=principal, act_id=act_id)
    return Response(
        await service.act_xlsx(session=session, act=act),
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="write-off-{act.id}.xlsx"'},
    )


@router.post(
    "/write-off/acts/{act_id}/cancel",
    response_model=ActDetail,
    status_code=200,
    responses=error_responses(401, 403, 404, 409),
)
async def cancel_act(session: SessionDep, principal: Answerer, act_id: ActId, body: ActStep) -> ActDetail:
    """Cancel a draft act (scope `answer`); an approved act is no longer reversible."""
    act = await service.advance_act(
        session=session, principal=principal, act_id=act_id, step="cancel", reason=body.reason
    )
    return await _detail(session, act)


@router.post(
    "/write-off/acts/{act_id}/approve",
    response_model=ActDetail,
    status_code=200,
    responses=error_responses(401, 403, 404, 409),
)
async def approve_act(session: SessionDep, principal: Admin, act_id: ActId, body: ActStep) -> ActDetail:
    """Approve a draft act (scope `admin`)."""
    act = await service.advance_act(
        session=session, principal=principal, act_id=act_id, step="approve", reason=body.reason
    )
    return await _detail(session, act)


@router.post(
    "/write-off/acts/{act_id}/post",
    response_model=ActDetail,
    status_code=200,
    responses=error_responses(401, 403, 404, 409, 429),
)
async def post_act(
    session: SessionDep, principal: Admin, settings: SettingsDep, act_id: ActId, body: ActStep
) -> ActDetail:
    """Post an approved act (scope `admin`): its months are written off; placed court debts updated in GIS."""
    rules = court_rules(settings)

    async def registry(s: AsyncSession, who: Principal, act: WriteOffAct) -> list[uuid.UUID]:
        return await update_registry_after_write_off(s, who, act, rules=rules)

    act, queued = await service.post_act(
        session=session, principal=principal, act_id=act_id, reason=body.reason, on_posted=registry
    )
    detail = await _detail(session, act)
    detail.registry_operations = queued
    return detail
