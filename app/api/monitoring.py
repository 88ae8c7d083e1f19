"""Debt monitoring: monthly snapshots (compute, read, trend) and their CSV and XLSX exports.

Long (about 700 lines) because it is one family: snapshots, exports, the municipal report, notices and
restriction share the monitoring schemas.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Path, Query, Response, UploadFile
from pydantic import BaseModel, ConfigDict, Field

from app.api.deps import Answerer, CourtUser, Reader, SessionDep, SettingsDep
from app.api.errors import error_responses
from app.api.operations import OperationRead
from app.db.models.core import Organisation
from app.db.models.monitoring import (
    MonitoringSnapshot,
    MonitoringSnapshotRow,
    Notice,
    NoticeRun,
    RestrictionCase,
)
from app.domain.court.rules import court_rules
from app.domain.kernel import errors as d
from app.domain.kernel.calendar import moscow_today
from app.domain.monitoring import (
    contact_lists,
    documents,
    exclusions,
    exports,
    mail,
    notices,
    report,
    restriction,
    snapshots,
)
from app.settings import Settings

router = APIRouter(prefix="/api/v1", tags=["monitoring"])

SnapshotId = Annotated[uuid.UUID, Path(description="snapshot id")]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class SnapshotRequest(BaseModel):
    """Which organisation and month to compute; a stored snapshot is recomputed only when asked."""

    organisation_id: uuid.UUID
    month: date = Field(description="any day of the month (the snapshot is of its end)")
    recompute: bool = Field(False, description="replace a stored snapshot (journaled, version + 1)")


class Figures(BaseModel):
    """Charged, paid and overdue debt at month end with its ageing (₽), debtors and rates."""

    accounts: int
    debtors: int
    charged: Decimal
    paid: Decimal
    debt: Decimal
    age_1: Decimal = Field(description="≤ 1 month overdue")
    age_2_3: Decimal
    age_4_6: Decimal
    age_7_12: Decimal
    age_13_36: Decimal
    age_over_36: Decimal = Field(description="> 36 months overdue (past limitation)")
    debtor_share: Decimal | None = Field(description="debtors ÷ accounts")
    collection_rate: Decimal | None = Field(description="paid ÷ charged (none without charges)")


class SnapshotRow(Figures):
    """The figures of one house and consumer category."""

    house_id: uuid.UUID
    category: str


class TopDebtor(BaseModel):
    """One of the largest debts (the account number is not personal data)."""

    account_id: uuid.UUID
    account_number: str
    debt: Decimal
    months_overdue: int


class MeasureEffect(BaseModel):
    """Of the debtors a kind of measure reached in the month: who paid within 30 and 90 days, and how much."""

    measure: Literal["notice", "agreement", "court_order"]
    debtors: int = Field(description="debtors reached (a court order over several accounts counts once)")
    amount: Decimal = Field(description="the sums the measures named (notice debt, agreement or order total)")
    paid_any_30: int = Field(description="debtors who paid anything in the first billing month after")
    paid_full_30: int = Field(description="of them, those whose payments reached the measure's sum")
    paid_30: Decimal
    share_paid_30: Decimal | None
    complete_30: bool = Field(description="the ledgers already hold the window's billing months")
    paid_any_90: int = Field(description="debtors who paid anything in the first three billing months after")
    paid_full_90: int
    paid_90: Decimal
    share_paid_90: Decimal | None
    complete_90: bool


class SnapshotRead(BaseModel):
    """A stored monthly snapshot: totals, rows by house and category, top debtors."""

    id: uuid.UUID
    organisation_id: uuid.UUID
    month: date
    version: int
    debtor_min: Decimal
    computed_at: datetime
    totals: Figures
    rows: list[SnapshotRow]
    top_debtors: list[TopDebtor]
    effect: list[MeasureEffect] | None = Field(
        description="the effect of the month's measures (none on snapshots computed before it: recompute)"
    )


class SnapshotAnswer(BaseModel):
    """The snapshot (computed at once for small organisations) or the operation computing it."""

    snapshot: SnapshotRead | None = None
    operation: OperationRead | None = None


class TrendPoint(BaseModel):
    """One month of the trend."""

    snapshot_id: uuid.UUID
    month: date
    version: int
    totals: Figures


def _read(snapshot: MonitoringSnapshot, rows: list[MonitoringSnapshotRow]) -> SnapshotRead:
    totals: dict[str, Any] = dict(snapshot.totals)
    return SnapshotRead(
        id=snapshot.id,
        organisation_id=snapshot.organisation_id,
        month=snapshot.month,
        version=snapshot.version,
        debtor_min=Decimal(totals.pop("debtor_min", "0.01")),
        computed_at=snapshot.updated_at,
        totals=Figures.model_validate(totals),
        rows=[SnapshotRow.model_validate(exports.row_values(r)) for r in rows],
        top_debtors=[TopDebtor.model_validate(t) for t in snapshot.top_debtors],
        effect=None
        if snapshot.effect is None
        else [MeasureEffect.model_validate(e) for e in snapshot.effect],
    )


@router.post(
    "/monitoring/snapshots",
    response_model=SnapshotAnswer,
    status_code=200,
    responses={
        202: {
            "model": SnapshotAnswer,
            "description": "Accepted: a large organisation is computed by an operation",
        },
        **error_responses(401, 403, 404, 409, 422),
    },
)
async def post_snapshot(
    body: SnapshotRequest, response: Response, session: SessionDep, principal: Answerer, settings: SettingsDep
) -> SnapshotAnswer:
    """Compute a month's debt snapshot; 409 when stored and `recompute` is false (scope `answer`)."""
    snapshot, op = await snapshots.request_snapshot(
        session=session,
        principal=principal,
        organisation_id=body.organisation_id,
        month=body.month,
        recompute=body.recompute,
        settings=settings.monitoring,
    )
    await session.flush()
    if op is not None:
        response.status_code = 202
        return SnapshotAnswer(operation=OperationRead.model_validate(op))
    assert snapshot is not None
    await session.refresh(snapshot)
    stored, rows = await snapshots.get_snapshot(session=session, principal=principal, snapshot_id=snapshot.id)
    return SnapshotAnswer(snapshot=_read(stored, rows))


