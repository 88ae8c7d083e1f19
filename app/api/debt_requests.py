"""Debt requests from social-protection bodies: inbox, answers, documents, send, revoke, archive.

Long (about 1,000 lines) because it is one resource family with its schemas: the inbox, answers, documents,
sending and archive share the request and answer models; splitting schemas from routes is the next step.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import IntEnum
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, Path, Query, UploadFile
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WithJsonSchema, model_validator
from pydantic_core import PydanticCustomError

from app.api.deps import Admin, Answerer, GisDep, Reader, Sender, SessionDep, SettingsDep
from app.api.errors import error_responses
from app.api.operations import OperationRead
from app.db.models.debt_requests import DebtAnswer, DebtDocument, DebtRequestHistory, DebtSubrequest
from app.domain import debt_requests as service
from app.domain.debt_requests import xsd_facets
from app.domain.debt_requests.common import OPEN
from app.domain.kernel.access import Principal, require_organisation
from app.domain.kernel.calendar import deadline_flags, moscow_today
from app.domain.kernel.masking import mask
from app.domain.kernel.rules import CalendarRules

router = APIRouter(prefix="/api/v1", tags=["debt-requests"])

RequestId = Annotated[uuid.UUID, Path(description="debt request id (the gateway's, not the GIS GUID)")]
OrgId = Annotated[uuid.UUID, Path(description="organisation id")]
#: revoked: we withdrew our answer; withdrawn: the requester (social protection) withdrew the request.
Status = Literal["received", "prepared", "sent", "revoked", "withdrawn", "archived"]
MAX_PAGE = 500
MAX_FILTER_NO_DEBT = 50_000

# ------------------------------------------------------------------------------------------------ schemas


def _xsd_check(kind: str) -> Any:
    """Return a validator refusing what the official XSD refuses for the field kind (xsd_facets table)."""

    def check(value: str) -> str:
        for rule, message in xsd_facets.violations(kind, value):
            raise PydanticCustomError(rule, message)
        return value

    return AfterValidator(check)


def _xsd_schema(kind: str) -> WithJsonSchema:
    return WithJsonSchema({"type": "string", **xsd_facets.FACETS[kind].json_schema()})


Description = Annotated[str, _xsd_check("description"), _xsd_schema("description")]
PersonName = Annotated[str, _xsd_check("person_name"), _xsd_schema("person_name")]
NsiCode = Annotated[str, _xsd_check("nsi_code"), _xsd_schema("nsi_code")]
DocumentSeries = Annotated[str, _xsd_check("document_series"), _xsd_schema("document_series")]
DocumentNumber = Annotated[str, _xsd_check("document_number"), _xsd_schema("document_number")]


class MatchRead(BaseModel):
    """How the request's address was matched to billing accounts."""

    quality: str | None = Field(
        description="exact, normalised (premises number after normalisation), house_only, review, none; "
        "null before matching"
    )
    account_ids: list[uuid.UUID]
    debt_sum: Decimal | None = Field(description="unpaid amount over the period asked, matched accounts")
    debt_months: int | None = Field(description="months in debt over the period asked")
    matched_at: datetime | None


class DeadlineRead(BaseModel):
    """Where the request stands against its GIS deadline (responseDate), by the production calendar."""

    response_date: date
    working_days_left: int
    at_risk: bool = Field(description="at most one working day left and not yet answered")
    overdue: bool = Field(description="deadline passed without our answer")


class ErrorRead(BaseModel):
    """The last GIS error for this request (e.g. a rejected Send)."""

    code: str | None
    text: str | None


MatchQuality = Literal["exact", "normalised", "house_only", "review", "none"]
AnswerKind = Literal["none", "no_debt", "has_debt"]
AnswerSource = Literal["manual", "no_debt", "prefill"]


class AnswerSummaryRead(BaseModel):
    """What the drafted (or sent) answer says, without personal data."""

    has_debt: bool
    defendants: int = Field(description="debtors named in the answer")
    debt_guids: int = Field(description="court-confirmed debt records of the GIS registry named")
    files: int = Field(description="documents the answer carries")
    source: str = Field(description="manual, no_debt (mass answer) or prefill (from court-confirmed debts)")
    prepared_by: str = Field(description="who drafted it (API key or system)")
    prepared_at: datetime


