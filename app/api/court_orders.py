"""Court orders: experiment eligibility, readiness, application packages, court cases, GIS debts registry.

Long (about 800 lines) because it is one family: eligibility, readiness, packages, cases and the registry
share the court models and their schemas.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, Path, Query, Request, Response, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from app.api.deps import CourtUser, SessionDep, SettingsDep
from app.api.errors import error_responses
from app.api.operations import OperationRead
from app.db.models.court import CourtCase, CourtConfirmedDebt, CourtReadinessResult, CourtReadinessRun
from app.domain.court import (
    cases,
    eligibility,
    exports,
    outcomes,
    packages,
    premises_gis,
    readiness,
    registry,
)
from app.domain.court.adapters import FORMATS, JsonLinesAdapter
from app.domain.court.rules import court_rules
from app.domain.kernel import errors
from app.domain.kernel import operations as ops
from app.domain.kernel.access import Principal
from app.domain.kernel.calendar import moscow_today
from app.domain.kernel.masking import mask

router = APIRouter(prefix="/api/v1", tags=["court-orders"])

CaseId = Annotated[uuid.UUID, Path(description="court case id")]
MAX_FILE_BYTES = 20 * 1024 * 1024


# ----------------------------------------------------------------------------------------- eligibility


class CriterionRead(BaseModel):
    """One published criterion of the experiment: its value, source and threshold, and whether it is met."""

    name: str
    met: bool | None = Field(description="true met, false not met, null unknown (data missing)")
    value: Any = Field(description="the organisation's value for this criterion")
    source: str = Field(description="where the value comes from")
    threshold: Any = Field(description="what the criterion requires")
    message: str
    evidence: dict[str, Any]


class RegionRead(BaseModel):
    """The pilot-region line, apart from the published criteria (the region list is not published)."""

    status: Literal["pilot", "not pilot", "not configured"]
    region: str | None
    pilot_regions: list[str]
    message: str


class EligibilityRead(BaseModel):
    """Whether the organisation qualifies for the court-order experiment, criterion by criterion."""

    organisation_id: uuid.UUID
    on_date: date
    eligible: bool = Field(
        description="true when eligible, also on the published criteria alone while no region list is set"
    )
    verdict: Literal["eligible", "eligible_on_published_criteria", "not_eligible", "undetermined"]
    criteria: list[CriterionRead]
    region: RegionRead
    lines: list[str] = Field(description="one human line per criterion, then the region line")


@router.get(
    "/court-orders/eligibility",
    response_model=EligibilityRead,
    status_code=200,
    responses=error_responses(401, 403, 404, 422),
)
async def get_eligibility(
    session: SessionDep,
    principal: CourtUser,
    settings: SettingsDep,
    organisation_id: uuid.UUID,
    max_premises: Annotated[int | None, Query(ge=0, description="monthly maximum, if known")] = None,
    on_date: date | None = None,
) -> EligibilityRead:
    """Check an organisation against the court-order experiment's criteria (scope `court`)."""
    principal.require_org(organisation_id)
    result = await eligibility.check_eligibility(
        session=session,
        organisation_id=organisation_id,
        rules=court_rules(settings),
        on_date=on_date or moscow_today(),
        max_premises=max_premises,
    )
    return EligibilityRead(
        organisation_id=result.organisation_id,
        on_date=result.on_date,
        eligible=result.eligible,
        verdict=result.verdict,
        criteria=[
            CriterionRead(
                name=c.name,
                met=c.met,
                value=c.value,
                source=c.source,
                threshold=c.threshold,
                message=c.message,
                evidence=c.evidence,
            )
            for c in result.criteria
        ],
        region=RegionRead(
            status=result.region.status,
            region=result.region.region,
            pilot_regions=list(result.region.pilot_regions),
            message=result.region.message,
        ),
        lines=result.lines(),
    )


# ------------------------------------------------------------------------------ premises placed in GIS