@router.get(
    "/monitoring/snapshots",
    response_model=list[TrendPoint],
    status_code=200,
    responses=error_responses(401, 403, 404, 422),
)
async def get_trend(
    session: SessionDep,
    principal: Reader,
    organisation_id: uuid.UUID,
    months: Annotated[int, Query(ge=1, le=120, description="latest months")] = 36,
) -> list[TrendPoint]:
    """List an organisation's latest monthly snapshots, oldest first: the trend (scope `read`)."""
    found = await snapshots.list_snapshots(
        session=session, principal=principal, organisation_id=organisation_id, months=months
    )
    out = []
    for s in found:
        totals = {k: v for k, v in s.totals.items() if k != "debtor_min"}
        out.append(
            TrendPoint(
                snapshot_id=s.id, month=s.month, version=s.version, totals=Figures.model_validate(totals)
            )
        )
    return out


@router.get(
    "/monitoring/snapshots/{snapshot_id}",
    response_model=SnapshotRead,
    status_code=200,
    responses={
        200: {
            "content": {"text/csv": {}, XLSX: {}},
            "description": "JSON, or CSV / XLSX with `format`",
        },
        **error_responses(401, 403, 404, 422),
    },
)
async def get_snapshot(
    snapshot_id: SnapshotId,
    session: SessionDep,
    principal: Reader,
    format: Annotated[Literal["json", "csv", "xlsx"], Query(description="json, csv or xlsx")] = "json",  # noqa: A002
    table: Annotated[
        Literal["rows", "effect"], Query(description="CSV only: the rows, or the effect of measures")
    ] = "rows",
) -> Any:
    """Show a snapshot: rows, top debtors, effect of measures; as JSON, CSV or XLSX (scope `read`)."""
    snapshot, rows = await snapshots.get_snapshot(
        session=session, principal=principal, snapshot_id=snapshot_id
    )
    name = f"monitoring-{snapshot.month:%Y-%m}"
    if format == "csv":
        if table == "effect":
            name += "-effect"
        return Response(
            (
                exports.effect_csv(snapshot) if table == "effect" else exports.snapshot_csv(snapshot, rows)
            ).encode(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
        )
    if format == "xlsx":
        return Response(
            exports.snapshot_xlsx(snapshot, rows),
            media_type=XLSX,
            headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'},
        )
    return _read(snapshot, rows)


@router.get(
    "/monitoring/report",
    status_code=200,
    response_class=Response,
    responses={
        200: {"content": {XLSX: {}}, "description": "the report as an XLSX workbook"},
        **error_responses(401, 403, 404, 409, 422),
    },
)
async def get_municipal_report(
    session: SessionDep,
    principal: Reader,
    organisation_id: uuid.UUID,
    month: Annotated[date, Query(description="any day of the report's month")],
) -> Response:
    """Download the month's report to the municipality (XLSX); 409 without its snapshot (scope `read`)."""
    data = await report.build_report(
        session=session, principal=principal, organisation_id=organisation_id, month=month
    )
    return Response(
        report.report_xlsx(data),
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="municipal-report-{data.month:%Y-%m}.xlsx"'},
    )


# ----------------------------------------------------------------------------------------- pre-court notices

MAX_JOURNAL_BYTES = 20 * 1024 * 1024


class NoticeRunCreate(BaseModel):
    """Select debtors by the rules and create their notices."""

    model_config = ConfigDict(extra="forbid")

    organisation_id: uuid.UUID
    on_date: date | None = Field(None, description="date of the notices and of the debt (default today)")
    rules: notices.NoticeRules = Field(default_factory=notices.NoticeRules)
    payment_details: notices.PaymentDetails
    templates: contact_lists.NoticeTemplates = Field(
        default_factory=contact_lists.NoticeTemplates,
        description="texts of the run's SMS and e-mail lists and e-mails, with {placeholders}",
    )


class NoticeRead(BaseModel):
    """A notice and its delivery state (no personal data: the account number is not)."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    seq: int
    account_id: uuid.UUID
    account_number: str
    debt: Decimal
    penalties: Decimal
    months_overdue: int
    months: list[dict[str, Any]] = Field(description="unpaid months: period, amount, months_overdue, penalty")
    status: str
    channel: str | None
    sent_on: date | None
    delivered_on: date | None
    returned_on: date | None
    refused_on: date | None
    gis_status: str | None = Field(None, description="state in GIS ZhKKh (see …/notices/{id}/gis)")
    gis_notification_guid: uuid.UUID | None = None


class NoticeRunRead(BaseModel):
    """A selection of debtors with its rules, exclusion counts and notices."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    organisation_id: uuid.UUID
    on_date: date
    rules: dict[str, Any]
    total: int
    excluded: dict[str, int] = Field(
        description="rule → accounts left out (dispute, bankruptcy, agreement, …)"
    )
    status: str = Field(description="pending or running (an operation computes it), done")
    operation_id: uuid.UUID | None = Field(None, description="the operation of a large run")
    contacts: dict[str, int] | None = Field(
        None, description="notices with and without a phone and an e-mail (with_phone, without_phone, …)"
    )
    operation: OperationRead | None = Field(None, description="the operation, when POST queued one (202)")
    notices: list[NoticeRead] = []


class NoticeEventCreate(BaseModel):
    """A fact of delivery: sent, delivered, returned or refused, on a date, by a channel."""

    model_config = ConfigDict(extra="forbid")

    event: notices.Event
    on_date: date
    channel: notices.Channel | None = None


class NoticeEmail(BaseModel):
    """Send the notice PDF by e-mail to this address."""

    model_config = ConfigDict(extra="forbid")

    to: str | None = Field(
        None,
        pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
        max_length=254,
        description="address to send to (default: the account's e-mail from the accounts import)",
    )


class JournalImportRead(BaseModel):
    """What a delivery-journal CSV did: lines applied, and the refused ones with field and rule."""

    applied: int
    rejected: int
    rejected_lines: list[dict[str, Any]]


def _run_read(run: NoticeRun, items: list[Notice]) -> NoticeRunRead:
    out = NoticeRunRead.model_validate(run)
    out.notices = [NoticeRead.model_validate(n) for n in items]
    return out


@router.post(
    "/monitoring/notice-runs",
    response_model=NoticeRunRead,
    status_code=201,
    responses={
        202: {
            "model": NoticeRunRead,
            "description": "Accepted: a large organisation's run is computed by an operation (resumable)",
        },
        **error_responses(401, 403, 404, 422, 429),
    },
)
async def post_notice_run(
    body: NoticeRunCreate,
    response: Response,
    session: SessionDep,
    principal: CourtUser,
    settings: SettingsDep,
) -> NoticeRunRead:
    """Select debtors by rules given as data and create their notices (scope `court`).

    Organisations up to `GISGW_MONITORING_NOTICE_INLINE_LIMIT` accounts: at once (201, with the notices);
    larger: 202 with the pending run and its operation (`GET /api/v1/operations/{id}` shows progress).
    """
    contact_lists.check_sms_length(
        body.templates, body.payment_details, settings.monitoring.notice_sms_max_length, "body.templates.sms"
    )
    run, op = await notices.request_run(
        session=session,
        principal=principal,
        organisation_id=body.organisation_id,
        rules=body.rules,
        payment_details=body.payment_details,
        on_date=body.on_date or moscow_today(),
        penalty_rules=court_rules(settings).penalty,
        templates=body.templates.model_dump(),
        inline_limit=settings.monitoring.notice_inline_limit,
    )
    await session.refresh(run)
    if op is not None:
        response.status_code = 202
        await session.refresh(op)
        out = _run_read(run, [])
        out.operation = OperationRead.model_validate(op)
        return out
    return _run_read(run, await notices.list_notices(session=session, run_id=run.id))


@router.get(
    "/monitoring/notice-runs/{run_id}",
    response_model=NoticeRunRead,
    status_code=200,
    responses=error_responses(401, 403, 404),
)
async def get_notice_run(run_id: uuid.UUID, session: SessionDep, principal: CourtUser) -> NoticeRunRead:
    """Show a notice run with its notices and their delivery state (scope `court`)."""
    run = await notices.get_run(session=session, principal=principal, run_id=run_id)
    return _run_read(run, await notices.list_notices(session=session, run_id=run.id))


async def _documents_of(
    session: SessionDep, run: NoticeRun, items: list[Notice]
) -> tuple[Organisation, dict[Any, notices.Addressee]]:
    org = await session.get(Organisation, run.organisation_id)
    assert org is not None  # the run's foreign key cascades
    return org, dict(await notices.addressees(session, [n.account_id for n in items]))


@router.get(
    "/monitoring/notice-runs/{run_id}/pdf",
    status_code=200,
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}, **error_responses(401, 403, 404)},
)
async def get_notice_run_pdf(
    run_id: uuid.UUID, session: SessionDep, principal: CourtUser, settings: SettingsDep
) -> Response:
    """Download a run's notices in one PDF for printing (scopes `court` and `pii`)."""
    principal.require("pii")
    run = await notices.get_run(session=session, principal=principal, run_id=run_id)
    items = await notices.list_notices(session=session, run_id=run.id)
    org, to = await _documents_of(session, run, items)
    pdf = documents.notices_pdf(
        org=org,
        run=run,
        notices=items,
        addressees=to,
        font=settings.monitoring.notice_font,
        bold_font=settings.monitoring.notice_bold_font,
    )
    return Response(pdf, media_type="application/pdf")


