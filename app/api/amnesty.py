"""Penalty amnesty campaigns: create, simulate, launch, run, report."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from app.api.deps import Admin, Answerer, Reader, SessionDep, SettingsDep
from app.api.errors import error_responses
from app.db.models.amnesty import AmnestyCampaign
from app.domain import amnesty as service
from app.domain.court.assessment import PenaltyPricer
from app.domain.court.rules import court_rules
from app.domain.kernel.calendar import moscow_today

router = APIRouter(prefix="/api/v1", tags=["amnesty"])

CampaignId = Annotated[uuid.UUID, Path(description="amnesty campaign id")]


class CampaignCreate(BaseModel):
    """A campaign: period, selection (houses, payer category, minimum principal) and the payment date."""

    organisation_id: uuid.UUID
    name: str = Field(min_length=1, max_length=200)
    starts_on: date
    ends_on: date
    pay_by: date = Field(description="principal owed at launch paid in full by this date")
    house_ids: list[uuid.UUID] | None = None
    payer_kind: Literal["person", "organisation"] | None = None
    min_principal: Decimal = Field(Decimal("0"), ge=0, max_digits=14, decimal_places=2)


class CampaignRead(BaseModel):
    """A campaign and its outcome so far."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    organisation_id: uuid.UUID
    name: str
    status: str
    starts_on: date
    ends_on: date
    pay_by: date
    payer_kind: str | None
    min_principal: Decimal
    launched_on: date | None
    finished_on: date | None
    participants: dict[str, int] = Field(default_factory=dict)
    penalties_forgiven: Decimal = Decimal("0")
    principal_collected: Decimal = Decimal("0")


class SimulationRead(BaseModel):
    """Who qualifies on the date, the penalties that would be forgiven, the principal expected."""

    on_date: date
    debtors: int
    penalties: Decimal
    principal: Decimal


class RunRead(BaseModel):
    """Participants forgiven and lapsed by this run."""

    forgiven: int
    lapsed: int


async def _read(session: SessionDep, campaign: AmnestyCampaign) -> CampaignRead:
    outcome = await service.report(session=session, campaign=campaign)
    return CampaignRead.model_validate(campaign).model_copy(
        update={
            "participants": outcome.participants,
            "penalties_forgiven": outcome.penalties_forgiven,
            "principal_collected": outcome.principal_collected,
        }
    )


@router.post(
    "/amnesty/campaigns",
    response_model=CampaignRead,
    status_code=201,
    responses=error_responses(401, 403, 404, 422),
)
async def create_campaign(session: SessionDep, principal: Admin, body: CampaignCreate) -> CampaignRead:
    """Create a draft penalty amnesty campaign (scope `admin`)."""
    campaign = await service.create_campaign(
        session=session,
        principal=principal,
        today=moscow_today(),
        data=service.CampaignInput(**body.model_dump()),
    )
    return await _read(session, campaign)


@router.get(
    "/amnesty/campaigns/{campaign_id}",
    response_model=CampaignRead,
    status_code=200,
    responses=error_responses(401, 403, 404),
)
async def get_campaign(session: SessionDep, principal: Reader, campaign_id: CampaignId) -> CampaignRead:
    """Show a campaign and its report: participants by status, sums forgiven and collected (scope `read`)."""
    campaign = await service.get_campaign(session=session, principal=principal, campaign_id=campaign_id)
    return await _read(session, campaign)


@router.get(
    "/amnesty/campaigns/{campaign_id}/simulation",
    response_model=SimulationRead,
    status_code=200,
    responses=error_responses(401, 403, 404, 422),
)
async def simulate(
    session: SessionDep,
    principal: Reader,
    settings: SettingsDep,
    campaign_id: CampaignId,
    on_date: date | None = None,
) -> SimulationRead:
    """Simulate the campaign on a date (default today) without changing anything (scope `read`)."""
    day = on_date or moscow_today()
    result = await service.simulate(
        session=session,
        principal=principal,
        campaign_id=campaign_id,
        on_date=day,
        pricer=PenaltyPricer(court_rules(settings), day).price,
    )
    return SimulationRead(
        on_date=result.on_date, debtors=result.debtors, penalties=result.penalties, principal=result.principal
    )


@router.post(
    "/amnesty/campaigns/{campaign_id}/launch",
    response_model=CampaignRead,
    status_code=200,
    responses=error_responses(401, 403, 404, 409, 422),
)
async def launch(
    session: SessionDep, principal: Admin, settings: SettingsDep, campaign_id: CampaignId
) -> CampaignRead:
    """Launch a draft campaign today: participants and penalties are fixed as simulated (scope `admin`)."""
    day = moscow_today()
    campaign = await service.launch(
        session=session,
        principal=principal,
        campaign_id=campaign_id,
        on_date=day,
        pricer=PenaltyPricer(court_rules(settings), day).price,
    )
    return await _read(session, campaign)


@router.post(
    "/amnesty/campaigns/{campaign_id}/run",
    response_model=RunRead,
    status_code=200,
    responses=error_responses(401, 403, 404, 409),
)
async def run(session: SessionDep, principal: Answerer, campaign_id: CampaignId) -> RunRead:
    """Forgive penalties of participants who paid (one posted act), lapse the rest later (scope `answer`)."""
    counts = await service.run_campaign(
        session=session, principal=principal, campaign_id=campaign_id, today=moscow_today()
    )
    return RunRead(**counts)