class PremisesCountRequest(BaseModel):
    """What to count: an organisation's residential premises placed in GIS per month of a year."""

    model_config = ConfigDict(extra="forbid")

    organisation_id: uuid.UUID
    year: int | None = Field(None, ge=2000, le=2100, description="default: GISGW_COURT_PREMISES_YEAR")
    months: list[Annotated[int, Field(ge=1, le=12)]] | None = Field(
        None, max_length=12, description="months 1..12 to count (default: all twelve)"
    )
    fias_house_guids: list[uuid.UUID] = Field(
        default_factory=list,
        max_length=100_000,
        description="houses whose accounts are read (default: billing's houses and those synced from GIS)",
    )


class PremisesMonthRead(BaseModel):
    """One counted month: premises placed in GIS, the accounts and documents behind them, billing beside."""

    month: str = Field(description="YYYY-MM")
    gis_premises: int = Field(description="residential premises with a payment document placed in GIS")
    gis_accounts: int = Field(description="accounts in GIS with a payment document that month")
    payment_documents: int
    billing_premises: int | None = Field(description="residential premises of billing's open accounts")
    difference: int | None = Field(description="billing minus GIS")
    houses: int = Field(description="houses whose accounts were read")
    counted_at: datetime
    operation_id: uuid.UUID | None


class PremisesCountRead(BaseModel):
    """The monthly counts of a year and their maximum, the figure the premises criterion uses."""

    organisation_id: uuid.UUID
    year: int
    source: str = Field(description="gis_payment_documents: GIS's accounts and payment documents")
    maximum: int | None
    maximum_month: str | None
    billing_maximum: int | None
    months: list[PremisesMonthRead]


@router.post(
    "/court-orders/premises-count",
    response_model=OperationRead,
    status_code=202,
    responses=error_responses(401, 403, 404, 422, 429),
)
async def post_premises_count(
    body: PremisesCountRequest, session: SessionDep, principal: CourtUser, settings: SettingsDep
) -> OperationRead:
    """Count the residential premises placed in GIS per month as an operation (scope `court`)."""
    op = await premises_gis.queue_count(
        session=session,
        principal=principal,
        organisation_id=body.organisation_id,
        year=body.year or settings.court.premises_year,
        months=body.months,
        fias_house_guids=body.fias_house_guids,
    )
    return OperationRead.model_validate(op)


@router.get(
    "/court-orders/premises-count",
    response_model=PremisesCountRead,
    status_code=200,
    responses=error_responses(401, 403, 404, 422),
)
async def get_premises_count(
    session: SessionDep,
    principal: CourtUser,
    settings: SettingsDep,
    organisation_id: uuid.UUID,
    year: Annotated[int | None, Query(ge=2000, le=2100, description="default: the experiment's")] = None,
) -> PremisesCountRead:
    """Show the premises placed in GIS per counted month, billing's beside them (scope `court`)."""
    principal.require_org(organisation_id)
    chosen = year or settings.court.premises_year
    counted = await premises_gis.stored_counts(session, organisation_id, chosen)
    best = max(counted, key=lambda c: c.gis_premises, default=None)
    billing = [c.billing_premises for c in counted if c.billing_premises is not None]
    return PremisesCountRead(
        organisation_id=organisation_id,
        year=chosen,
        source=premises_gis.SOURCE,
        maximum=None if best is None else best.gis_premises,
        maximum_month=None if best is None else f"{best.year:04d}-{best.month:02d}",
        billing_maximum=max(billing, default=None),
        months=[
            PremisesMonthRead(
                month=f"{c.year:04d}-{c.month:02d}",
                gis_premises=c.gis_premises,
                gis_accounts=c.gis_accounts,
                payment_documents=c.payment_documents,
                billing_premises=c.billing_premises,
                difference=c.difference,
                houses=c.houses,
                counted_at=c.counted_at,
                operation_id=c.operation_id,
            )
            for c in counted
        ],
    )


# ------------------------------------------------------------------------------------------- readiness


class ReadinessRequest(BaseModel):
    """Which accounts to check, on which date, one case per account or per debtor."""

    organisation_id: uuid.UUID
    account_ids: list[uuid.UUID] | Literal["all"] = Field(description='account ids, or "all"')
    on_date: date | None = Field(None, description="calculation and filing date (default today)")
    group_by: Literal["account", "debtor"] = "account"