@router.get(
    "/monitoring/notice-runs/{run_id}/register",
    status_code=200,
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}, **error_responses(401, 403, 404)},
)
async def get_notice_register(run_id: uuid.UUID, session: SessionDep, principal: CourtUser) -> Response:
    """Download the run's register for bulk registered mail as CSV (scopes `court` and `pii`)."""
    principal.require("pii")
    run = await notices.get_run(session=session, principal=principal, run_id=run_id)
    items = await notices.list_notices(session=session, run_id=run.id)
    _, to = await _documents_of(session, run, items)
    return Response(
        documents.register_csv(items, to).encode(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="notices-{run.on_date:%Y-%m-%d}.csv"'},
    )


@router.get(
    "/monitoring/notice-runs/{run_id}/sms",
    status_code=200,
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}, **error_responses(401, 403, 404, 409)},
)
async def get_notice_sms_list(
    run_id: uuid.UUID, session: SessionDep, principal: CourtUser, settings: SettingsDep
) -> Response:
    """Download the run's SMS list for a provider: phone and text per notice (scopes `court` and `pii`).

    Notices whose account has no phone are not listed; their number is in `X-Notices-Without-Contact`.
    """
    principal.require("pii")
    run = await notices.get_run(session=session, principal=principal, run_id=run_id)
    items = await notices.list_notices(session=session, run_id=run.id)
    reach = await contact_lists.contacts(session, [n.account_id for n in items])
    text, missing = contact_lists.sms_csv(run, items, reach, settings.monitoring.notice_sms_max_length)
    return Response(
        text.encode(),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="notices-sms-{run.on_date:%Y-%m-%d}.csv"',
            "X-Notices-Without-Contact": str(missing),
        },
    )


