"""Archive maintenance: move a request to the archive; delete archived requests by deadline period."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models.debt_requests import DebtSubrequest
from app.domain.debt_requests.common import (
    ARCHIVED,
    check_version,
    get_subrequest_or_raise,
    set_status,
)
from app.domain.kernel import audit
from app.domain.kernel import errors as d
from app.domain.kernel.access import Principal, require_organisation

CONFIRM_WORD = "DELETE"


async def archive(
    *,
    session: AsyncSession,
    principal: Principal,
    subrequest_id: uuid.UUID,
    reason: str | None = None,
    expected_version: int | None = None,
) -> DebtSubrequest:
    """Move a request to the archive by hand (it becomes read-only)."""
    sub = await get_subrequest_or_raise(principal, subrequest_id, session=session, for_update=True)
    check_version(sub, expected_version)
    if sub.status == ARCHIVED:
        raise d.ConflictError(
            f"Debt request {sub.id} is archived already.",
            rule="request_archived",
            errors=[d.FieldProblem("debt_request_id", "request_archived", "already archived")],
        )
    if sub.send_batch_id is not None:
        raise d.ConflictError(
            f"Debt request {sub.id} is being sent to GIS right now; archive it afterwards.",
            rule="request_in_flight",
            errors=[d.FieldProblem("debt_request_id", "request_in_flight", "exchange in progress")],
        )
    previous = await set_status(
        sub, ARCHIVED, session=session, actor=principal.actor, reason=reason or "archived by hand"
    )
    await audit.record(
        session=session,
        principal=principal,
        action="debt_request.archive",
        resource_type="debt_request",
        resource_id=sub.id,
        organisation_id=sub.organisation_id,
        details={"from": previous},
    )
    return sub


async def delete_archived(
    *,
    session: AsyncSession,
    principal: Principal,
    organisation_id: uuid.UUID,
    deadline_from: date,
    deadline_to: date,
    confirm: str | None,
) -> int:
    """Delete, irreversibly, an organisation's archived requests whose deadline lies in [from, to]."""
    await require_organisation(session=session, principal=principal, organisation_id=organisation_id)
    problems = []
    if confirm != CONFIRM_WORD:
        problems.append(
            d.FieldProblem("query.confirm", "confirmation_required", f"pass confirm={CONFIRM_WORD} to delete")
        )
    if deadline_to < deadline_from:
        problems.append(
            d.FieldProblem("query.deadline_to", "period_order", "deadline_to precedes deadline_from")
        )
    if problems:
        raise d.RuleViolation(
            "Deleting archived requests is irreversible: it needs a confirmation and a valid period.",
            rule=problems[0].rule,
            errors=problems,
        )
    where = (
        DebtSubrequest.organisation_id == organisation_id,
        DebtSubrequest.status == ARCHIVED,
        DebtSubrequest.send_batch_id.is_(None),
        DebtSubrequest.response_date >= deadline_from,
        DebtSubrequest.response_date <= deadline_to,
    )
    count = int(await session.scalar(select(func.count()).select_from(DebtSubrequest).where(*where)) or 0)
    if count:
        # Answers, documents, history and send items go with them (ON DELETE CASCADE; SQLite enforces it
        # because the engine turns foreign keys on).
        await session.execute(
            delete(DebtSubrequest).where(*where).execution_options(synchronize_session=False)
        )
    await audit.record(
        session=session,
        principal=principal,
        action="debt_request.delete_archived",
        resource_type="debt_request",
        organisation_id=organisation_id,
        details={
            "deadline_from": deadline_from.isoformat(),
            "deadline_to": deadline_to.isoformat(),
            "deleted": count,
        },
    )
    return count
