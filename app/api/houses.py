"""GIS house and premises data: sync, houses and premises by month, the change feed, webhook deliveries."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from app.api.dashboard import COOKIE, templates
from app.api.deps import MAX_SERIAL_ID, Reader, Sender, SessionDep, SettingsDep
from app.api.errors import error_responses
from app.api.operations import OperationRead
from app.domain import houses as service
from app.domain.houses import quality, queries, reports
from app.domain.houses.snapshot import ChangeKind
from app.domain.houses.sync import parse_month
from app.domain.kernel import errors as d
from app.domain.kernel.access import Principal, authenticate
from app.settings import Settings

router = APIRouter(prefix="/api/v1/organisations/{organisation_id}", tags=["houses"])

OrgId = Annotated[uuid.UUID, Path(description="organisation id")]
FiasId = Annotated[uuid.UUID, Path(description="FIAS house GUID")]
Month = Annotated[
    str | None, Query(pattern=r"^\d{4}-\d{2}$", description="month YYYY-MM (default: the latest synced)")
]
Limit = Annotated[int, Query(ge=1, le=1000, description="page size")]
# Bounded: past the database's integer range OFFSET fails in the database (a 500 found by schemathesis).
Offset = Annotated[int, Query(ge=0, le=MAX_SERIAL_ID, description="rows to skip")]
CSV_MEDIA_TYPE = "text/csv; charset=utf-8"


def _month(value: str | None) -> date | None:
    return None if value is None else parse_month(value)


class HouseSyncCreate(BaseModel):
    """What to sync: a month (default: the current one) and all the organisation's houses or some."""

    month: str | None = Field(
        None, pattern=r"^\d{4}-\d{2}$", description="YYYY-MM; default the current month"
    )
    fias_house_guids: list[uuid.UUID] = Field(
        default_factory=list,
        max_length=10000,
        description="houses to sync; empty: billing's houses of the organisation and those synced before",
    )
    full: bool = Field(False, description="sync houses already synced this month again")


class GisHouseRead(BaseModel):
    """A house as GIS showed it in a month (exportHouseData)."""

    model_config = ConfigDict(from_attributes=True)

    fias_house_guid: uuid.UUID
    house_guid: uuid.UUID | None
    month: date
    unique_number: str | None
    kind: str = Field(description="apartment_building or living_house")
    cadastral_number: str | None
    total_area: Decimal | None
    residential_area: Decimal | None = Field(description="sum of the residential premises' areas")
    non_residential_area: Decimal | None = Field(description="sum of the non-residential premises' areas")
    used_year: int | None
    floor_count: str | None
    underground_floor_count: str | None
    entrances: int
    premises_count: int
    accounts_count: int
    gis_modified_at: datetime | None
    seen_at: datetime
    billing_house_id: uuid.UUID | None = Field(description="billing's house with the same FIAS GUID")


class GisPremisesRead(BaseModel):
    """A premises as GIS showed it, matched to billing's premises."""

    model_config = ConfigDict(from_attributes=True)

    premises_guid: uuid.UUID
    unique_number: str | None
    number_raw: str | None
    number_norm: str | None
    kind: str = Field(description="residential, non_residential or house_block")
    cadastral_number: str | None
    total_area: Decimal | None
    gross_area: Decimal | None = Field(description="living area")
    entrance: str | None
    floor: str | None
    account_area: Decimal | None = Field(description="area placed in GIS with the premises' open accounts")
    billing_premises_id: uuid.UUID | None


class GisHousesPage(BaseModel):
    """A page of houses of one month."""

    month: date | None
    total: int
    items: list[GisHouseRead]


class GisHouseDetail(BaseModel):
    """A house with its premises."""

    house: GisHouseRead
    premises: list[GisPremisesRead]