@router.get(
    "/monitoring/notice-runs/{run_id}/emails",
    status_code=200,
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}, **error_responses(401, 403, 404, 409)},
)
async def get_notice_email_list(run_id: uuid.UUID, session: SessionDep, principal: CourtUser) -> Response:
    """Download the run's e-mail list for a provider: address, subject, text (scopes `court` and `pii`).

    Notices whose account has no e-mail are not listed; their number is in `X-Notices-Without-Contact`.
    """
    principal.require("pii")
    run = await notices.get_run(session=session, principal=principal, run_id=run_id)
    items = await notices.list_notices(session=session, run_id=run.id)
    _, to = await _documents_of(session, run, items)
    reach = await contact_lists.contacts(session, [n.account_id for n in items])
    text, missing = contact_lists.email_csv(run, items, reach, to)
    return Response(
        text.encode(),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="notices-email-{run.on_date:%Y-%m-%d}.csv"',
            "X-Notices-Without-Contact": str(missing),
        },
    )


async def _one_pdf(session: SessionDep, notice: Notice, settings: Settings) -> bytes:
    run = await session.get(NoticeRun, notice.run_id)
    assert run is not None  # the notice's foreign key cascades
    org, to = await _documents_of(session, run, [notice])
    return documents.notices_pdf(
        org=org,
        run=run,
        notices=[notice],
        addressees=to,
        font=settings.monitoring.notice_font,
        bold_font=settings.monitoring.notice_bold_font,
    )