class ReadinessRunRead(BaseModel):
    """A readiness run: counts of ready and blocked cases, and blocking rules with their counts."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    organisation_id: uuid.UUID
    operation_id: uuid.UUID | None
    on_date: date
    group_by: str
    status: str
    total: int
    ready: int
    blocked: int
    blockers: dict[str, Any] | None
    created_at: datetime
    finished_at: datetime | None


class BlockerRead(BaseModel):
    """A rule blocking the application and what would unblock it."""

    rule: str
    message: str
    unblock: str


class ReadinessResultRead(BaseModel):
    """The verdict for one case (no personal data)."""

    seq: int
    account_id: uuid.UUID
    account_ids: list[uuid.UUID]
    ready: bool
    principal: Decimal
    penalties: Decimal
    duty: Decimal | None
    total: Decimal
    months_claimed: int
    period_from: date | None
    period_to: date | None
    blockers: list[BlockerRead]
    warnings: list[BlockerRead]
    excluded: list[dict[str, Any]] = Field(description="months left out: limitation, filed, not_due")
    court: dict[str, Any] | None
    notice: dict[str, Any] | None = Field(
        None,
        description="the delivered pre-court notice the application cites (notice_id, seq, issued_on, "
        "delivered_on, channel, gis_notification_guid), when readiness requires one",
    )


class ReadinessResultsPage(BaseModel):
    """A page of verdicts; pass `next_after` as `after` for the next one."""

    items: list[ReadinessResultRead]
    next_after: int | None


class ReadinessAnswer(BaseModel):
    """The run (computed at once for small sets) and, for large sets, the operation computing it."""

    run: ReadinessRunRead
    operation: OperationRead | None = None
    results: ReadinessResultsPage | None = Field(None, description="first page, when computed at once")


def _result(row: CourtReadinessResult) -> ReadinessResultRead:
    v = row.verdict
    return ReadinessResultRead(
        seq=row.seq,
        account_id=row.account_id,
        account_ids=[uuid.UUID(a) for a in row.account_ids],
        ready=row.ready,
        principal=row.principal,
        penalties=row.penalties,
        duty=row.duty,
        total=row.total,
        months_claimed=row.months_claimed,
        period_from=v.get("period_from"),
        period_to=v.get("period_to"),
        blockers=[BlockerRead(**b) for b in v.get("blockers", [])],
        warnings=[BlockerRead(**b) for b in v.get("warnings", [])],
        excluded=v.get("excluded", []),
        court=v.get("court"),
        notice=v.get("notice"),
    )


def _page(rows: list[CourtReadinessResult], limit: int) -> ReadinessResultsPage:
    return ReadinessResultsPage(
        items=[_result(r) for r in rows], next_after=rows[-1].seq if len(rows) == limit and rows else None
    )


@router.post(
    "/court-orders/readiness",
    response_model=ReadinessAnswer,
    status_code=200,
    responses={
        202: {"model": ReadinessAnswer, "description": "Accepted: a large set is computed by an operation"},
        **error_responses(401, 403, 404, 422),
    },
)
async def post_readiness(
    body: ReadinessRequest,
    response: Response,
    session: SessionDep,
    principal: CourtUser,
    settings: SettingsDep,
) -> ReadinessAnswer:
    """Check debtors' readiness for a court order; large sets answer 202 with an operation (scope `court`)."""
    run, op = await readiness.request_readiness(
        session=session,
        principal=principal,
        organisation_id=body.organisation_id,
        account_ids=None if body.account_ids == "all" else body.account_ids,
        on_date=body.on_date or moscow_today(),
        group_by=body.group_by,
        rules=court_rules(settings),
        inline_limit=settings.court.readiness_inline_limit,
        chunk=settings.court.readiness_chunk,
    )
    await session.flush()
    await session.refresh(run)
    if op is not None:
        response.status_code = 202
        return ReadinessAnswer(
            run=ReadinessRunRead.model_validate(run), operation=OperationRead.model_validate(op)
        )
    rows = await readiness.list_results(session=session, run_id=run.id, limit=100)
    return ReadinessAnswer(run=ReadinessRunRead.model_validate(run), results=_page(rows, 100))


