"""The GIS exchange journal: exchanges, their envelopes' metadata and (with `pii`) the XML itself."""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from app.api.deps import MAX_SERIAL_ID, Admin, SessionDep
from app.api.errors import error_responses
from app.domain.exchanges import journal
from app.domain.kernel import errors as d

router = APIRouter(prefix="/api/v1", tags=["exchanges"])


class JournalEntryRead(BaseModel):
    """Metadata of one envelope sent to or received from GIS (the XML needs scope `pii`)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    direction: str = Field(description="out (sent to GIS) or in (received)")
    operation: str
    message_guid: str | None
    http_status: int | None
    duration_ms: int | None
    size_bytes: int
    truncated: bool = Field(description="the stored XML was cut to GISGW_JOURNAL_MAX_BYTES")
    error: str | None
    at: datetime


class ExchangeRead(BaseModel):
    """One GIS exchange: request → Ack → getState polls → result."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    organisation_id: uuid.UUID
    service: str
    operation: str
    status: str = Field(description="pending, sending, acked, done, failed or uncertain")
    ref_kind: str | None
    ref_id: str | None
    attempts: int
    poll_count: int
    requester_message_guid: uuid.UUID | None
    gis_message_guid: uuid.UUID | None
    error_code: str | None
    error_message: str | None
    next_at: datetime | None
    created_at: datetime
    acked_at: datetime | None
    finished_at: datetime | None


class ExchangeDetail(ExchangeRead):
    """An exchange with its journal entries (and the parsed result for keys with scope `pii`)."""

    journal: list[JournalEntryRead]
    result: dict[str, Any] | None = Field(None, description="parsed result; only shown with scope `pii`")


class ExchangesPage(BaseModel):
    """A page of exchanges, newest first."""

    items: list[ExchangeRead]
    next_cursor: str | None = Field(None, description="pass as `cursor` to get the next page")


def _encode_cursor(at: datetime, exchange_id: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(f"{at.isoformat()}|{exchange_id}".encode()).decode()


def _decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        at, _, raw_id = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
        return datetime.fromisoformat(at), uuid.UUID(raw_id)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise d.RuleViolation(
            "The cursor is not valid.",
            errors=[d.FieldProblem("query.cursor", "cursor", "use next_cursor of a previous page")],
        ) from None


@router.get(
    "/exchanges", response_model=ExchangesPage, status_code=200, responses=error_responses(401, 403, 404, 422)
)
async def list_exchanges(
    session: SessionDep,
    principal: Admin,
    organisation_id: uuid.UUID | None = None,
    operation: str | None = None,
    status: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> ExchangesPage:
    """List GIS exchanges, newest first, by organisation, operation, status and time (scope `admin`)."""
    rows = await journal.list_exchanges(
        session,
        organisation_ids=principal.visible_orgs(organisation_id),
        operation=operation,
        status=status,
        since=since,
        until=until,
        after=_decode_cursor(cursor) if cursor else None,
        limit=limit + 1,
    )
    items = [ExchangeRead.model_validate(r) for r in rows[:limit]]
    next_cursor = (
        _encode_cursor(rows[limit - 1].created_at, rows[limit - 1].id) if len(rows) > limit else None
    )
    return ExchangesPage(items=items, next_cursor=next_cursor)


@router.get(
    "/exchanges/{exchange_id}",
    response_model=ExchangeDetail,
    status_code=200,
    responses=error_responses(401, 403, 404),
)
async def get_exchange(exchange_id: uuid.UUID, session: SessionDep, principal: Admin) -> ExchangeDetail:
    """Show one GIS exchange with the metadata of every envelope (scope `admin`; result needs `pii`)."""
    row = await journal.get_exchange_or_raise(session, exchange_id, principal=principal)
    entries = await journal.entries_of(session, row.id)
    return ExchangeDetail.model_validate(
        {
            **ExchangeRead.model_validate(row).model_dump(),
            "journal": [JournalEntryRead.model_validate(e) for e in entries],
            "result": row.result if principal.can_see_pii else None,
        }
    )


@router.get(
    "/exchanges/{exchange_id}/journal/{entry_id}/xml",
    response_class=Response,
    status_code=200,
    responses={
        200: {"content": {"application/xml": {}}, "description": "The envelope as stored"},
        **error_responses(401, 403, 404),
    },
)
async def get_journal_xml(
    exchange_id: uuid.UUID,
    entry_id: Annotated[int, Path(ge=1, le=MAX_SERIAL_ID)],
    session: SessionDep,
    principal: Admin,
) -> Response:
    """Return the stored XML of one envelope; it holds personal data (scopes `admin` and `pii`)."""
    principal.require("pii")
    await journal.get_exchange_or_raise(session, exchange_id, principal=principal)
    entry = await journal.get_entry(session, exchange_id, entry_id)
    if entry is None or entry.xml is None:
        raise d.NotFoundError(f"Journal entry {entry_id} of exchange {exchange_id} has no stored XML.")
    return Response(
        content=entry.xml.encode("utf-8"),
        media_type="application/xml",
        headers={"X-Journal-Truncated": "true" if entry.truncated else "false", "Cache-Control": "no-store"},
    )