@router.get(
    "/monitoring/notices/{notice_id}/pdf",
    status_code=200,
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}, **error_responses(401, 403, 404)},
)
async def get_notice_pdf(
    notice_id: uuid.UUID, session: SessionDep, principal: CourtUser, settings: SettingsDep
) -> Response:
    """Download one notice as PDF (scopes `court` and `pii`)."""
    principal.require("pii")
    notice = await notices.get_notice(session=session, principal=principal, notice_id=notice_id)
    return Response(await _one_pdf(session, notice, settings), media_type="application/pdf")


@router.post(
    "/monitoring/notices/{notice_id}/events",
    response_model=NoticeRead,
    status_code=200,
    responses=error_responses(401, 403, 404, 409, 422),
)
async def post_notice_event(
    notice_id: uuid.UUID, body: NoticeEventCreate, session: SessionDep, principal: CourtUser
) -> NoticeRead:
    """Record a delivery fact in the journal: sent, delivered, returned, refused (scope `court`)."""
    notice = await notices.record_event(
        session=session,
        principal=principal,
        notice_id=notice_id,
        event=body.event,
        on_date=body.on_date,
        channel=body.channel,
    )
    return NoticeRead.model_validate(notice)


@router.post(
    "/monitoring/notices/journal",
    response_model=JournalImportRead,
    status_code=200,
    responses=error_responses(401, 403, 413, 422),
)
async def post_notice_journal(
    file: Annotated[UploadFile, File(description="CSV: notice_id, event, on_date, channel")],
    session: SessionDep,
    principal: CourtUser,
) -> JournalImportRead:
    """Import delivery facts from a CSV (the post's receipts); bad lines are listed (scope `court`)."""
    data = await file.read(MAX_JOURNAL_BYTES + 1)
    if len(data) > MAX_JOURNAL_BYTES:
        raise d.RuleViolation(
            "The journal file is larger than 20 MB.",
            errors=[d.FieldProblem("body.file", "max_size", "at most 20 MB")],
            rule="max_size",
        )
    return JournalImportRead.model_validate(
        await notices.import_journal(session=session, principal=principal, data=data)
    )