class ChangeRead(BaseModel):
    """One change of the monthly feed; `id` is the webhook event id."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    month: date
    previous_month: date
    fias_house_guid: uuid.UUID
    kind: str
    object_guid: uuid.UUID = Field(description="PremisesGUID or AccountGUID")
    premises_number: str | None
    els: str | None
    account_number: str | None
    old_value: str | None
    new_value: str | None
    detected_at: datetime


class ChangesPage(BaseModel):
    """A page of the change feed."""

    total: int
    items: list[ChangeRead]


class DeliveryRead(BaseModel):
    """One webhook delivery: an event to a URL, its attempts and the last answer."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    event_id: uuid.UUID
    url: str
    status: str = Field(description="pending, delivered or failed")
    attempts: int
    next_attempt_at: datetime
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None


class DeliveriesPage(BaseModel):
    """A page of the delivery log."""

    total: int
    items: list[DeliveryRead]


@router.post(
    "/houses/syncs",
    response_model=OperationRead,
    status_code=202,
    responses=error_responses(401, 403, 404, 422),
)
async def sync_houses(
    organisation_id: OrgId, body: HouseSyncCreate, session: SessionDep, principal: Sender
) -> OperationRead:
    """Sync houses and premises from GIS (exportHouseData, exportAccountData) for a month (scope `send`)."""
    op = await service.queue_sync(
        session=session,
        principal=principal,
        organisation_id=organisation_id,
        month=body.month,
        fias_house_guids=body.fias_house_guids,
        full=body.full,
    )
    return OperationRead.model_validate(op)


