"""Shared pieces of the debt-request workflow: statuses, history, the GIS port, loading helpers."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any, Protocol

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.base import utcnow
from app.db.models.core import Organisation
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
from app.domain.kernel.calendar import moscow_today
from app.domain.kernel.rules import CalendarRules
from app.gis_client.messages import DSRAction, DSRExportPage, ExportDSRsQuery, NsiItem
from app.settings import Settings

__all__ = [
    "ANSWERABLE",
    "ARCHIVED",
    "OPEN",
    "PREPARED",
    "RECEIVED",
    "REVOKED",
    "SENT",
    "DsrGateway",
    "HistoryRow",
    "add_history",
    "calendar_rules",
    "chunks",
    "get_subrequest_or_raise",
    "require_organisation",
    "today",
]

#: Statuses in which an answer may be drafted or replaced.
ANSWERABLE = (RECEIVED, PREPARED, REVOKED)
#: Statuses still waiting for our answer (deadline flags apply).
OPEN = (RECEIVED, PREPARED, REVOKED)


class DsrGateway(Protocol):
    """What the debt-request workflow needs from GIS (implemented over the exchange engine)."""

    async def export_subrequests(
        self, *, organisation: Organisation, query: ExportDSRsQuery
    ) -> DSRExportPage:
        """Run one exportDSRs call to completion and return its page."""
        ...

    async def submit_responses(
        self,
        session: AsyncSession,
        *,
        organisation: Organisation,
        actions: Sequence[DSRAction],
        batch_id: uuid.UUID,
    ) -> uuid.UUID | None:
        """Queue a durable importResponses exchange in the caller's transaction; return its id."""
        ...

    async def upload_file(self, *, organisation: Organisation, file_name: str, data: bytes) -> str:
        """Upload a file to the file store (context debtreq); return its AttachmentGUID."""
        ...

    def attachment_hash(self, data: bytes) -> str:
        """Return the AttachmentHASH (GOST R 34.11-94, lower-case hex) of a file."""
        ...

    async def export_nsi_item(self, *, organisation: Organisation, registry_number: int) -> NsiItem | None:
        """Run nsi-common exportNsiItem for one classifier (None: GIS holds nothing for it)."""
        ...


def chunks(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    """Split a sequence into slices of at most `size` (IN-lists and GIS message limits)."""
    return [items[i : i + size] for i in range(0, len(items), size)]


def today() -> date:
    """Return today's date in Moscow, where GIS deadlines are counted."""
    # responseDate is a calendar date in GIS (Moscow time); UTC would flip the day three hours early.
    return moscow_today()


def calendar_rules(settings: Settings) -> CalendarRules:
    """Build the production-calendar rules from the settings' override table."""
    return CalendarRules(overrides=settings.calendar_overrides)


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


async def add_history(session: AsyncSession, rows: Iterable[HistoryRow]) -> None:
    """Insert history rows in one statement."""
    batch = list(rows)
    if batch:
        await session.execute(insert(DebtRequestHistory), batch)


async def set_status(
    session: AsyncSession, sub: DebtSubrequest, to_status: str, *, actor: str, reason: str
) -> str:
    """Move one request to `to_status`, record the transition in its history; return the previous status."""
    previous = sub.status
    sub.status = to_status
    await session.flush()
    await add_history(
        session, [history_row(sub.id, actor=actor, from_status=previous, to_status=to_status, reason=reason)]
    )
    return previous


async def require_organisation(
    session: AsyncSession, principal: Principal, organisation_id: uuid.UUID
) -> Organisation:
    """Load an organisation the caller may act for (404 otherwise, also for unknown ones)."""
    principal.require_org(organisation_id)
    org = await session.get(Organisation, organisation_id)
    if org is None:
        raise d.NotFoundError(
            f"Organisation {organisation_id} not found.",
            rule="organisation_exists",
            errors=[d.FieldProblem("organisation_id", "organisation_exists", "unknown organisation")],
        )
    return org


async def get_subrequest_or_raise(
    session: AsyncSession, principal: Principal, subrequest_id: uuid.UUID, *, for_update: bool = False
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