@router.post(
    "/monitoring/notices/{notice_id}/email",
    response_model=NoticeRead,
    status_code=200,
    responses=error_responses(401, 403, 404, 409, 422, 503),
)
async def post_notice_email(
    notice_id: uuid.UUID, body: NoticeEmail, session: SessionDep, principal: CourtUser, settings: SettingsDep
) -> NoticeRead:
    """E-mail the notice PDF over the configured SMTP server, journaled as sent (scopes `court` and `pii`)."""
    principal.require("pii")
    notice = await notices.get_notice(session=session, principal=principal, notice_id=notice_id)
    if notice.status not in ("created", "returned"):
        raise d.ConflictError(
            f"A {notice.status} notice is not sent again.",
            errors=[d.FieldProblem("path.notice_id", "notice_transition", f"already {notice.status}")],
            rule="notice_transition",
        )
    to = (
        body.to
        or (await contact_lists.contacts(session, [notice.account_id]))
        .get(notice.account_id, contact_lists.Contact(None, None))
        .email
    )
    if not to:
        raise d.RuleViolation(
            "The account has no e-mail; give one in `to`.",
            errors=[d.FieldProblem("body.to", "no_email", "the account has no e-mail address")],
            rule="no_email",
        )
    run = await session.get(NoticeRun, notice.run_id)
    assert run is not None  # the notice's foreign key cascades
    _, addressees = await _documents_of(session, run, [notice])
    subject, text = contact_lists.email_texts(
        run, notice, addressees.get(notice.account_id, notices.Addressee("", ""))
    )
    pdf = await _one_pdf(session, notice, settings)
    await mail.send_notice_email(
        settings=settings.monitoring,
        to=to,
        subject=subject,
        body=text,
        pdf=pdf,
        filename=f"notice-{notice.account_number}.pdf",
    )
    notice = await notices.record_event(
        session=session,
        principal=principal,
        notice_id=notice.id,
        event="sent",
        on_date=moscow_today(),
        channel="email",
        source="email",
    )
    return NoticeRead.model_validate(notice)


# ------------------------------------------------------------------------------- restriction (ПП 354)


class RestrictionOpen(BaseModel):
    """Open restriction timelines for the debtors of one utility above two monthly charges."""

    model_config = ConfigDict(extra="forbid")

    organisation_id: uuid.UUID
    utility: restriction.Utility
    apartment_building: bool = Field(True, description="the premises are in an apartment building (МКД)")
    on_date: date | None = Field(None, description="date of the debt (default today)")
    standard_charges: (
        dict[uuid.UUID, Annotated[Decimal, Field(gt=0, max_digits=14, decimal_places=2)]] | None
    ) = Field(None, description="account id → standard consumption × tariff (method `standard`)")