class DebtRequestRead(BaseModel):
    """A debt subrequest with its local workflow status."""

    id: uuid.UUID
    organisation_id: uuid.UUID
    subrequest_guid: uuid.UUID
    request_guid: uuid.UUID
    request_number: str
    sender_org_name: str
    sender_org_guid: uuid.UUID | None
    address: str
    premises: str | None
    fias_house_guid: uuid.UUID | None
    house_guid: uuid.UUID | None
    hm_object_guid: uuid.UUID | None
    address_type: str | None
    period_from: date
    period_to: date
    sent_date: date
    status: Status
    gis_request_status: str
    gis_response_status: str = Field(description="NotSent, Sent or AutoGenerated (GIS answered 'no debt')")
    auto_answered: bool
    in_flight: bool = Field(description="an exchange with GIS carrying this request's answer is under way")
    deadline: DeadlineRead
    match: MatchRead
    last_error: ErrorRead | None
    sent_at: datetime | None
    answer_summary: AnswerSummaryRead | None = Field(description="the drafted or sent answer; null: none yet")
    version: int = Field(description="send it back as `version` to detect concurrent edits")
    created_at: datetime
    updated_at: datetime


class DebtRequestsPage(BaseModel):
    """One page of debt requests, ordered by deadline."""

    items: list[DebtRequestRead]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null on the last page")


class IdentityDocumentWrite(BaseModel):
    """Identity document of a defendant."""

    model_config = ConfigDict(extra="forbid")

    type_code: NsiCode = Field(description="NSI 95 code", examples=["1"])
    series: DocumentSeries | None = None
    number: DocumentNumber


class DefendantWrite(BaseModel):
    """A debtor: ФИО, СНИЛС (mandatory, checksum-validated), optional identity document and proofs."""

    model_config = ConfigDict(extra="forbid")

    last_name: PersonName = Field(examples=["Иванов"])
    first_name: PersonName = Field(examples=["Иван"])
    middle_name: PersonName | None = Field(None, examples=["Иванович"])
    snils: str | None = Field(None, max_length=20, examples=["112-233-445 95"])
    document: IdentityDocumentWrite | None = None
    document_ids: list[uuid.UUID] = Field(
        default_factory=list, description="uploaded documents (court act copy…) proving this debtor's debt"
    )


class AnswerWrite(BaseModel):
    """The answer to one request: hasDebt with defendants, or debt-registry GUIDs, or 'no debt'."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"has_debt": False},
                {
                    "has_debt": True,
                    "description": "Судебный приказ № 2-123/2025 от 10.02.2025",
                    "defendants": [
                        {
                            "last_name": "Иванов",
                            "first_name": "Иван",
                            "middle_name": "Иванович",
                            "snils": "112-233-445 95",
                            "document_ids": ["3fa85f64-5717-4562-b3fc-2c963f66afa6"],
                        }
                    ],
                },
            ]
        },
    )

    has_debt: bool = Field(description="debt confirmed by a court act in force, last 3 years, unpaid")
    description: Description | None = None
    defendants: list[DefendantWrite] = Field(default_factory=list, max_length=100)
    debt_guids: list[uuid.UUID] = Field(
        default_factory=list,
        description="court-confirmed debt records in the GIS registry (instead of defendants)",
    )
    additional_document_ids: list[uuid.UUID] = Field(default_factory=list, description="additionalFile")
    version: int | None = Field(None, description="the request version you edited (optimistic concurrency)")


class IdentityDocumentRead(BaseModel):
    """Identity document (withheld without scope `pii`)."""

    type_code: str | None
    type_name: str | None
    series: str | None
    number: str | None


class DefendantRead(BaseModel):
    """A defendant; without scope `pii` names are cut to initials and identifiers withheld."""

    masked: bool
    last_name: str | None
    first_name: str | None
    middle_name: str | None
    snils: str | None
    document: IdentityDocumentRead | None
    document_ids: list[uuid.UUID]


class AnswerRead(BaseModel):
    """The drafted or sent answer."""

    has_debt: bool
    description: str | None
    executor_guid: uuid.UUID
    defendants: list[DefendantRead]
    debt_guids: list[uuid.UUID]
    additional_document_ids: list[uuid.UUID]
    source: str = Field(description="manual, no_debt (mass answer) or prefill (from court-confirmed debts)")
    prepared_by: str
    updated_at: datetime


class DocumentRead(BaseModel):
    """A file attached to the answer."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    nsi_code: str = Field(description="NSI 358 document type code")
    nsi_name: str | None
    file_name: str
    description: str
    content_type: str | None
    size: int
    gost94_hash: str = Field(description="AttachmentHASH, GOST R 34.11-94")
    file_guid: uuid.UUID | None = Field(description="AttachmentGUID in the GIS file store once uploaded")
    uploaded_at: datetime | None
    created_at: datetime


