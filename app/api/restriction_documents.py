"""The documents of a restriction timeline (ПП 354 п. 117–120): which can be generated, and each as PDF."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, Field

from app.api.deps import CourtUser, SessionDep, SettingsDep
from app.api.errors import error_responses
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
    return [
        RestrictionDocumentState(kind=kind, available=rule is None, refused_by=rule)
        for kind, rule in restriction_documents.available(case)
    ]


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