class RestrictionCaseRead(BaseModel):
    """A restriction timeline with its computed dates and next step."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    organisation_id: uuid.UUID
    account_id: uuid.UUID
    account_number: str
    utility: str
    apartment_building: bool
    debt: Decimal
    monthly_charge: Decimal
    charge_method: str = Field(description="standard, or average_N_months_approximation")
    status: str
    warning_notice_id: uuid.UUID | None
    warning_delivered_on: date | None
    restriction_allowed_from: date | None
    restricted_on: date | None
    restriction_impossible: bool
    suspension_allowed_from: date | None
    suspension_notice_delivered_on: date | None
    suspended_on: date | None
    debt_paid_on: date | None
    resume_by: date | None
    resumed_on: date | None
    stopped_reason: str | None
    next_step: str | None = None
    next_step_from: date | None = None
    events: list[dict[str, Any]] = []


class RestrictionOpened(BaseModel):
    """The timelines opened and the candidates left out, by rule."""

    opened: list[RestrictionCaseRead]
    left_out: dict[str, int]


class RestrictionEventCreate(BaseModel):
    """A recorded fact of the timeline; a warning may name its delivered notice (the delivery date counts)."""

    model_config = ConfigDict(extra="forbid")

    event: restriction.Event
    on_date: date | None = None
    notice_id: uuid.UUID | None = None


async def _case_read(session: SessionDep, case: RestrictionCase, settings: Settings) -> RestrictionCaseRead:
    out = RestrictionCaseRead.model_validate(case)
    out.next_step, out.next_step_from = restriction.next_step(
        case, notice_days=settings.monitoring.restriction_suspension_notice_days
    )
    out.events = [
        {"event": e.event, "on_date": e.on_date.isoformat(), "details": e.details}
        for e in await restriction.list_events(session=session, case_id=case.id)
    ]
    return out


@router.post(
    "/monitoring/restriction-cases",
    response_model=RestrictionOpened,
    status_code=201,
    responses=error_responses(401, 403, 404, 422),
)
async def post_restriction_cases(
    body: RestrictionOpen, session: SessionDep, principal: CourtUser, settings: SettingsDep
) -> RestrictionOpened:
    """Open ПП 354 timelines for debtors above two monthly charges, not under agreement (scope `court`)."""
    on_date = body.on_date or moscow_today()
    opened, left_out = await restriction.open_cases(
        session=session,
        principal=principal,
        organisation_id=body.organisation_id,
        utility=body.utility,
        apartment_building=body.apartment_building,
        on_date=on_date,
        settings=settings.monitoring,
        standard_charges=body.standard_charges,
        excluded_account_ids=await exclusions.kept_agreement_accounts(session, body.organisation_id, on_date),
        written_off=await exclusions.written_off_months(session, body.organisation_id),
    )
    return RestrictionOpened(
        opened=[await _case_read(session, c, settings) for c in opened], left_out=left_out
    )


@router.get(
    "/monitoring/restriction-cases/{case_id}",
    response_model=RestrictionCaseRead,
    status_code=200,
    responses=error_responses(401, 403, 404),
)
async def get_restriction_case(
    case_id: uuid.UUID, session: SessionDep, principal: CourtUser, settings: SettingsDep
) -> RestrictionCaseRead:
    """Show a restriction timeline with its dates, next step and journal (scope `court`)."""
    case = await restriction.get_case(session=session, principal=principal, case_id=case_id)
    return await _case_read(session, case, settings)


@router.post(
    "/monitoring/restriction-cases/{case_id}/events",
    response_model=RestrictionCaseRead,
    status_code=200,
    responses=error_responses(401, 403, 404, 409, 422),
)
async def post_restriction_event(
    case_id: uuid.UUID,
    body: RestrictionEventCreate,
    session: SessionDep,
    principal: CourtUser,
    settings: SettingsDep,
) -> RestrictionCaseRead:
    """Record a fact of the timeline; steps out of order or too early answer 409 (scope `court`)."""
    case = await restriction.record_event(
        session=session,
        principal=principal,
        case_id=case_id,
        event=body.event,
        on_date=body.on_date,
        settings=settings.monitoring,
        notice_id=body.notice_id,
    )
    return await _case_read(session, case, settings)