class HistoryRead(BaseModel):
    """One status change."""

    model_config = ConfigDict(from_attributes=True)

    at: datetime
    actor: str
    from_status: str | None
    to_status: str
    reason: str | None
    exchange_id: uuid.UUID | None


class DebtRequestDetail(DebtRequestRead):
    """A request with its answer, documents and history."""

    answer: AnswerRead | None
    documents: list[DocumentRead]
    history: list[HistoryRead]


MatchScope = Literal["organisation", "address"]


class MatchOptionsWrite(BaseModel):
    """The operator's matching choices for this run (omitted: the deployment's defaults)."""

    model_config = ConfigDict(extra="forbid")

    scope: MatchScope | None = Field(
        None,
        description="organisation: only the answering organisation's accounts; address: any account at the "
        "address (default: GISGW_DEBT_MATCH_SCOPE)",
    )
    exact_match: bool | None = Field(
        None,
        description="accept only exact premises matches, others go to review (default: "
        "GISGW_DEBT_MATCH_EXACT_ONLY)",
    )
    prefill: bool | None = Field(
        None, description="draft answers from court-confirmed debts (default: GISGW_DEBT_PREFILL)"
    )

    def options(self) -> service.MatchOptions:
        """Return the domain's form of the options."""
        return service.MatchOptions(scope=self.scope, exact_only=self.exact_match, prefill=self.prefill)


class FetchRequest(BaseModel):
    """What to fetch; without a period the fetch is incremental since the last successful one."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{}, {"date_from": "2025-01-01", "date_to": "2025-12-31"}]},
    )

    date_from: date | None = Field(
        None, description="first sending date (longer periods are split by 6 months)"
    )
    date_to: date | None = Field(None, description="last sending date (default: today)")
    only_unanswered: bool | None = Field(None, description="only responseStatus NotSent (default: setting)")
    match: MatchOptionsWrite | None = Field(
        None, description="match the open requests to accounts after the fetch, with these options"
    )


class MatchRequest(BaseModel):
    """Which requests to match (default: every open one of the organisation)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{}, {"prefill": False, "scope": "address", "exact_match": True}]},
    )

    ids: list[uuid.UUID] | None = None
    prefill: bool | None = Field(
        None, description="draft answers from court-confirmed debts (default: setting)"
    )
    scope: MatchScope | None = Field(
        None,
        description="organisation: only the answering organisation's accounts; address: any account at the "
        "address (default: GISGW_DEBT_MATCH_SCOPE)",
    )
    exact_match: bool | None = Field(
        None, description="accept only exact premises matches (default: GISGW_DEBT_MATCH_EXACT_ONLY)"
    )


class SendRequest(BaseModel):
    """Which prepared answers to send (default: all of the organisation)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{}]})

    ids: list[uuid.UUID] | None = None


class FilterBody(BaseModel):
    """A list filter used to select requests for a mass action."""

    model_config = ConfigDict(extra="forbid")

    organisation_id: uuid.UUID | None = None
    status: list[Status] = Field(default_factory=list)
    deadline_from: date | None = None
    deadline_to: date | None = None
    house: uuid.UUID | None = None
    request_number: str | None = None
    q: str | None = None
    at_risk: bool | None = None
    overdue: bool | None = None
    match_quality: MatchQuality | None = None
    answer: AnswerKind | None = Field(None, description="none (no answer drafted), no_debt or has_debt")
    answer_source: AnswerSource | None = None


class NoDebtRequest(BaseModel):
    """Answer 'no debt' to a selection of ids or to every answerable request matching a filter."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"ids": ["3fa85f64-5717-4562-b3fc-2c963f66afa6"]},
                {
                    "filter": {
                        "organisation_id": "3fa85f64-5717-4562-b3fc-2c963f66afa6",
                        "status": ["received"],
                    }
                },
            ]
        },
    )

    ids: list[uuid.UUID] | None = Field(None, max_length=MAX_FILTER_NO_DEBT)
    filter: FilterBody | None = None
    description: Description | None = None
    overwrite: bool = Field(
        False,
        description="replace answers already drafted (only with `ids`; without it they are skipped and "
        "reported)",
    )

    @model_validator(mode="after")
    def _one_selector(self) -> NoDebtRequest:
        if (self.ids is None) == (self.filter is None):
            raise ValueError("give exactly one of `ids` or `filter`")
        return self