@router.get(
    "/court-orders/readiness/{run_id}",
    response_model=ReadinessRunRead,
    status_code=200,
    responses=error_responses(401, 403, 404),
)
async def get_readiness_run(run_id: uuid.UUID, session: SessionDep, principal: CourtUser) -> ReadinessRunRead:
    """Show a readiness run with its counts (scope `court`)."""
    run = await readiness.get_run(session=session, run_id=run_id, principal=principal)
    return ReadinessRunRead.model_validate(run)


@router.get(
    "/court-orders/readiness/{run_id}/results",
    response_model=ReadinessResultsPage,
    status_code=200,
    responses=error_responses(401, 403, 404, 422),
)
async def get_readiness_results(
    run_id: uuid.UUID,
    session: SessionDep,
    principal: CourtUser,
    ready: bool | None = None,
    rule: Annotated[str | None, Query(description="only cases blocked by this rule")] = None,
    after: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> ReadinessResultsPage:
    """List a run's verdicts, filtered by readiness or blocking rule (scope `court`)."""
    run: CourtReadinessRun = await readiness.get_run(session=session, run_id=run_id, principal=principal)
    rows = await readiness.list_results(
        session=session, run_id=run.id, ready=ready, rule=rule, after_seq=after, limit=limit
    )
    return _page(rows, limit)


# -------------------------------------------------------------------------------------------- packages


class PackagesRequest(BaseModel):
    """Build application packages for the ready cases of a run, or of the given accounts."""

    organisation_id: uuid.UUID
    run_id: uuid.UUID | None = None
    account_ids: list[uuid.UUID] | None = None
    on_date: date | None = None
    group_by: Literal["account", "debtor"] = "account"


@router.post(
    "/court-orders/packages",
    response_model=OperationRead,
    status_code=202,
    responses=error_responses(401, 403, 404, 409, 422, 429),
)
async def post_packages(body: PackagesRequest, session: SessionDep, principal: CourtUser) -> OperationRead:
    """Export application packages as a batch operation; download them as JSON Lines (scope `court`)."""
    op = await packages.request_packages(
        session=session,
        principal=principal,
        organisation_id=body.organisation_id,
        run_id=body.run_id,
        account_ids=body.account_ids,
        on_date=body.on_date or moscow_today(),
        group_by=body.group_by,
    )
    return OperationRead.model_validate(op)


@router.get(
    "/court-orders/packages/{operation_id}.jsonl",
    response_class=StreamingResponse,
    status_code=200,
    responses={200: {"content": {"application/x-ndjson": {}}}, **error_responses(401, 403, 404)},
)
async def get_packages_jsonl(
    operation_id: uuid.UUID, request: Request, session: SessionDep, principal: CourtUser
) -> StreamingResponse:
    """Download a package export as JSON Lines, one application per line; PII needs `pii` (scope `court`)."""
    op = await ops.get_or_raise(session=session, principal=principal, operation_id=operation_id)
    if op.kind != packages.PACKAGES_JOB:
        raise errors.NotFoundError(f"Package export {operation_id} not found.")
    sessionmaker = request.app.state.sessionmaker
    show = principal.can_see_pii

    async def lines() -> AsyncIterator[bytes]:
        # Its own session: the response streams after the request's session has closed.
        async with sessionmaker() as own:
            after: uuid.UUID | None = None
            while True:
                batch = await packages.cases_of_operation(session=own, operation_id=operation_id, after=after)
                if not batch:
                    break
                data = [packages.application_data(case, show_pii=show) for case in batch]
                for (line,) in adapter.write(data, today=moscow_today()):
                    yield line.data
                after = batch[-1].id

    adapter = JsonLinesAdapter()
    return StreamingResponse(lines(), media_type=adapter.media_type)


class PackageExportCreate(BaseModel):
    """Bundle a finished package operation: one ZIP per court with a format's files, each signed."""

    model_config = ConfigDict(extra="forbid")

    format: str = Field(
        "efiling-pdf",
        max_length=40,
        description=f"package format (an adapter): {', '.join(FORMATS)}",
    )
    sign: bool = Field(
        True, description="a detached CMS signature (`.sig`, DER, GOST 2012/256) beside every file"
    )


@router.post(
    "/court-orders/packages/{operation_id}/exports",
    response_model=OperationRead,
    status_code=202,
    responses=error_responses(401, 403, 404, 409, 422, 429),
)
async def post_package_export(
    operation_id: uuid.UUID, body: PackageExportCreate, session: SessionDep, principal: CourtUser
) -> OperationRead:
    """Bundle a package operation's applications per court as signed ZIPs with a register (scope `court`)."""
    op = await exports.request_export(
        session=session,
        principal=principal,
        package_operation_id=operation_id,
        fmt=body.format,
        sign=body.sign,
    )
    return OperationRead.model_validate(op)


@router.get(
    "/court-orders/package-exports/{operation_id}/{court_key}.zip",
    response_class=FileResponse,
    status_code=200,
    responses={200: {"content": {"application/zip": {}}}, **error_responses(401, 403, 404)},
)
async def get_package_export_zip(
    operation_id: uuid.UUID,
    court_key: Annotated[str, Path(max_length=80, description="the court's key from the export's result")],
    session: SessionDep,
    principal: CourtUser,
    settings: SettingsDep,
) -> FileResponse:
    """Download one court's ZIP of an export; an export made with `pii` needs `pii` (scope `court`)."""
    op = await ops.get_or_raise(session=session, principal=principal, operation_id=operation_id)
    path = exports.archive_path(settings=settings, op=op, principal=principal, key=court_key)
    return FileResponse(path, media_type="application/zip", filename=f"{court_key}.zip")


# ------------------------------------------------------------------------------------------ court cases


class CaseCreate(BaseModel):
    """Open a draft case for one debtor's accounts (it must be ready on the date)."""

    organisation_id: uuid.UUID
    account_ids: list[uuid.UUID] = Field(min_length=1)
    on_date: date | None = None


class EventRead(BaseModel):
    """One step of a case's history."""

    model_config = ConfigDict(from_attributes=True)

    type: str
    at: datetime
    on_date: date | None
    from_status: str | None
    to_status: str
    actor: str
    details: dict[str, Any] | None = Field(None, description="note, ФССП proceeding number, amount received")


class CaseRead(BaseModel):
    """A court case with its deadlines; debtor personal data masked without `pii`."""

    id: uuid.UUID
    organisation_id: uuid.UUID
    account_id: uuid.UUID | None
    account_ids: list[uuid.UUID]
    status: str
    debtor: dict[str, Any]
    court: dict[str, Any] | None
    period_from: date
    period_to: date
    months: list[date]
    on_date: date
    principal: Decimal
    penalties: Decimal
    duty: Decimal
    total: Decimal
    case_number: str | None
    act_number: str | None
    act_date: date | None
    act_pronouncing_date: date | None
    submitted_on: date | None
    issued_on: date | None
    received_on: date | None
    objection_deadline: date | None
    in_force_on: date | None
    cancelled_on: date | None
    enforcement_on: date | None
    returned_on: date | None
    working_days_left: int | None = Field(None, description="objection term: working days left")
    act_file_name: str | None
    version: int
    events: list[EventRead] = Field(default_factory=list)


class CasesPage(BaseModel):
    """A page of court cases; pass `next_after` as `after`."""

    items: list[CaseRead]
    next_after: uuid.UUID | None


CaseStatus = Literal[
    "draft",
    "submitted",
    "order_issued",
    "objection_window",
    "cancelled",
    "in_force",
    "enforcement",
    "returned",
    "closed",
]


class CaseEventCreate(BaseModel):
    """What happened in court or after: from submitted to in force, enforcement, payments, closed."""

    type: cases.EventType
    on_date: date
    case_number: str | None = Field(None, max_length=100)
    act_number: str | None = Field(None, max_length=255)
    act_pronouncing_date: date | None = None
    note: str | None = Field(None, max_length=1000)
    fssp_number: str | None = Field(None, max_length=100, description="ФССП proceeding number (enforcement)")
    amount: Decimal | None = Field(None, gt=0, decimal_places=2, description="amount received (payment)")


def _case(case: CourtCase, principal: Principal, settings: Any, events: Any = ()) -> CaseRead:
    info = cases.deadlines(case, today=moscow_today(), rules=court_rules(settings))
    return CaseRead(
        id=case.id,
        organisation_id=case.organisation_id,
        account_id=case.account_id,
        account_ids=[uuid.UUID(a) for a in case.account_ids],
        status=case.status,
        debtor=packages.mask_debtor(case.debtor, show_pii=principal.can_see_pii),
        court=case.court,
        period_from=case.period_from,
        period_to=case.period_to,
        months=[date.fromisoformat(m) for m in case.months],
        on_date=case.on_date,
        principal=case.principal,
        penalties=case.penalties,
        duty=case.duty,
        total=case.total,
        case_number=case.case_number,
        act_number=case.act_number,
        act_date=case.act_date,
        act_pronouncing_date=case.act_pronouncing_date,
        submitted_on=case.submitted_on,
        issued_on=case.issued_on,
        received_on=case.received_on,
        objection_deadline=case.objection_deadline,
        in_force_on=case.in_force_on,
        cancelled_on=case.cancelled_on,
        enforcement_on=case.enforcement_on,
        returned_on=case.returned_on,
        working_days_left=info.get("working_days_left"),
        act_file_name=case.act_file_name,
        version=case.version,
        events=[EventRead.model_validate(e) for e in events],
    )


@router.get(
    "/court-cases", response_model=CasesPage, status_code=200, responses=error_responses(401, 403, 404, 422)
)
async def list_court_cases(
    session: SessionDep,
    principal: CourtUser,
    settings: SettingsDep,
    organisation_id: uuid.UUID | None = None,
    status: Annotated[CaseStatus | None, Query(description="one case status")] = None,
    account_id: uuid.UUID | None = None,
    deadline_before: Annotated[date | None, Query(description="objection deadline on or before")] = None,
    after: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> CasesPage:
    """List court cases with their deadlines (scope `court`)."""
    rows = await cases.list_cases(
        session=session,
        organisation_ids=principal.visible_orgs(organisation_id),
        status=status,
        account_id=account_id,
        deadline_before=deadline_before,
        after=after,
        limit=limit,
    )
    return CasesPage(
        items=[_case(c, principal, settings) for c in rows],
        next_after=rows[-1].id if len(rows) == limit else None,
    )


@router.post(
    "/court-cases", response_model=CaseRead, status_code=201, responses=error_responses(401, 403, 404, 422)
)
async def create_court_case(
    body: CaseCreate, session: SessionDep, principal: CourtUser, settings: SettingsDep
) -> CaseRead:
    """Open a draft case with its application package for one ready debtor (scope `court`)."""
    case = await packages.create_case_for_accounts(
        session=session,
        principal=principal,
        organisation_id=body.organisation_id,
        account_ids=body.account_ids,
        on_date=body.on_date or moscow_today(),
        rules=court_rules(settings),
    )
    return _case(case, principal, settings, await cases.events_of(case.id, session=session))


@router.get(
    "/court-cases/{case_id}",
    response_model=CaseRead,
    status_code=200,
    responses=error_responses(401, 403, 404),
)
async def get_court_case(
    case_id: CaseId, session: SessionDep, principal: CourtUser, settings: SettingsDep
) -> CaseRead:
    """Show a court case with its history and deadlines (scope `court`)."""
    case = await cases.get_case(session=session, case_id=case_id, principal=principal)
    return _case(case, principal, settings, await cases.events_of(case.id, session=session))


@router.delete("/court-cases/{case_id}", status_code=204, responses=error_responses(401, 403, 404, 409))
async def delete_court_case(case_id: CaseId, session: SessionDep, principal: CourtUser) -> Response:
    """Delete a draft case (scope `court`)."""
    case = await cases.get_case(session=session, case_id=case_id, principal=principal)
    await cases.delete_draft(session=session, case=case, principal=principal)
    return Response(status_code=204)


@router.post(
    "/court-cases/{case_id}/events",
    response_model=CaseRead,
    status_code=200,
    responses=error_responses(401, 403, 404, 409, 422),
)
async def post_case_event(
    case_id: CaseId, body: CaseEventCreate, session: SessionDep, principal: CourtUser, settings: SettingsDep
) -> CaseRead:
    """Record a court event and move the case on; an order in force enters the registry (scope `court`)."""
    case = await cases.get_case(session=session, case_id=case_id, principal=principal)
    await cases.apply_event(
        session=session,
        case=case,
        event=cases.CaseEvent(**body.model_dump()),
        principal=principal,
        rules=court_rules(settings),
    )
    return _case(case, principal, settings, await cases.events_of(case.id, session=session))


@router.post(
    "/court-cases/outcomes",
    response_model=OperationRead,
    status_code=202,
    responses=error_responses(401, 403, 404, 422),
)
async def import_outcomes(
    session: SessionDep,
    principal: CourtUser,
    settings: SettingsDep,
    file: Annotated[UploadFile, File(description="CSV or JSON Lines, see docs/court-orders.md §4")],
    organisation_id: Annotated[uuid.UUID, Form(description="whose cases the outcomes are")],
    format: Annotated[
        Literal["jsonl", "csv"] | None, Form(description="file format (default: by file name)")
    ] = None,
) -> OperationRead:
    """Import court outcomes in bulk; poll the operation for the row report (scope `court`)."""
    principal.require_org(organisation_id)
    data = await file.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise errors.RuleViolation("The file exceeds 20 MB.", rule="file_size")
    fmt = format or outcomes.sniff_format(file.filename, file.content_type)
    path = await asyncio.to_thread(outcomes.store_upload, data, settings.accounts.upload_dir, fmt)
    try:
        op = await outcomes.request_outcomes_import(
            session=session, principal=principal, organisation_id=organisation_id, path=path, fmt=fmt
        )
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return OperationRead.model_validate(op)


@router.put(
    "/court-cases/{case_id}/act-file",
    response_model=CaseRead,
    status_code=200,
    responses=error_responses(401, 403, 404, 413, 422),
)
async def put_act_file(
    case_id: CaseId,
    session: SessionDep,
    principal: CourtUser,
    settings: SettingsDep,
    file: Annotated[UploadFile, File(description="the court act (PDF or scan)")],
) -> CaseRead:
    """Attach the court act's file to the case (scope `court`)."""
    case = await cases.get_case(session=session, case_id=case_id, principal=principal)
    data = await file.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise errors.RuleViolation("The file exceeds 20 MB.", rule="file_size")
    await cases.attach_act_file(
        session=session, case=case, filename=file.filename or "act.pdf", data=data, principal=principal
    )
    return _case(case, principal, settings, await cases.events_of(case.id, session=session))


@router.get(
    "/court-cases/{case_id}/application.json",
    response_model=dict[str, Any],
    status_code=200,
    responses=error_responses(401, 403, 404),
)
async def get_application_json(case_id: CaseId, session: SessionDep, principal: CourtUser) -> dict[str, Any]:
    """Return the application data set of a case; PII masked without `pii` (scope `court`)."""
    case = await cases.get_case(session=session, case_id=case_id, principal=principal)
    return packages.application_data(case, show_pii=principal.can_see_pii)


@router.get(
    "/court-cases/{case_id}/application.html",
    response_class=HTMLResponse,
    status_code=200,
    responses={200: {"content": {"text/html": {}}}, **error_responses(401, 403, 404)},
)
async def get_application_html(case_id: CaseId, session: SessionDep, principal: CourtUser) -> HTMLResponse:
    """Return the printable application (HTML for the browser's print); PII needs `pii` (scope `court`)."""
    case = await cases.get_case(session=session, case_id=case_id, principal=principal)
    return HTMLResponse(packages.render_application_html(case, show_pii=principal.can_see_pii))


# ------------------------------------------------------------------------------------ debts registry


class ConfirmedDebtRead(BaseModel):
    """A court-confirmed debt and its GIS registry state; debtor names masked without `pii`."""

    id: uuid.UUID
    organisation_id: uuid.UUID
    case_id: uuid.UUID | None
    account_id: uuid.UUID | None
    debtor_name: str
    act_number: str
    act_date: date
    act_pronouncing_date: date
    amount: Decimal
    placement: str
    gis_debt_guid: str | None
    gis_status: str | None
    repayment_status: str
    repaid_on: date | None
    annulled_on: date | None
    last_error: str | None


def _debt(debt: CourtConfirmedDebt, principal: Principal) -> ConfirmedDebtRead:
    name = " ".join(x for x in (debt.last_name, debt.first_name, debt.middle_name) if x)
    if not principal.can_see_pii:  # "И. И.": the initials of the last and first names
        name = " ".join(mask(n, pii=False, form="initial") or "." for n in (debt.last_name, debt.first_name))
    return ConfirmedDebtRead(
        id=debt.id,
        organisation_id=debt.organisation_id,
        case_id=debt.case_id,
        account_id=debt.account_id,
        debtor_name=name,
        act_number=debt.act_number,
        act_date=debt.act_date,
        act_pronouncing_date=debt.act_pronouncing_date,
        amount=debt.amount,
        placement=debt.placement,
        gis_debt_guid=debt.gis_debt_guid,
        gis_status=debt.gis_status,
        repayment_status=debt.repayment_status,
        repaid_on=debt.repaid_on,
        annulled_on=debt.annulled_on,
        last_error=debt.last_error,
    )


class RegistryActionBody(BaseModel):
    """Reason (NSI 365 for annulment, NSI 366 for a repayment annulment), info, repayment date."""

    reason_code: str | None = Field(None, max_length=20)
    reason_guid: str | None = Field(None, max_length=36)
    reason_text: str | None = Field(None, max_length=1000)
    additional_info: str | None = Field(None, max_length=2000)
    repaid_on: date | None = None


@router.get(
    "/court-cases/{case_id}/registry",
    response_model=ConfirmedDebtRead,
    status_code=200,
    responses=error_responses(401, 403, 404, 409),
)
async def get_case_registry(case_id: CaseId, session: SessionDep, principal: CourtUser) -> ConfirmedDebtRead:
    """Show the case's court-confirmed debt and its GIS registry state (scope `court`)."""
    await cases.get_case(session=session, case_id=case_id, principal=principal)
    return _debt(
        await registry.debt_of_case(session=session, case_id=case_id, principal=principal), principal
    )


@router.post(
    "/court-cases/{case_id}/registry/{action}",
    response_model=OperationRead,
    status_code=202,
    responses=error_responses(401, 403, 404, 409, 422, 429),
)
async def post_registry_action(
    case_id: CaseId,
    action: Annotated[
        Literal["place", "edit", "annul", "repayment", "annul-repayment"], Path(description="registry action")
    ],
    session: SessionDep,
    principal: CourtUser,
    body: RegistryActionBody | None = None,
) -> OperationRead:
    """Place, edit, annul the debt in GIS's registry, or record (annul) its repayment (scope `court`)."""
    await cases.get_case(session=session, case_id=case_id, principal=principal)
    debt = await registry.debt_of_case(session=session, case_id=case_id, principal=principal)
    b = body or RegistryActionBody()
    request = registry.RegistryRequest(
        action="annul_repayment" if action == "annul-repayment" else action,
        reason_code=b.reason_code,
        reason_guid=b.reason_guid,
        reason_text=b.reason_text,
        additional_info=b.additional_info,
        repaid_on=b.repaid_on,
    )
    op = await registry.request_registry_action(
        session=session, debt=debt, request=request, principal=principal
    )
    return OperationRead.model_validate(op)


@router.post(
    "/organisations/{organisation_id}/court-registry/reconcile",
    response_model=OperationRead,
    status_code=202,
    responses=error_responses(401, 403, 404, 429),
)
async def post_reconcile(
    organisation_id: uuid.UUID, session: SessionDep, principal: CourtUser
) -> OperationRead:
    """Export GIS's court-confirmed debts registry and reconcile the local records (scope `court`)."""
    op = await registry.request_reconcile(
        session=session, organisation_id=organisation_id, principal=principal
    )
    return OperationRead.model_validate(op)


@router.get(
    "/court-confirmed-debts",
    response_model=list[ConfirmedDebtRead],
    status_code=200,
    responses=error_responses(401, 403, 404, 422),
)
async def list_confirmed_debts(
    session: SessionDep,
    principal: CourtUser,
    organisation_id: uuid.UUID,
    account_id: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[ConfirmedDebtRead]:
    """List the organisation's court-confirmed debts (scope `court`)."""
    principal.require_org(organisation_id)
    rows = await registry.list_debts(
        session=session, organisation_id=organisation_id, account_id=account_id, limit=limit
    )
    return [_debt(d, principal) for d in rows]
