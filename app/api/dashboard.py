"""The ops dashboard: a server-rendered page over the same data and scopes as `GET /api/v1/dashboard`."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, Field

from app.api.deps import Reader, SessionDep, SettingsDep
from app.api.errors import error_responses
from app.domain import writeoff
from app.domain.agreements import count_agreements
from app.domain.debt_requests import dashboard as service
from app.domain.debt_requests.common import calendar_rules
from app.domain.kernel import errors as d
from app.domain.kernel.access import authenticate
from app.domain.kernel.calendar import moscow_today

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


@router.get("/dashboard", response_class=HTMLResponse, include_in_schema=False)
async def dashboard_page(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    """Render the dashboard for the key in the session cookie (scope `read`), or the key form."""
    token = request.cookies.get(COOKIE)
    if not token:
        return templates.TemplateResponse(request, "login.html", {"error": None})
    try:
        principal = await authenticate(session=session, token=token)
        principal.require("read")
    except d.DomainError as exc:
        response = templates.TemplateResponse(request, "login.html", {"error": str(exc)}, status_code=401)
        response.delete_cookie(COOKIE, path="/dashboard")
        return response
    day = moscow_today()
    items = await service.overview(
        session=session, principal=principal, today=day, rules=calendar_rules(settings)
    )
    context: dict[str, Any] = {
        "today": day,
        "orgs": await _with_recovery(session, [_read(i) for i in items], day),
        "statuses": service.STATUSES,
        "key_name": principal.name,
    }
    return templates.TemplateResponse(request, "dashboard.html", context)


@router.post("/dashboard/login", include_in_schema=False)
async def dashboard_login(request: Request, key: Annotated[str, Form()], session: SessionDep) -> Response:
    """Check the key and keep it in an HttpOnly cookie scoped to the dashboard."""
    try:
        principal = await authenticate(session=session, token=key.strip())
        principal.require("read")
    except d.DomainError as exc:
        return templates.TemplateResponse(request, "login.html", {"error": str(exc)}, status_code=401)
    response = RedirectResponse("/dashboard", status_code=303)
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