class SkippedRead(BaseModel):
    """A request a bulk action left alone, and why."""

    id: uuid.UUID
    rule: str = Field(description="answer_drafted, request_sent, request_archived, request_in_flight, …")
    message: str


class NoDebtResult(BaseModel):
    """How many requests got a 'no debt' draft, and which were left alone and why."""

    prepared: int
    skipped: int = Field(
        description="requests left alone: a drafted answer (never overwritten without `overwrite` and ids), "
        "or a request that cannot take an answer (sent, archived, in flight)"
    )
    ids: list[uuid.UUID]
    skipped_items: list[SkippedRead] = Field(description="every skipped request with the rule that kept it")


class RevokeRequest(BaseModel):
    """Why the answer is withdrawn (kept in the history)."""

    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(None, max_length=500)


class ArchiveRequest(BaseModel):
    """Why the request is archived by hand."""

    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(None, max_length=500)
    version: int | None = None


class NsiRegistry(IntEnum):
    """The classifiers the answers use."""

    IDENTITY_DOCUMENTS = 95
    DEBT_DOCUMENTS = 358


class NsiElementRead(BaseModel):
    """A classifier element as loaded from GIS."""

    model_config = ConfigDict(from_attributes=True)

    code: str
    guid: uuid.UUID
    name: str | None
    is_actual: bool
    loaded_at: datetime


class NsiPage(BaseModel):
    """A classifier (NSI 95 identity documents, NSI 358 debt documents) as loaded from GIS."""

    registry_number: int
    items: list[NsiElementRead]


class DeletedRead(BaseModel):
    """How many archived requests were deleted."""

    deleted: int


# ------------------------------------------------------------------------------------------------ mapping


def _rules(settings: Any) -> CalendarRules:
    return service.calendar_rules(settings)


def answer_summary(answer: DebtAnswer | None) -> AnswerSummaryRead | None:
    """Summarise an answer for lists (counts only: no personal data)."""
    if answer is None:
        return None
    files = set(answer.additional_document_ids)
    for p in answer.defendants:
        files.update(p.get("document_ids", []))
    return AnswerSummaryRead(
        has_debt=answer.has_debt,
        defendants=len(answer.defendants),
        debt_guids=len(answer.debt_guids),
        files=len(files),
        source=answer.source,
        prepared_by=answer.prepared_by,
        prepared_at=answer.updated_at,
    )


def _request_fields(
    sub: DebtSubrequest, rules: CalendarRules, on: date, answer: DebtAnswer | None = None
) -> dict[str, Any]:
    flags = deadline_flags(on, sub.response_date, rules)
    waiting = sub.status in OPEN
    return {
        "id": sub.id,
        "organisation_id": sub.organisation_id,
        "subrequest_guid": sub.subrequest_guid,
        "request_guid": sub.request_guid,
        "request_number": sub.request_number,
        "sender_org_name": sub.sender_org_name,
        "sender_org_guid": sub.sender_org_guid,
        "address": sub.address,
        "premises": sub.premises,
        "fias_house_guid": sub.fias_house_guid,
        "house_guid": sub.house_guid,
        "hm_object_guid": sub.hm_object_guid,
        "address_type": sub.address_type,
        "period_from": sub.period_from,
        "period_to": sub.period_to,
        "sent_date": sub.sent_date,
        "status": sub.status,
        "gis_request_status": sub.gis_request_status,
        "gis_response_status": sub.gis_response_status,
        "auto_answered": sub.auto_answered,
        "in_flight": sub.send_batch_id is not None,
        "deadline": DeadlineRead(
            response_date=sub.response_date,
            working_days_left=flags.working_days_left,
            at_risk=waiting and flags.at_risk,
            # An auto-answered request stays flagged overdue: GIS answered because we did not.
            overdue=(waiting and flags.overdue) or sub.auto_answered,
        ),
        "match": MatchRead(
            quality=sub.match_quality,
            account_ids=[uuid.UUID(x) for x in sub.matched_account_ids or []],
            debt_sum=sub.debt_sum,
            debt_months=sub.debt_months,
            matched_at=sub.matched_at,
        ),
        "last_error": ErrorRead(code=sub.last_error_code, text=sub.last_error_text)
        if sub.last_error_code or sub.last_error_text
        else None,
        "sent_at": sub.sent_at,
        "answer_summary": answer_summary(answer),
        "version": sub.version,
        "created_at": sub.created_at,
        "updated_at": sub.updated_at,
    }


