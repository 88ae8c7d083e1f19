"""Repayment agreements: create with a schedule, read, list, match ledger payments now."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from app.api.deps import MAX_SERIAL_ID, Answerer, Reader, SessionDep, SettingsDep
from app.api.errors import error_responses
from app.domain import agreements as service
from app.domain.kernel.calendar import moscow_today

router = APIRouter(prefix="/api/v1", tags=["agreements"])

AgreementId = Annotated[uuid.UUID, Path(description="agreement id")]
Money = Annotated[Decimal, Field(max_digits=14, decimal_places=2)]


class ScheduleCreate(BaseModel):
    """The instalment schedule: equal amounts unless `amounts` lists each one (they must sum to the debt)."""

    months: int = Field(ge=1, le=120, description="number of monthly instalments")
    first_date: date = Field(description="date of the first instalment (today or later)")
    day_of_month: int | None = Field(
        None, ge=1, le=31, description="day of the later instalments (default: the first date's day)"
    )
    amounts: list[Money] | None = Field(
        None, description="custom amounts, one per month, summing to the debt"
    )


class AgreementCreate(BaseModel):
    """A repayment agreement for one account."""

    organisation_id: uuid.UUID
    account_id: uuid.UUID
    covered_through: date | None = Field(
        None, description="last billing month covered (default: the last overdue month)"
    )
    penalties: Money = Field(Decimal("0"), ge=0, description="penalties on the covered months")
    penalty_mode: Literal["included", "frozen", "forgiven"] = Field(
        "included", description="penalties repaid in the schedule, frozen, or forgiven on completion"
    )
    signed_on: date | None = Field(None, description="signing date (default today)")
    number: str | None = Field(None, max_length=50)
    note: str | None = Field(None, max_length=2000)
    schedule: ScheduleCreate


class InstalmentRead(BaseModel):
    """One instalment and what of it is paid."""

    model_config = ConfigDict(from_attributes=True)

    number: int
    due_on: date
    amount: Decimal
    paid: Decimal
    paid_on: date | None


class AgreementRead(BaseModel):
    """An agreement: the debt it covers, its status and payments."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    organisation_id: uuid.UUID
    account_id: uuid.UUID
    number: str | None
    status: str
    signed_on: date
    covered_through: date
    principal: Decimal
    penalties: Decimal
    penalty_mode: str
    total: Decimal
    paid: Decimal
    breached_on: date | None
    completed_on: date | None
    note: str | None


class AgreementDetail(AgreementRead):
    """An agreement with its schedule."""

    instalments: list[InstalmentRead]


class AgreementsPage(BaseModel):
    """A page of agreements."""

    items: list[AgreementRead]


class RefreshRead(BaseModel):
    """Agreements by status after matching the ledger's payments."""

    active: int
    breached: int
    completed: int


async def _detail(session: SessionDep, agreement: object) -> AgreementDetail:
    read = AgreementRead.model_validate(agreement)
    rows = await service.instalments_of(session=session, agreement_id=read.id)
    return AgreementDetail(**read.model_dump(), instalments=[InstalmentRead.model_validate(r) for r in rows])


@router.post(
    "/agreements",
    response_model=AgreementDetail,
    status_code=201,
    responses=error_responses(401, 403, 404, 422),
)
async def create_agreement(
    session: SessionDep, principal: Answerer, body: AgreementCreate
) -> AgreementDetail:
    """Create a repayment agreement with its instalment schedule (scope `answer`)."""
    s = body.schedule
    agreement = await service.create_agreement(
        session=session,
        principal=principal,
        today=moscow_today(),
        data=service.AgreementInput(
            organisation_id=body.organisation_id,
            account_id=body.account_id,
            schedule=service.ScheduleInput(
                months=s.months, first_date=s.first_date, day_of_month=s.day_of_month, amounts=s.amounts
            ),
            penalty_mode=body.penalty_mode,
            penalties=body.penalties,
            covered_through=body.covered_through,
            signed_on=body.signed_on,
            number=body.number,
            note=body.note,
        ),
    )
    return await _detail(session, agreement)


@router.get(
    "/agreements",
    response_model=AgreementsPage,
    status_code=200,
    responses=error_responses(401, 403, 404, 422),
)
async def list_agreements(
    session: SessionDep,
    principal: Reader,
    organisation_id: uuid.UUID,
    view: Literal["active", "breached_this_month", "completed", "all"] = "active",
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_SERIAL_ID)] = 0,
) -> AgreementsPage:
    """List an organisation's agreements: active, breached this month, completed or all (scope `read`)."""
    rows = await service.list_agreements(
        session=session,
        principal=principal,
        organisation_id=organisation_id,
        view=view,
        today=moscow_today(),
        limit=limit,
        offset=offset,
    )
    return AgreementsPage(items=[AgreementRead.model_validate(r) for r in rows])


@router.get(
    "/agreements/{agreement_id}",
    response_model=AgreementDetail,
    status_code=200,
    responses=error_responses(401, 403, 404),
)
async def get_agreement(session: SessionDep, principal: Reader, agreement_id: AgreementId) -> AgreementDetail:
    """Show an agreement with its schedule and payments (scope `read`)."""
    agreement = await service.get_agreement(session=session, principal=principal, agreement_id=agreement_id)
    return await _detail(session, agreement)


@router.get(
    "/agreements/{agreement_id}/agreement.pdf",
    response_class=Response,
    status_code=200,
    responses={200: {"content": {"application/pdf": {}}}, **error_responses(401, 403, 404)},
)
async def get_agreement_pdf(session: SessionDep, principal: Reader, agreement_id: AgreementId) -> Response:
    """Download the agreement with its schedule as PDF (scope `read`; the payer's name needs `pii`)."""
    body = await service.agreement_document(session=session, principal=principal, agreement_id=agreement_id)
    return Response(
        body,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="agreement-{agreement_id}.pdf"'},
    )


@router.post(
    "/agreements/refresh",
    response_model=RefreshRead,
    status_code=200,
    responses=error_responses(401, 403, 404, 422),
)
async def refresh_agreements(
    session: SessionDep, principal: Answerer, settings: SettingsDep, organisation_id: uuid.UUID
) -> RefreshRead:
    """Match the ledger's payments to the active agreements now, e.g. after an import (scope `answer`)."""
    principal.require_org(organisation_id)
    counts = await service.refresh_agreements(
        session=session,
        organisation_id=organisation_id,
        today=moscow_today(),
        breach_days=settings.agreements.breach_days,
    )
    return RefreshRead(**counts)
