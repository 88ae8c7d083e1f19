"""Pre-court notices through GIS ZhKKh: send a run's notices as news to the consumers' GIS accounts, recall
them, and read each notice's GIS actions (docs/monitoring.md)."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from app.api.deps import CourtUser, SessionDep
from app.api.errors import error_responses
from app.api.operations import OperationRead
from app.domain.monitoring import gis_notices, notices

router = APIRouter(prefix="/api/v1", tags=["monitoring"])


class NoticeGisSend(BaseModel):
    """Send a run's notices through GIS; the text may be a template of its own."""

    model_config = ConfigDict(extra="forbid")

    template: str | None = Field(
        None,
        min_length=1,
        max_length=gis_notices.MAX_TEXT,
        description="news text with placeholders {account_number}, {on_date}, {debt}, {penalties}, "
        "{months_overdue}, {payee}, {inn}, {account}, {bank}, {bik} (default: the standard debt notice)",
    )


class NoticeGisRecall(BaseModel):
    """Recall notices shipped through GIS (RecallNotification)."""

    model_config = ConfigDict(extra="forbid")

    notice_ids: list[uuid.UUID] = Field(min_length=1, max_length=10_000)
    reason: str | None = Field(None, min_length=1, max_length=1000, description="shown to the consumer")


class NoticeGisAction(BaseModel):
    """One action of a notice in an importNotificationData message, with GIS's result."""

    model_config = ConfigDict(from_attributes=True)

    transport_guid: uuid.UUID = Field(validation_alias="id")
    phase: str = Field(description="create (draft), ship (IsShipOff) or recall (RecallNotification)")
    result: str = Field(description="pending, ok, error or uncertain (sent again)")
    notification_guid: uuid.UUID | None
    error_code: str | None
    error_text: str | None
    exchange_id: uuid.UUID | None
    created_at: datetime
    finished_at: datetime | None


class NoticeGisRead(BaseModel):
    """A notice's state in GIS ZhKKh and its actions."""

    notice_id: uuid.UUID
    gis_status: str | None = Field(
        description="None (not sent there), drafting, drafted, shipping, shipped, recalling, recalled, error"
    )
    notification_guid: uuid.UUID | None
    gis_error: str | None
    shipped_on: date | None
    recalled_on: date | None
    actions: list[NoticeGisAction]


@router.post(
    "/monitoring/notice-runs/{run_id}/gis",
    response_model=OperationRead,
    status_code=202,
    responses=error_responses(401, 403, 404, 409, 422, 429),
)
async def post_notice_run_gis(
    run_id: uuid.UUID, session: SessionDep, principal: CourtUser, body: NoticeGisSend | None = None
) -> OperationRead:
    """Send a run's notices as news to the consumers' GIS accounts; poll the operation (scope `court`)."""
    op = await gis_notices.queue_send(
        session=session, principal=principal, run_id=run_id, template=(body or NoticeGisSend()).template
    )
    return OperationRead.model_validate(op)


@router.post(
    "/monitoring/notices/gis-recall",
    response_model=OperationRead,
    status_code=202,
    responses=error_responses(401, 403, 404, 422, 429),
)
async def post_notices_gis_recall(
    body: NoticeGisRecall, session: SessionDep, principal: CourtUser
) -> OperationRead:
    """Recall notices shipped through GIS; poll the operation (scope `court`)."""
    op = await gis_notices.queue_recall(
        session=session, principal=principal, notice_ids=body.notice_ids, reason=body.reason
    )
    return OperationRead.model_validate(op)


@router.get(
    "/monitoring/notices/{notice_id}/gis",
    response_model=NoticeGisRead,
    status_code=200,
    responses=error_responses(401, 403, 404),
)
async def get_notice_gis(notice_id: uuid.UUID, session: SessionDep, principal: CourtUser) -> NoticeGisRead:
    """Show a notice's GIS state, NotificationGUID and per-action results (scope `court`)."""
    notice = await notices.get_notice(session=session, principal=principal, notice_id=notice_id)
    items = await gis_notices.gis_items(session=session, notice_id=notice.id)
    return NoticeGisRead(
        notice_id=notice.id,
        gis_status=notice.gis_status,
        notification_guid=notice.gis_notification_guid,
        gis_error=notice.gis_error,
        shipped_on=notice.gis_shipped_on,
        recalled_on=notice.gis_recalled_on,
        actions=[NoticeGisAction.model_validate(i) for i in items],
    )