def to_read(
    sub: DebtSubrequest, rules: CalendarRules, on: date, answer: DebtAnswer | None = None
) -> DebtRequestRead:
    """Map a subrequest row (and its answer) to its API form."""
    return DebtRequestRead(**_request_fields(sub, rules, on, answer))


def defendant_read(p: dict[str, Any], *, pii: bool) -> DefendantRead:
    """Map a stored defendant, cutting names to initials and withholding identifiers without `pii`."""
    doc = p.get("document")
    ids = [uuid.UUID(x) for x in p.get("document_ids", [])]
    if pii:
        return DefendantRead(
            masked=False,
            last_name=p.get("last_name"),
            first_name=p.get("first_name"),
            middle_name=p.get("middle_name"),
            snils=p.get("snils"),
            document=IdentityDocumentRead(
                type_code=doc.get("type_code"),
                type_name=doc.get("type_name"),
                series=doc.get("series"),
                number=doc.get("number"),
            )
            if doc
            else None,
            document_ids=ids,
        )
    return DefendantRead(
        masked=True,
        last_name=mask(p.get("last_name"), pii=False, form="initial"),
        first_name=mask(p.get("first_name"), pii=False, form="initial"),
        middle_name=mask(p.get("middle_name"), pii=False, form="initial"),
        snils=mask(p.get("snils"), pii=False),
        document=IdentityDocumentRead(
            type_code=doc.get("type_code"),
            type_name=doc.get("type_name"),
            series=mask(doc.get("series"), pii=False),
            number=mask(doc.get("number"), pii=False),
        )
        if doc
        else None,
        document_ids=ids,
    )


def answer_read(answer: DebtAnswer, *, pii: bool) -> AnswerRead:
    """Map an answer row (personal data masked without `pii`)."""
    return AnswerRead(
        has_debt=answer.has_debt,
        description=answer.description,
        executor_guid=answer.executor_guid,
        defendants=[defendant_read(p, pii=pii) for p in answer.defendants],
        debt_guids=[uuid.UUID(x) for x in answer.debt_guids],
        additional_document_ids=[uuid.UUID(x) for x in answer.additional_document_ids],
        source=answer.source,
        prepared_by=answer.prepared_by,
        updated_at=answer.updated_at,
    )


def _detail(
    sub: DebtSubrequest,
    answer: DebtAnswer | None,
    documents: list[DebtDocument],
    history: list[DebtRequestHistory],
    *,
    rules: CalendarRules,
    principal: Principal,
) -> DebtRequestDetail:
    return DebtRequestDetail(
        **_request_fields(sub, rules, moscow_today(), answer),
        answer=answer_read(answer, pii=principal.can_see_pii) if answer is not None else None,
        documents=[DocumentRead.model_validate(doc) for doc in documents],
        history=[HistoryRead.model_validate(h) for h in history],
    )


def _answer_input(body: AnswerWrite) -> service.AnswerInput:
    return service.AnswerInput(
        has_debt=body.has_debt,
        description=body.description,
        defendants=tuple(
            service.DefendantInput(
                last_name=p.last_name,
                first_name=p.first_name,
                middle_name=p.middle_name,
                snils=p.snils,
                document=service.IdentityDocumentInput(
                    type_code=p.document.type_code, number=p.document.number, series=p.document.series
                )
                if p.document
                else None,
                document_ids=tuple(p.document_ids),
            )
            for p in body.defendants
        ),
        debt_guids=tuple(body.debt_guids),
        additional_document_ids=tuple(body.additional_document_ids),
    )


