"""Shared pieces of the debt-request workflow: statuses, history, the GIS port, loading helpers."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.base import utcnow
from app.db.models.debt_requests import (
    ARCHIVED,
    PREPARED,
    RECEIVED,
    REVOKED,
    SENT,
    DebtRequestHistory,
    DebtSubrequest,
)
from app.domain.kernel import errors as d
from app.domain.kernel.access import Principal
from app.domain.kernel.gis_port import DebtRequestsGis, FileStoreGis, NsiGis
from app.domain.kernel.rules import CalendarRules
from app.settings import Settings

__all__ = [
    "ANSWERABLE",
    "ARCHIVED",
    "OPEN",
    "PREPARED",
    "RECEIVED",
    "REVOKED",
    "SENT",
    "FILE_CONTEXT",
    "REF_KIND",
    "DsrGateway",
    "RequestState",
    "HistoryRow",
    "add_history",
    "calendar_rules",
    "chunks",
    "get_subrequest_or_raise",
]

#: Statuses in which an answer may be drafted or replaced.
ANSWERABLE = (RECEIVED, PREPARED, REVOKED)
#: Statuses still waiting for our answer (deadline flags apply).
OPEN = (RECEIVED, PREPARED, REVOKED)


#: ref_kind of the exchanges that carry debt answers (Send/Revoke batches); its completion hook applies them.
REF_KIND = "debt-batch"
#: File-store context of debt-request answer documents.
FILE_CONTEXT = "debtreq"


class DsrGateway(DebtRequestsGis, NsiGis, FileStoreGis, Protocol):
    """The slice of the GIS port the debt-request workflow uses (the running GisClient, or a test's fake)."""


def chunks(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    """Split a sequence into slices of at most `size` (IN-lists and GIS message limits)."""
    return [items[i : i + size] for i in range(0, len(items), size)]


def calendar_rules(settings: Settings) -> CalendarRules:
    """Build the production-calendar rules from the settings' override table."""
    return CalendarRules(overrides=settings.calendar.overrides)


HistoryRow = dict[str, Any]


def history_row(
    subrequest_id: uuid.UUID,
    *,
    actor: str,
    from_status: str | None,
    to_status: str,
    reason: str | None = None,
    exchange_id: uuid.UUID | None = None,
    at: datetime | None = None,
) -> HistoryRow:
    """Return one history row for a bulk insert."""
    return {
        "subrequest_id": subrequest_id,
        "at": at or utcnow(),
        "actor": actor,
        "from_status": from_status,
        "to_status": to_status,
        "reason": reason[:500] if reason else None,
        "exchange_id": exchange_id,
    }


async def add_history(rows: Iterable[HistoryRow], *, session: AsyncSession) -> None:
    """Insert history rows in one statement."""
    batch = list(rows)
    if batch:
        await session.execute(insert(DebtRequestHistory), batch)


async def set_status(
    sub: DebtSubrequest, to_status: str, *, session: AsyncSession, actor: str, reason: str
) -> str:
    """Move one request to `to_status`, record the transition in its history; return the previous status."""
    previous = sub.status
    sub.status = to_status
    await session.flush()
    await add_history(
        [history_row(sub.id, actor=actor, from_status=previous, to_status=to_status, reason=reason)],
        session=session,
    )
    return previous


async def get_subrequest_or_raise(
    principal: Principal, subrequest_id: uuid.UUID, *, session: AsyncSession, for_update: bool = False
) -> DebtSubrequest:
    """Load a subrequest of an organisation the caller may see, or raise NotFound."""
    stmt = select(DebtSubrequest).where(DebtSubrequest.id == subrequest_id)
    if for_update and session.bind is not None and session.bind.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    sub = await session.scalar(stmt)
    if sub is None or not principal.may_access(sub.organisation_id):
        raise d.NotFoundError(f"Debt request {subrequest_id} not found.", rule="debt_request_exists")
    return sub


def check_version(sub: DebtSubrequest, expected: int | None) -> None:
    """Raise Conflict when the client edited an older version of the request (optimistic concurrency)."""
    if expected is not None and expected != sub.version:
        raise d.ConflictError(
            f"Debt request {sub.id} was changed by someone else (version {sub.version}, you sent {expected});"
            " "
            "reload it and try again.",
            rule="version_mismatch",
            errors=[d.FieldProblem("version", "version_mismatch", "stale version")],
        )


@dataclass(frozen=True, slots=True)
class RequestState:
    """The workflow columns of a request that a mass action checks (read without an ORM object)."""

    id: uuid.UUID
    organisation_id: uuid.UUID
    status: str
    send_batch_id: uuid.UUID | None


REQUEST_STATE_COLUMNS = (
    DebtSubrequest.id,
    DebtSubrequest.organisation_id,
    DebtSubrequest.status,
    DebtSubrequest.send_batch_id,
)
