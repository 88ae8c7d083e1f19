"""The ops dashboard: a server-rendered page over the same data and scopes as `GET /api/v1/dashboard`."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, Field

from app.api.charts import ageing_chart, trend_chart
from app.api.deps import Reader, SessionDep, SettingsDep
from app.api.errors import error_responses
from app.api.i18n import Lang, Translator
from app.domain import writeoff
from app.domain.agreements import count_agreements
from app.domain.court import funnel as court_funnel
from app.domain.debt_requests import dashboard as service
from app.domain.debt_requests.common import calendar_rules
from app.domain.kernel import errors as d
from app.domain.kernel.access import authenticate
from app.domain.kernel.calendar import moscow_today
from app.domain.monitoring.trend import debt_trends

router = APIRouter(tags=["ops"])
templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
COOKIE = "gisgw_dashboard_key"


class GisErrorRead(BaseModel):
    """A recent failed exchange."""

    at: datetime | None
    operation: str
    code: str | None
    message: str | None


class DayCount(BaseModel):
    """Answers sent on one day."""

    day: date
    count: int


class AgreementCountsRead(BaseModel):
    """Repayment agreements: active, breached this month, completed."""

    active: int = 0
    breached_this_month: int = 0
    completed: int = 0


class ActTotalsRead(BaseModel):
    """Write-off acts of one status: how many and their sums."""

    acts: int = 0
    principal: Decimal = Decimal("0.00")
    penalties: Decimal = Decimal("0.00")
    duty: Decimal = Decimal("0.00")


class WriteOffTotalsRead(BaseModel):
    """Write-off acts by status."""

    draft: ActTotalsRead = Field(default_factory=ActTotalsRead)
    approved: ActTotalsRead = Field(default_factory=ActTotalsRead)
    posted: ActTotalsRead = Field(default_factory=ActTotalsRead)


class OrganisationOverviewRead(BaseModel):
    """One organisation's overview."""

    organisation_id: uuid.UUID
    name: str
    by_status: dict[str, int]
    total: int
    at_risk: int
    overdue: int
    last_fetch_at: datetime | None
    last_send_at: datetime | None
    pending_exchanges: int
    recent_errors: list[GisErrorRead]
    answers_per_day: list[DayCount]
    agreements: AgreementCountsRead = Field(default_factory=AgreementCountsRead)
    write_off: WriteOffTotalsRead = Field(default_factory=WriteOffTotalsRead)


class DashboardRead(BaseModel):
    """The overview of every organisation the key may see."""

    today: date
    organisations: list[OrganisationOverviewRead]


MONTH_PATTERN = r"^(19|20)\d{2}-(0[1-9]|1[0-2])$"  # years 1900–2099: no year 0
MonthQuery = Annotated[
    str | None,
    Query(pattern=MONTH_PATTERN, description="month as YYYY-MM (default: the current month, Moscow time)"),
]
LangQuery = Annotated[
    Lang | None, Query(description="page language: ru or en (default: GISGW_DASHBOARD_LANG)")
]


class FunnelStageRead(BaseModel):
    """One step of the court funnel: debtors or cases that reached it in the month, and their sum (₽)."""

    stage: str = Field(
        description="debtors, ready, packaged, filed, order_issued, in_force, enforcement, paid"
    )
    count: int
    amount: Decimal


class OrganisationFunnelRead(BaseModel):
    """One organisation's court funnel of a month."""

    organisation_id: uuid.UUID
    name: str
    month: date = Field(description="first day of the month")
    debtors_source: str | None = Field(
        description="monitoring_snapshot, readiness_run, or null when the month has neither"
    )
    stages: list[FunnelStageRead]


class CourtFunnelRead(BaseModel):
    """The court funnel per organisation and month: `months` months up to `month`, each with its month."""

    month: date = Field(description="the last month asked for (first day)")
    months: int = Field(description="how many months, up to and including `month`")
    organisations: list[OrganisationFunnelRead] = Field(
        description="one entry per organisation and month: by organisation name, then month ascending"
    )


def _month(value: str | None) -> date:
    if value is None:
        return moscow_today().replace(day=1)
    return date(int(value[:4]), int(value[5:7]), 1)


def _month_choices(current: date, chosen: date) -> list[date]:
    """The page's month list: the last three years up to the current month, and the chosen one."""
    out = [current]
    while len(out) < 36:
        out.append((out[-1] - timedelta(days=1)).replace(day=1))
    return sorted(set(out) | {chosen}, reverse=True)


def _read_funnel(item: court_funnel.OrganisationFunnel) -> OrganisationFunnelRead:
    return OrganisationFunnelRead(
        organisation_id=item.organisation_id,
        name=item.name,
        month=item.month,
        debtors_source=item.debtors_source,
        stages=[FunnelStageRead(stage=s.name, count=s.count, amount=s.amount) for s in item.stages],
    )


def _read(item: service.OrganisationOverview) -> OrganisationOverviewRead:
    return OrganisationOverviewRead(
        organisation_id=item.organisation_id,
        name=item.name,
        by_status=item.by_status,
        total=item.total,
        at_risk=item.at_risk,
        overdue=item.overdue,
        last_fetch_at=item.last_fetch_at,
        last_send_at=item.last_send_at,
        pending_exchanges=item.pending_exchanges,
        recent_errors=[GisErrorRead(**vars(e)) for e in item.recent_errors],
        answers_per_day=[DayCount(day=day, count=n) for day, n in item.answers_per_day],
    )