@router.get(
    "/houses", response_model=GisHousesPage, status_code=200, responses=error_responses(401, 403, 404, 422)
)
async def list_houses(
    organisation_id: OrgId,
    session: SessionDep,
    principal: Reader,
    month: Month = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> GisHousesPage:
    """List the organisation's houses as GIS showed them in a month (scope `read`)."""
    chosen, total, rows = await service.list_houses(
        session, principal=principal, organisation_id=organisation_id, month=_month(month), limit=limit,
        offset=offset,
    )  # fmt: skip
    return GisHousesPage(month=chosen, total=total, items=[GisHouseRead.model_validate(r) for r in rows])


@router.get(
    "/houses/{fias_house_guid}",
    response_model=GisHouseDetail,
    status_code=200,
    responses=error_responses(401, 403, 404, 422),
)
async def get_house(
    organisation_id: OrgId,
    fias_house_guid: FiasId,
    session: SessionDep,
    principal: Reader,
    month: Month = None,
) -> GisHouseDetail:
    """Show a house with its premises, matched to billing (scope `read`)."""
    house, premises = await service.get_house(
        session, principal=principal, organisation_id=organisation_id, fias_house_guid=fias_house_guid,
        month=_month(month),
    )  # fmt: skip
    return GisHouseDetail(
        house=GisHouseRead.model_validate(house),
        premises=[GisPremisesRead.model_validate(p) for p in premises],
    )


@router.get(
    "/house-changes",
    response_model=ChangesPage,
    status_code=200,
    responses=error_responses(401, 403, 404, 422),
)
async def list_changes(
    organisation_id: OrgId,
    session: SessionDep,
    principal: Reader,
    month: Month = None,
    fias_house_guid: Annotated[uuid.UUID | None, Query(description="one house")] = None,
    kind: Annotated[ChangeKind | None, Query(description="one kind of change")] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> ChangesPage:
    """List the monthly change feed: premises, areas, cadastral numbers, accounts, payers (scope `read`)."""
    filters = service.ChangeFilter(month=_month(month), fias_house_guid=fias_house_guid, kind=kind)
    total, rows = await service.list_changes(
        session,
        principal=principal,
        organisation_id=organisation_id,
        filters=filters,
        limit=limit,
        offset=offset,
    )
    return ChangesPage(total=total, items=[ChangeRead.model_validate(r) for r in rows])


@router.get(
    "/house-changes.csv",
    response_class=StreamingResponse,
    status_code=200,
    responses={200: {"content": {"text/csv": {}}}, **error_responses(401, 403, 404, 422)},
)
async def export_changes(
    organisation_id: OrgId,
    request: Request,
    principal: Reader,
    month: Month = None,
    fias_house_guid: Annotated[uuid.UUID | None, Query(description="one house")] = None,
    kind: Annotated[ChangeKind | None, Query(description="one kind of change")] = None,
) -> StreamingResponse:
    """Download the change feed as CSV (scope `read`)."""
    principal.require_org(organisation_id)
    filters = service.ChangeFilter(month=_month(month), fias_house_guid=fias_house_guid, kind=kind)
    sessionmaker = request.app.state.sessionmaker

    async def lines() -> AsyncIterator[str]:
        # Its own session: the response streams after the request's session has closed.
        yield queries.csv_header(queries.CHANGE_COLUMNS)
        async with sessionmaker() as own:
            after: uuid.UUID | None = None
            while batch := await queries.changes_batches(
                own, organisation_id=organisation_id, filters=filters, after=after
            ):
                yield queries.changes_csv_rows(batch)
                after = batch[-1].id

    return StreamingResponse(
        lines(),
        media_type=CSV_MEDIA_TYPE,
        headers={"Content-Disposition": 'attachment; filename="house-changes.csv"'},
    )


@router.get(
    "/house-changes/deliveries",
    response_model=DeliveriesPage,
    status_code=200,
    responses=error_responses(401, 403, 404, 422),
)
async def list_deliveries(
    organisation_id: OrgId,
    session: SessionDep,
    principal: Reader,
    event_id: Annotated[uuid.UUID | None, Query(description="one change event")] = None,
    status: Annotated[
        Literal["pending", "delivered", "failed"] | None, Query(description="one status")
    ] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> DeliveriesPage:
    """Show the webhook delivery log of the change feed (scope `read`)."""
    total, rows = await service.list_deliveries(
        session, principal=principal, organisation_id=organisation_id, event_id=event_id, status=status,
        limit=limit, offset=offset,
    )  # fmt: skip
    return DeliveriesPage(total=total, items=[DeliveryRead.model_validate(r) for r in rows])


class WebhookCreate(BaseModel):
    """A subscriber of the change feed: where to POST and the secret the HMAC-SHA256 signature uses."""

    url: str = Field(
        min_length=8, max_length=2000, pattern=r"^https?://", description="absolute http(s) URL to POST to"
    )
    secret: str = Field(
        min_length=16, max_length=256, description="shared secret of the signature; never shown again"
    )


class WebhookRead(BaseModel):
    """A registered subscriber (the secret is not shown)."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    url: str
    created_at: datetime


class WebhooksList(BaseModel):
    """The organisation's registered subscribers (those of `GISGW_HOUSES_WEBHOOKS` are not listed)."""

    items: list[WebhookRead]


SubscriptionId = Annotated[uuid.UUID, Path(description="subscription id")]


@router.post(
    "/house-webhooks",
    response_model=WebhookRead,
    status_code=201,
    responses=error_responses(401, 403, 404, 409, 422),
)
async def create_webhook(
    organisation_id: OrgId, body: WebhookCreate, session: SessionDep, principal: Sender
) -> WebhookRead:
    """Subscribe a URL to the organisation's change feed (scope `send`)."""
    sub = await service.create_subscription(
        session, principal=principal, organisation_id=organisation_id, url=body.url, secret=body.secret
    )
    return WebhookRead.model_validate(sub)


@router.get(
    "/house-webhooks", response_model=WebhooksList, status_code=200, responses=error_responses(401, 403, 404)
)
async def list_webhooks(organisation_id: OrgId, session: SessionDep, principal: Reader) -> WebhooksList:
    """List the change-feed subscribers registered through the API (scope `read`)."""
    rows = await service.list_subscriptions(session, principal=principal, organisation_id=organisation_id)
    return WebhooksList(items=[WebhookRead.model_validate(r) for r in rows])


@router.delete(
    "/house-webhooks/{subscription_id}", status_code=204, responses=error_responses(401, 403, 404, 422)
)
async def delete_webhook(
    organisation_id: OrgId,
    subscription_id: SubscriptionId,
    session: SessionDep,
    principal: Sender,
    settings: SettingsDep,
) -> Response:
    """Unsubscribe a URL; its pending deliveries are marked failed (scope `send`)."""
    await service.delete_subscription(
        session, principal=principal, organisation_id=organisation_id, subscription_id=subscription_id,
        settings=settings,
    )  # fmt: skip
    return Response(status_code=204)


class QualityTrendPoint(BaseModel):
    """The GIS-side figures of one synced month."""

    month: date
    premises_in_gis: int
    premises_with_cadastral_number: int
    premises_in_gis_not_in_billing: int
    area_differences: int


class QualityRead(BaseModel):
    """Data-quality figures of an organisation; every count can be downloaded as the CSV of its rows."""

    month: date | None = Field(description="the GIS snapshot's month (null: never synced)")
    premises_in_gis: int
    premises_with_cadastral_number: int
    open_accounts: int = Field(description="billing's open accounts")
    accounts_with_els: int
    accounts_with_zhku_id: int
    premises_in_billing_not_in_gis: int
    premises_in_gis_not_in_billing: int
    area_differences: int = Field(
        description="premises whose area differs from their accounts' beyond tolerance"
    )
    area_tolerance: Decimal = Field(description="m² (GISGW_HOUSES_AREA_TOLERANCE)")
    debtors: int = Field(description="person payers owing money")
    debtors_missing_court_data: int = Field(description="debtors lacking an identifier, birth date or place")
    shares: dict[str, float | None] = Field(description="the figures that are shares of a base, 0..1")
    trend: list[QualityTrendPoint]


@router.get(
    "/houses-quality",
    response_model=QualityRead,
    status_code=200,
    responses=error_responses(401, 403, 404, 422),
)
async def get_quality(
    organisation_id: OrgId, session: SessionDep, principal: Reader, settings: SettingsDep, month: Month = None
) -> QualityRead:
    """Show the data-quality figures of the houses and accounts, with their trend (scope `read`)."""
    tolerance = settings.houses.area_tolerance
    q = await quality.compute(
        session,
        principal=principal,
        organisation_id=organisation_id,
        month=_month(month),
        tolerance=tolerance,
    )
    return QualityRead(
        month=q.month,
        premises_in_gis=q.premises_in_gis,
        premises_with_cadastral_number=q.premises_with_cadastral_number,
        open_accounts=q.open_accounts,
        accounts_with_els=q.accounts_with_els,
        accounts_with_zhku_id=q.accounts_with_zhku_id,
        premises_in_billing_not_in_gis=q.premises_in_billing_not_in_gis,
        premises_in_gis_not_in_billing=q.premises_in_gis_not_in_billing,
        area_differences=q.area_differences,
        area_tolerance=tolerance,
        debtors=q.debtors,
        debtors_missing_court_data=q.debtors_missing_court_data,
        shares=quality.shares(q),
        trend=[QualityTrendPoint.model_validate(t) for t in q.trend],
    )


@router.get(
    "/houses-quality/{figure}.csv",
    response_class=StreamingResponse,
    status_code=200,
    responses={200: {"content": {"text/csv": {}}}, **error_responses(401, 403, 404, 422)},
)
async def export_quality_rows(
    organisation_id: OrgId,
    figure: Annotated[quality.Figure, Path(description="the figure whose rows to download")],
    request: Request,
    principal: Reader,
    settings: SettingsDep,
    month: Month = None,
) -> StreamingResponse:
    """Download the rows behind a data-quality figure as CSV (scope `read`)."""
    principal.require_org(organisation_id)
    return _quality_csv(request, principal, organisation_id, figure, _month(month), settings)


def _quality_csv(
    request: Request,
    principal: Principal,
    organisation_id: uuid.UUID,
    figure: quality.Figure,
    month: date | None,
    settings: Settings,
) -> StreamingResponse:
    sessionmaker = request.app.state.sessionmaker

    async def lines() -> AsyncIterator[str]:
        yield queries.csv_header(quality.ROW_COLUMNS[figure])
        # Its own session: the response streams after the request's session has closed.
        async with sessionmaker() as own:
            batch: list[tuple[object, ...]] = []
            async for row in quality.rows(
                own, principal=principal, organisation_id=organisation_id, figure=figure, month=month,
                tolerance=settings.houses.area_tolerance,
            ):  # fmt: skip
                batch.append(row)
                if len(batch) >= 1000:
                    yield queries.csv_lines(batch)
                    batch = []
            if batch:
                yield queries.csv_lines(batch)

    return StreamingResponse(
        lines(),
        media_type=CSV_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{figure}.csv"'},
    )


XLSX: dict[int | str, dict[str, Any]] = {200: {"content": {reports.MEDIA_TYPE: {}}}}


@router.get(
    "/houses/{fias_house_guid}/report.xlsx",
    response_class=Response,
    status_code=200,
    responses={**XLSX, **error_responses(401, 403, 404, 422)},
)
async def house_report(
    organisation_id: OrgId,
    fias_house_guid: FiasId,
    session: SessionDep,
    principal: Reader,
    month: Month = None,
) -> Response:
    """Download the house characteristics report with its premises table, XLSX (scope `read`)."""
    data = await reports.house_report(
        session, principal=principal, organisation_id=organisation_id, fias_house_guid=fias_house_guid,
        month=_month(month),
    )  # fmt: skip
    name = f"house-{fias_house_guid}.xlsx"
    return Response(
        data, media_type=reports.MEDIA_TYPE, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


@router.get(
    "/houses-report.xlsx",
    response_class=Response,
    status_code=200,
    responses={**XLSX, **error_responses(401, 403, 404, 422)},
)
async def organisation_report(
    organisation_id: OrgId, session: SessionDep, principal: Reader, month: Month = None
) -> Response:
    """Download the characteristics of every house and premises of the organisation, XLSX (scope `read`)."""
    data = await reports.organisation_report(
        session, principal=principal, organisation_id=organisation_id, month=_month(month)
    )
    return Response(
        data,
        media_type=reports.MEDIA_TYPE,
        headers={"Content-Disposition": 'attachment; filename="houses.xlsx"'},
    )


# --- the dashboard page (the ops dashboard's key cookie; not part of the API) -----------------------------

pages = APIRouter(tags=["ops"])


async def _page_principal(request: Request, session: SessionDep) -> Principal | None:
    token = request.cookies.get(COOKIE)
    if not token:
        return None
    try:
        principal = await authenticate(session=session, token=token)
        principal.require("read")
    except d.DomainError:
        return None
    return principal


@pages.get("/dashboard/houses/{organisation_id}", response_class=HTMLResponse, include_in_schema=False)
async def quality_page(
    organisation_id: OrgId, request: Request, session: SessionDep, settings: SettingsDep, month: Month = None
) -> Response:
    """Render the data-quality figures and their trend, each linked to its CSV (scope `read`)."""
    principal = await _page_principal(request, session)
    if principal is None:
        return RedirectResponse("/dashboard", status_code=303)
    tolerance = settings.houses.area_tolerance
    q = await quality.compute(
        session,
        principal=principal,
        organisation_id=organisation_id,
        month=_month(month),
        tolerance=tolerance,
    )
    context: dict[str, Any] = {
        "organisation_id": organisation_id,
        "q": q,
        "shares": quality.shares(q),
        "tolerance": tolerance,
        "key_name": principal.name,
    }
    return templates.TemplateResponse(request, "houses.html", context)


@pages.get("/dashboard/houses/{organisation_id}/{figure}.csv", include_in_schema=False)
async def quality_page_csv(
    organisation_id: OrgId,
    figure: Annotated[quality.Figure, Path(description="the figure whose rows to download")],
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    month: Month = None,
) -> Response:
    """Download a figure's rows from the dashboard page (the key in the dashboard's cookie)."""
    principal = await _page_principal(request, session)
    if principal is None:
        return RedirectResponse("/dashboard", status_code=303)
    principal.require_org(organisation_id)
    return _quality_csv(request, principal, organisation_id, figure, _month(month), settings)