def _filter(f: FilterBody) -> service.DebtRequestFilter:
    return service.DebtRequestFilter(
        organisation_id=f.organisation_id,
        statuses=tuple(f.status),
        deadline_from=f.deadline_from,
        deadline_to=f.deadline_to,
        house=f.house,
        request_number=f.request_number,
        q=f.q,
        at_risk=f.at_risk,
        overdue=f.overdue,
        match_quality=f.match_quality,
        answer=f.answer,
        answer_source=f.answer_source,
    )


async def _load_detail(
    session: Any, principal: Principal, subrequest_id: uuid.UUID, settings: Any
) -> DebtRequestDetail:
    detail = await service.get_detail(session=session, principal=principal, subrequest_id=subrequest_id)
    return _detail(
        detail.request,
        detail.answer,
        list(detail.documents),
        list(detail.history),
        rules=_rules(settings),
        principal=principal,
    )


# ------------------------------------------------------------------------------------------------- routes


@router.get(
    "/debt-requests",
    response_model=DebtRequestsPage,
    status_code=200,
    responses=error_responses(401, 403, 404, 422),
)
async def list_debt_requests(
    session: SessionDep,
    principal: Reader,
    settings: SettingsDep,
    organisation_id: Annotated[uuid.UUID | None, Query(description="one organisation")] = None,
    status: Annotated[list[Status] | None, Query(description="local statuses (repeat the parameter)")] = None,
    deadline_from: Annotated[date | None, Query(description="responseDate on or after")] = None,
    deadline_to: Annotated[date | None, Query(description="responseDate on or before")] = None,
    house: Annotated[
        uuid.UUID | None, Query(description="FIAS house GUID or GIS house/HM object GUID")
    ] = None,
    request_number: Annotated[str | None, Query(max_length=30)] = None,
    q: Annotated[
        str | None, Query(max_length=200, description="text in the address, number or sender")
    ] = None,
    at_risk: Annotated[bool | None, Query(description="≤ 1 working day left, unanswered")] = None,
    overdue: Annotated[bool | None, Query(description="deadline passed, unanswered")] = None,
    match_quality: Annotated[MatchQuality | None, Query(description="how the address was matched")] = None,
    answer: Annotated[
        AnswerKind | None, Query(description="none (no answer drafted), no_debt or has_debt")
    ] = None,
    answer_source: Annotated[AnswerSource | None, Query(description="who drafted the answer")] = None,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
) -> DebtRequestsPage:
    """List debt requests by deadline with filters and keyset pagination (scope `read`)."""
    rules = _rules(settings)
    filters = service.DebtRequestFilter(
        organisation_id=organisation_id,
        statuses=tuple(status or ()),
        deadline_from=deadline_from,
        deadline_to=deadline_to,
        house=house,
        request_number=request_number,
        q=q,
        at_risk=at_risk,
        overdue=overdue,
        match_quality=match_quality,
        answer=answer,
        answer_source=answer_source,
    )
    rows, next_cursor = await service.list_requests(
        session=session, principal=principal, filters=filters, rules=rules, cursor=cursor, limit=limit
    )
    answers = await service.answers_for([r.id for r in rows], session=session)
    on = moscow_today()
    return DebtRequestsPage(
        items=[to_read(r, rules, on, answers.get(r.id)) for r in rows], next_cursor=next_cursor
    )


@router.get(
    "/debt-requests/{debt_request_id}",
    response_model=DebtRequestDetail,
    status_code=200,
    responses=error_responses(401, 403, 404),
)
async def get_debt_request(
    debt_request_id: RequestId, session: SessionDep, principal: Reader, settings: SettingsDep
) -> DebtRequestDetail:
    """Show one request with its match, deadline, answer, documents and history (scope `read`)."""
    return await _load_detail(session, principal, debt_request_id, settings)


@router.put(
    "/debt-requests/{debt_request_id}/answer",
    response_model=DebtRequestDetail,
    status_code=200,
    responses=error_responses(401, 403, 404, 409, 422),
)
async def put_answer(
    debt_request_id: RequestId,
    body: AnswerWrite,
    session: SessionDep,
    principal: Answerer,
    settings: SettingsDep,
) -> DebtRequestDetail:
    """Draft or replace the answer to a request; it becomes `prepared` (scope `answer`)."""
    await service.set_answer(
        session=session,
        principal=principal,
        settings=settings,
        subrequest_id=debt_request_id,
        data=_answer_input(body),
        expected_version=body.version,
    )
    return await _load_detail(session, principal, debt_request_id, settings)