async def _with_recovery(
    session: SessionDep, items: list[OrganisationOverviewRead], day: date
) -> list[OrganisationOverviewRead]:
    """Add each organisation's agreement counts and write-off sums (issue #16)."""
    ids = [i.organisation_id for i in items]
    agreements = await count_agreements(session=session, organisation_ids=ids, today=day)
    acts = await writeoff.act_totals(session=session, organisation_ids=ids)
    for item in items:
        if (counts := agreements.get(item.organisation_id)) is not None:
            item.agreements = AgreementCountsRead(**vars(counts))
        by_status = acts.get(item.organisation_id, {})
        item.write_off = WriteOffTotalsRead(
            **{status: ActTotalsRead(**vars(t)) for status, t in by_status.items()}
        )
    return items


@router.get(
    "/api/v1/dashboard", response_model=DashboardRead, status_code=200, responses=error_responses(401, 403)
)
async def get_dashboard(session: SessionDep, principal: Reader, settings: SettingsDep) -> DashboardRead:
    """Per organisation: requests by status, deadlines at risk, overdue, recent GIS errors (scope `read`)."""
    day = moscow_today()
    items = await service.overview(
        session=session, principal=principal, today=day, rules=calendar_rules(settings)
    )
    return DashboardRead(
        today=day, organisations=await _with_recovery(session, [_read(i) for i in items], day)
    )


@router.get(
    "/api/v1/dashboard/court-funnel",
    response_model=CourtFunnelRead,
    status_code=200,
    responses=error_responses(401, 403, 404, 422),
)
async def get_court_funnel(
    session: SessionDep,
    principal: Reader,
    month: MonthQuery = None,
    organisation_id: Annotated[
        uuid.UUID | None, Query(description="one organisation (default: every one the key sees)")
    ] = None,
    months: Annotated[int, Query(ge=1, le=36, description="months up to and including `month`")] = 1,
) -> CourtFunnelRead:
    """Court funnel per organisation and month: debtors → … → paid, counts and sums (scope `read`)."""
    last = _month(month)
    items = await court_funnel.court_funnels(
        session=session, principal=principal, last_month=last, months=months, organisation_id=organisation_id
    )
    return CourtFunnelRead(month=last, months=months, organisations=[_read_funnel(i) for i in items])


@router.get("/dashboard", response_class=HTMLResponse, include_in_schema=False)
async def dashboard_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    lang: LangQuery = None,
    month: MonthQuery = None,
) -> Response:
    """Render the dashboard for the key in the session cookie (scope `read`), or the key form."""
    tr = Translator(lang or settings.dashboard.lang)
    token = request.cookies.get(COOKIE)
    if not token:
        return templates.TemplateResponse(request, "login.html", {"error": None, "tr": tr})
    try:
        principal = await authenticate(session=session, token=token)
        principal.require("read")
    except d.DomainError as exc:
        response = templates.TemplateResponse(
            request, "login.html", {"error": str(exc), "tr": tr}, status_code=401
        )
        response.delete_cookie(COOKIE, path="/dashboard")
        return response
    day = moscow_today()
    items = await service.overview(
        session=session, principal=principal, today=day, rules=calendar_rules(settings)
    )
    first = _month(month)
    funnels = {
        f.organisation_id: _read_funnel(f)
        for f in await court_funnel.court_funnel(session=session, principal=principal, month=first)
    }
    trends = await debt_trends(session=session, organisation_ids=[i.organisation_id for i in items])
    # One block per area and organisation: a new area adds its block to `blocks.html`'s list and its
    # figures here, keyed by organisation, without touching the others.
    monitoring: dict[uuid.UUID, dict[str, Any]] = {}
    for org_id, points in trends.items():
        monitoring[org_id] = {
            "latest": points[-1] if points else None,
            "ageing": ageing_chart(points[-1], tr) if points else None,
            "trend": trend_chart(points, tr) if points else None,
        }
    context: dict[str, Any] = {
        "today": day,
        "orgs": await _with_recovery(session, [_read(i) for i in items], day),
        "statuses": service.STATUSES,
        "key_name": principal.name,
        "tr": tr,
        "lang": tr.lang,
        "month": first,
        "month_choices": _month_choices(day.replace(day=1), first),
        "funnels": funnels,
        "monitoring": monitoring,
    }
    return templates.TemplateResponse(request, "dashboard.html", context)


@router.post("/dashboard/login", include_in_schema=False)
async def dashboard_login(
    request: Request,
    key: Annotated[str, Form()],
    session: SessionDep,
    settings: SettingsDep,
    lang: Annotated[Lang | None, Form()] = None,
) -> Response:
    """Check the key and keep it in an HttpOnly cookie scoped to the dashboard."""
    try:
        principal = await authenticate(session=session, token=key.strip())
        principal.require("read")
    except d.DomainError as exc:
        tr = Translator(lang or settings.dashboard.lang)
        return templates.TemplateResponse(
            request, "login.html", {"error": str(exc), "tr": tr}, status_code=401
        )
    # The language chosen on the key form (`/dashboard?lang=en`) carries on to the page.
    target = "/dashboard" if lang in (None, settings.dashboard.lang) else f"/dashboard?lang={lang}"
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        COOKIE,
        key.strip(),
        httponly=True,
        samesite="strict",
        path="/dashboard",
        secure=request.url.scheme == "https",
    )
    return response


@router.post("/dashboard/logout", include_in_schema=False)
async def dashboard_logout() -> Response:
    """Forget the key."""
    response = RedirectResponse("/dashboard", status_code=303)
    response.delete_cookie(COOKIE, path="/dashboard")
    return response
