"""Restriction timelines per debtor (ПП 354 п. 117–120): an account's cases, each step's document as PDF."""

from __future__ import annotations

import uuid
from datetime import date

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, Field

from app.api.deps import CourtUser, SessionDep, SettingsDep
from app.api.errors import error_responses
from app.db.models.monitoring import RestrictionCase
from app.domain.kernel.calendar import moscow_today
from app.domain.monitoring import restriction, restriction_documents

router = APIRouter(prefix="/api/v1", tags=["monitoring"])


class RestrictionDocumentState(BaseModel):
    """One step's document and whether the recorded facts allow it yet."""

    kind: restriction_documents.Kind
    available: bool
    refused_by: str | None = Field(
        description="the rule still refusing it: warning_not_delivered, not_restricted, not_resumed, "
        "suspension_forbidden, case_closed"
    )


class RestrictionCaseSummary(BaseModel):
    """One timeline of a debtor: its state, next step and documents."""

    id: uuid.UUID
    account_id: uuid.UUID
    account_number: str
    utility: str
    status: str
    warning_delivered_on: date | None
    restricted_on: date | None
    suspended_on: date | None
    resumed_on: date | None
    stopped_reason: str | None
    next_step: str | None
    next_step_from: date | None
    documents: list[RestrictionDocumentState]


def _states(case: RestrictionCase) -> list[RestrictionDocumentState]:
    return [
        RestrictionDocumentState(kind=kind, available=rule is None, refused_by=rule)
        for kind, rule in restriction_documents.available(case)
    ]


@router.get(
    "/monitoring/restriction-cases",
    response_model=list[RestrictionCaseSummary],
    status_code=200,
    responses=error_responses(401, 403, 404, 422),
)
async def list_restriction_cases(
    session: SessionDep,
    principal: CourtUser,
    settings: SettingsDep,
    organisation_id: uuid.UUID,
    account_number: str = Query(min_length=1, max_length=30, description="the debtor's account number"),
) -> list[RestrictionCaseSummary]:
    """List one debtor's restriction timelines with their next step and documents (scope `court`)."""
    cases = await restriction.list_account_cases(
        session=session, principal=principal, organisation_id=organisation_id, account_number=account_number
    )
    out = []
    for case in cases:
        step, step_from = restriction.next_step(
            case, notice_days=settings.monitoring.restriction_suspension_notice_days
        )
        out.append(
            RestrictionCaseSummary(
                id=case.id,
                account_id=case.account_id,
                account_number=case.account_number,
                utility=case.utility,
                status=case.status,
                warning_delivered_on=case.warning_delivered_on,
                restricted_on=case.restricted_on,
                suspended_on=case.suspended_on,
                resumed_on=case.resumed_on,
                stopped_reason=case.stopped_reason,
                next_step=step,
                next_step_from=step_from,
                documents=_states(case),
            )
        )
    return out


@router.get(
    "/monitoring/restriction-cases/{case_id}/documents",
    response_model=list[RestrictionDocumentState],
    status_code=200,
    responses=error_responses(401, 403, 404),
)
async def list_restriction_documents(
    case_id: uuid.UUID, session: SessionDep, principal: CourtUser
) -> list[RestrictionDocumentState]:
    """List a timeline's step documents and which can be generated now (scope `court`)."""
    case = await restriction.get_case(session=session, principal=principal, case_id=case_id)
    return _states(case)


@router.get(
    "/monitoring/restriction-cases/{case_id}/documents/{kind}",
    status_code=200,
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}, **error_responses(401, 403, 404, 409, 422)},
)
async def get_restriction_document(
    case_id: uuid.UUID,
    kind: restriction_documents.Kind = Path(description="the step's document"),
    *,
    session: SessionDep,
    principal: CourtUser,
    settings: SettingsDep,
) -> Response:
    """Generate a step's document as PDF when the facts allow it, journaled (scopes `court` and `pii`)."""
    principal.require("pii")
    doc = await restriction_documents.generate(
        session=session,
        principal=principal,
        case_id=case_id,
        kind=kind,
        today=moscow_today(),
        settings=settings.monitoring,
    )
    return Response(
        doc.pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{kind}-{doc.stated_date or "copy"}.pdf"'},
    )