@router.post(
    "/debt-requests/answers/no-debt",
    response_model=NoDebtResult,
    status_code=200,
    responses=error_responses(401, 403, 404, 409, 422),
)
async def answer_no_debt(
    body: NoDebtRequest, session: SessionDep, principal: Answerer, settings: SettingsDep
) -> NoDebtResult:
    """Draft 'no debt' where no answer is drafted; drafted ones are skipped and listed (scope `answer`)."""
    candidates = None
    if body.filter is not None:
        candidates = await service.matching_requests(
            session=session,
            principal=principal,
            filters=_filter(body.filter),
            rules=_rules(settings),
            limit=MAX_FILTER_NO_DEBT,
        )
    result = await service.answer_no_debt(
        session=session,
        principal=principal,
        ids=body.ids,
        candidates=candidates,
        description=body.description,
        overwrite=body.overwrite,
    )
    return NoDebtResult(
        prepared=result.prepared,
        skipped=result.skipped,
        ids=result.ids,
        skipped_items=[SkippedRead(id=x.id, rule=x.rule, message=x.message) for x in result.skipped_items],
    )


@router.post(
    "/debt-requests/{debt_request_id}/documents",
    response_model=DocumentRead,
    status_code=201,
    responses=error_responses(401, 403, 404, 409, 422),
)
async def upload_document(
    debt_request_id: RequestId,
    session: SessionDep,
    principal: Answerer,
    settings: SettingsDep,
    gis: GisDep,
    file: Annotated[UploadFile, File(description="court act copy, reconciliation act or account statement")],
    type_code: Annotated[NsiCode, Form(description="NSI 358 document type code", examples=["1"])],
    description: Annotated[str | None, Form(max_length=500)] = None,
) -> DocumentRead:
    """Attach a file to a request's answer; it goes to the GIS file store when sent (scope `answer`)."""
    data = await file.read(settings.debt.document_max_bytes + 1)
    doc = await service.add_document(
        session=session,
        principal=principal,
        settings=settings,
        files=gis,
        subrequest_id=debt_request_id,
        nsi_code=type_code,
        file_name=file.filename or "document",
        description=description,
        content_type=file.content_type,
        data=data,
    )
    return DocumentRead.model_validate(doc)


@router.delete(
    "/debt-requests/{debt_request_id}/documents/{document_id}",
    status_code=204,
    responses=error_responses(401, 403, 404, 409),
)
async def delete_document(
    debt_request_id: RequestId,
    document_id: Annotated[uuid.UUID, Path(description="document id")],
    session: SessionDep,
    principal: Answerer,
) -> None:
    """Remove a document the drafted answer does not reference (scope `answer`)."""
    await service.delete_document(
        session=session, principal=principal, subrequest_id=debt_request_id, document_id=document_id
    )


@router.post(
    "/organisations/{organisation_id}/debt-requests/fetch",
    response_model=OperationRead,
    status_code=202,
    responses=error_responses(401, 403, 404, 422, 429),
)
async def fetch_debt_requests(
    organisation_id: OrgId, session: SessionDep, principal: Sender, body: FetchRequest | None = None
) -> OperationRead:
    """Fetch subrequests from GIS (6-month windows, all pages); poll the operation (scope `send`)."""
    body = body or FetchRequest()
    op = await service.queue_fetch(
        session=session,
        principal=principal,
        organisation_id=organisation_id,
        date_from=body.date_from,
        date_to=body.date_to,
        only_unanswered=body.only_unanswered,
        match=body.match.options() if body.match is not None else None,
    )
    return OperationRead.model_validate(op)


@router.post(
    "/organisations/{organisation_id}/debt-requests/match",
    response_model=OperationRead,
    status_code=202,
    responses=error_responses(401, 403, 404, 422, 429),
)
async def match_debt_requests(
    organisation_id: OrgId, session: SessionDep, principal: Answerer, body: MatchRequest | None = None
) -> OperationRead:
    """Match open requests to accounts and draft answers from court-confirmed debts (scope `answer`)."""
    body = body or MatchRequest()
    op = await service.queue_match(
        session=session,
        principal=principal,
        organisation_id=organisation_id,
        subrequest_ids=body.ids,
        prefill=body.prefill,
        options=service.MatchOptions(scope=body.scope, exact_only=body.exact_match),
    )
    return OperationRead.model_validate(op)


@router.post(
    "/organisations/{organisation_id}/debt-requests/send",
    response_model=OperationRead,
    status_code=202,
    responses=error_responses(401, 403, 404, 422, 429),
)
async def send_debt_answers(
    organisation_id: OrgId, session: SessionDep, principal: Sender, body: SendRequest | None = None
) -> OperationRead:
    """Send prepared answers to GIS in messages of at most 100; poll the operation (scope `send`)."""
    body = body or SendRequest()
    await require_organisation(session=session, principal=principal, organisation_id=organisation_id)
    op = await service.queue_send(
        session=session, principal=principal, organisation_id=organisation_id, subrequest_ids=body.ids
    )
    return OperationRead.model_validate(op)


@router.post(
    "/debt-requests/{debt_request_id}/revoke",
    response_model=OperationRead,
    status_code=202,
    responses=error_responses(401, 403, 404, 409, 429),
)
async def revoke_debt_answer(
    debt_request_id: RequestId,
    session: SessionDep,
    principal: Sender,
    settings: SettingsDep,
    body: RevokeRequest | None = None,
) -> OperationRead:
    """Withdraw a sent answer in GIS; poll the operation (scope `send`)."""
    op = await service.queue_revoke(
        session=session,
        principal=principal,
        subrequest_id=debt_request_id,
        revoke_after_deadline=settings.debt.revoke_after_deadline,
        reason=(body.reason if body else None),
    )
    return OperationRead.model_validate(op)


@router.post(
    "/debt-requests/{debt_request_id}/archive",
    response_model=DebtRequestDetail,
    status_code=200,
    responses=error_responses(401, 403, 404, 409),
)
async def archive_debt_request(
    debt_request_id: RequestId,
    session: SessionDep,
    principal: Answerer,
    settings: SettingsDep,
    body: ArchiveRequest | None = None,
) -> DebtRequestDetail:
    """Move a request to the archive by hand; it becomes read-only (scope `answer`)."""
    await service.archive_request(
        session=session,
        principal=principal,
        subrequest_id=debt_request_id,
        reason=body.reason if body else None,
        expected_version=body.version if body else None,
    )
    return await _load_detail(session, principal, debt_request_id, settings)


@router.delete(
    "/organisations/{organisation_id}/debt-requests/archived",
    response_model=DeletedRead,
    status_code=200,
    responses=error_responses(401, 403, 404, 422),
)
async def delete_archived_debt_requests(
    organisation_id: OrgId,
    session: SessionDep,
    principal: Admin,
    deadline_from: Annotated[date, Query(description="responseDate from (inclusive)")],
    deadline_to: Annotated[date, Query(description="responseDate to (inclusive)")],
    confirm: Annotated[str | None, Query(description="must be DELETE: the deletion is irreversible")] = None,
) -> DeletedRead:
    """Delete archived requests whose deadline lies in the period; irreversible, journaled (scope `admin`)."""
    deleted = await service.delete_archived(
        session=session,
        principal=principal,
        organisation_id=organisation_id,
        deadline_from=deadline_from,
        deadline_to=deadline_to,
        confirm=confirm,
    )
    return DeletedRead(deleted=deleted)


@router.get(
    "/nsi/{registry_number}",
    response_model=NsiPage,
    status_code=200,
    responses=error_responses(401, 403, 422),
)
async def list_nsi(
    registry_number: Annotated[
        NsiRegistry, Path(description="95: identity documents, 358: documents proving a debt")
    ],
    session: SessionDep,
    principal: Reader,  # noqa: ARG001 - the scope check
) -> NsiPage:
    """List a classifier the answers use, as last loaded from GIS (scope `read`)."""
    rows = await service.nsi.elements(int(registry_number), session=session)
    return NsiPage(
        registry_number=int(registry_number), items=[NsiElementRead.model_validate(r) for r in rows]
    )


@router.post(
    "/organisations/{organisation_id}/nsi/refresh",
    response_model=OperationRead,
    status_code=202,
    responses=error_responses(401, 403, 404),
)
async def refresh_nsi(organisation_id: OrgId, session: SessionDep, principal: Sender) -> OperationRead:
    """Reload NSI 95 and NSI 358 from GIS as this organisation; poll the operation (scope `send`)."""
    op = await service.queue_nsi_refresh(
        session=session, principal=principal, organisation_id=organisation_id
    )
    return OperationRead.model_validate(op)
