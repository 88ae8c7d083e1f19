"""Court cases: the life of an application for a court order, with deadlines (ГПК ст. 126-129).

draft → submitted → order_issued → objection_window (copy received: 10 days for objections, ГПК ст. 128)
→ cancelled (objections, ст. 129) | in_force → enforcement (the writ with the ФССП proceeding) → closed; a
submitted application may also be returned (ст. 125). Payments received against an order in force are events
that keep the status. When an order comes into force the debt enters the local court-confirmed debts registry.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models.court import (
    CANCELLED,
    CLOSED,
    DRAFT,
    ENFORCEMENT,
    IN_FORCE,
    OBJECTION_WINDOW,
    ORDER_ISSUED,
    RETURNED,
    SUBMITTED,
    CourtCase,
    CourtCaseEvent,
    CourtConfirmedDebt,
)
from app.domain.court.registry import close_registry_loop
from app.domain.court.rules import CourtRules
from app.domain.kernel import audit, errors
from app.domain.kernel.access import Principal
from app.domain.kernel.calendar import deadline_flags, moscow_today, objection_deadline

EventType = Literal[
    "submitted",
    "issued",
    "received",
    "objection",
    "cancelled",
    "in_force",
    "enforcement",
    "returned",
    "payment",
    "closed",
]

#: Events that keep the case's status (None as target): a payment is recorded, the case stays where it is.
KEEPS_STATUS = None

# event → (allowed from, to)
TRANSITIONS: dict[str, tuple[tuple[str, ...], str | None]] = {
    "submitted": ((DRAFT,), SUBMITTED),
    "returned": ((SUBMITTED,), RETURNED),
    "issued": ((SUBMITTED,), ORDER_ISSUED),
    "received": ((ORDER_ISSUED,), OBJECTION_WINDOW),
    "objection": ((OBJECTION_WINDOW,), OBJECTION_WINDOW),
    # An order in force is cancelled too on a late objection with the term restored (ГПК ст. 112, 129).
    "cancelled": ((ORDER_ISSUED, OBJECTION_WINDOW, IN_FORCE, ENFORCEMENT), CANCELLED),
    "in_force": ((OBJECTION_WINDOW,), IN_FORCE),
    "enforcement": ((IN_FORCE,), ENFORCEMENT),
    "payment": ((IN_FORCE, ENFORCEMENT), KEEPS_STATUS),
    "closed": ((IN_FORCE, ENFORCEMENT), CLOSED),
}


@dataclass(frozen=True)
class CaseEvent:
    """An event reported by the user: what happened, on which day, and the court's data if any."""

    type: str
    on_date: date
    case_number: str | None = None
    act_number: str | None = None
    act_pronouncing_date: date | None = None
    note: str | None = None
    #: ФССП enforcement proceeding number (enforcement).
    fssp_number: str | None = None
    #: Amount received (payment), roubles.
    amount: Decimal | None = None

    def details(self) -> dict[str, Any] | None:
        """Return what the history keeps beside type and date: note, proceeding number, amount."""
        out: dict[str, Any] = {}
        if self.note:
            out["note"] = self.note
        if self.fssp_number:
            out["fssp_number"] = self.fssp_number
        if self.amount is not None:
            out["amount"] = str(self.amount)
        return out or None


async def get_case(*, session: AsyncSession, case_id: uuid.UUID, principal: Principal) -> CourtCase:
    """Load a court case the caller may see."""
    case = await session.get(CourtCase, case_id)
    if case is None or not principal.may_access(case.organisation_id):
        raise errors.NotFoundError(f"Court case {case_id} not found.")
    return case


async def list_cases(
    *,
    session: AsyncSession,
    organisation_ids: Sequence[uuid.UUID] | None,
    status: str | None = None,
    account_id: uuid.UUID | None = None,
    deadline_before: date | None = None,
    after: uuid.UUID | None = None,
    limit: int = 100,
) -> Sequence[CourtCase]:
    """Return court cases, filtered, keyset-paginated by id."""
    stmt = select(CourtCase).order_by(CourtCase.id).limit(limit)
    if organisation_ids is not None:
        stmt = stmt.where(CourtCase.organisation_id.in_(organisation_ids))
    if status:
        stmt = stmt.where(CourtCase.status == status)
    if account_id:
        stmt = stmt.where(CourtCase.account_id == account_id)
    if deadline_before:
        stmt = stmt.where(CourtCase.objection_deadline <= deadline_before)
    if after:
        stmt = stmt.where(CourtCase.id > after)
    return (await session.scalars(stmt)).all()


async def events_of(case_id: uuid.UUID, *, session: AsyncSession) -> Sequence[CourtCaseEvent]:
    """Return a case's history, oldest first."""
    stmt = select(CourtCaseEvent).where(CourtCaseEvent.case_id == case_id).order_by(CourtCaseEvent.id)
    return (await session.scalars(stmt)).all()


def deadlines(case: CourtCase, *, today: date, rules: CourtRules) -> dict[str, Any]:
    """Return the case's deadlines as the user sees them (objection window, working days left)."""
    out: dict[str, Any] = {"objection_deadline": case.objection_deadline}
    if case.objection_deadline is not None and case.status == OBJECTION_WINDOW:
        flags = deadline_flags(today, case.objection_deadline, rules.calendar)
        out.update(
            working_days_left=flags.working_days_left,
            can_enter_force=today > case.objection_deadline,
        )
    return out


async def apply_event(
    *, session: AsyncSession, case: CourtCase, event: CaseEvent, principal: Principal, rules: CourtRules
) -> CourtCase:
    """Move a case through its life, recording the event; an order in force enters the debts registry."""
    allowed = TRANSITIONS.get(event.type)
    if allowed is None:
        raise errors.RuleViolation(f"Unknown event type {event.type!r}.", rule="event_type")
    sources, to_status = allowed
    target = to_status or case.status
    if case.status not in sources:
        raise errors.ConflictError(
            f"A case in status '{case.status}' cannot take the event '{event.type}' "
            f"(allowed from: {', '.join(sources)}).",
            rule="case_transition",
        )
    problems: list[errors.FieldProblem] = []
    today = moscow_today()
    if event.on_date > today:
        problems.append(errors.FieldProblem("body.on_date", "future_date", f"on or before today ({today})"))
    if event.act_pronouncing_date is not None and event.act_pronouncing_date > today:
        problems.append(
            errors.FieldProblem("body.act_pronouncing_date", "future_date", f"on or before today ({today})")
        )
    if event.type == "issued":
        if not event.act_number:
            problems.append(
                errors.FieldProblem("body.act_number", "missing", "the order's number is required")
            )
        if case.submitted_on and event.on_date < case.submitted_on:
            problems.append(
                errors.FieldProblem("body.on_date", "order", "the order precedes the application")
            )
    if event.type == "enforcement" and not event.fssp_number:
        problems.append(
            errors.FieldProblem("body.fssp_number", "missing", "the ФССП proceeding number is required")
        )
    if event.type == "payment" and (event.amount is None or event.amount <= 0):
        problems.append(
            errors.FieldProblem("body.amount", "positive", "the amount received must be positive")
        )
    if event.type == "in_force" and case.objection_deadline and event.on_date <= case.objection_deadline:
        raise errors.ConflictError(
            f"The objection term runs until {case.objection_deadline.isoformat()} (ГПК ст. 128); "
            "the order comes into force after it.",
            rule="objection_window",
        )
    if problems:
        raise errors.RuleViolation("The event is incomplete.", errors=problems, rule="case_event")

    previous = case.status
    day = event.on_date
    if event.type == "submitted":
        case.submitted_on = day
        case.case_number = event.case_number or case.case_number
    elif event.type == "returned":
        case.returned_on = day
    elif event.type == "issued":
        case.issued_on = day
        case.act_number = event.act_number
        case.act_pronouncing_date = event.act_pronouncing_date or day
        case.case_number = event.case_number or case.case_number
    elif event.type == "received":
        # ГПК ст. 128: 10 days for objections from the day the debtor received the copy.
        case.received_on = day
        case.objection_deadline = objection_deadline(day, rules=rules.objection, calendar=rules.calendar)
    elif event.type == "cancelled":
        case.cancelled_on = day
        await _cancel_debt(session, case, day)
    elif event.type == "in_force":
        case.in_force_on = day
        case.act_date = day
        await _confirm_debt(session, case)
    elif event.type == "enforcement":
        case.enforcement_on = day
    case.status = target
    case.version += 1
    session.add(
        CourtCaseEvent(
            case_id=case.id,
            type=event.type,
            on_date=day,
            from_status=previous,
            to_status=target,
            actor=principal.actor,
            details=event.details(),
        )
    )
    await audit.record(
        session=session,
        principal=principal,
        action=f"court_case.{event.type}",
        resource_type="court_case",
        resource_id=case.id,
        organisation_id=case.organisation_id,
        details={"from": previous, "to": target, "on_date": day.isoformat()},
    )
    await session.flush()
    if event.type in ("in_force", "payment", "cancelled"):
        await close_registry_loop(session=session, case=case, rules=rules, principal=principal)
    return case


async def _cancel_debt(session: AsyncSession, case: CourtCase, day: date) -> None:
    """A cancelled order confirms no debt (ЖК РФ ст. 159): take it out of answers at once."""
    debt = await session.scalar(select(CourtConfirmedDebt).where(CourtConfirmedDebt.case_id == case.id))
    if debt is not None and debt.annulled_on is None:
        debt.annulled_on = day
        debt.annulment_reason = "court order cancelled"


async def _confirm_debt(session: AsyncSession, case: CourtCase) -> CourtConfirmedDebt:
    """Enter the debt of an order in force into the local court-confirmed debts registry (once per case)."""
    existing = await session.scalar(select(CourtConfirmedDebt).where(CourtConfirmedDebt.case_id == case.id))
    if existing is not None:
        return existing
    debtor = case.debtor
    if not (debtor.get("last_name") and debtor.get("first_name")):
        raise errors.RuleViolation(
            "The case's debtor has no name; it cannot enter the registry.", rule="debtor_name"
        )

    def guid(key: str) -> uuid.UUID | None:
        value = debtor.get(key)
        return uuid.UUID(value) if value else None

    assert case.act_number is not None and case.act_date is not None  # set by the issued/in_force events
    debt = CourtConfirmedDebt(
        organisation_id=case.organisation_id,
        case_id=case.id,
        account_id=case.account_id,
        last_name=debtor["last_name"],
        first_name=debtor["first_name"],
        middle_name=debtor.get("middle_name"),
        snils=debtor.get("snils"),
        inn=debtor.get("inn"),
        id_doc_type=debtor.get("id_doc_type"),
        id_doc_series=debtor.get("id_doc_series"),
        id_doc_number=debtor.get("id_doc_number"),
        fias_house_guid=guid("fias_house_guid"),
        house_guid=guid("house_guid"),
        premise_guid=guid("premise_guid"),
        act_number=case.act_number,
        act_date=case.act_date,
        act_pronouncing_date=case.act_pronouncing_date or case.issued_on or case.act_date,
        period_from=case.period_from,
        period_to=case.period_to,
        principal=case.principal,
        penalties=case.penalties,
        duty=case.duty,
        amount=case.principal + case.penalties + case.duty,
    )
    session.add(debt)
    await session.flush()
    return debt


async def attach_act_file(
    *, session: AsyncSession, case: CourtCase, filename: str, data: bytes, principal: Principal
) -> CourtCase:
    """Store the court act's file with the case (uploaded to GIS when the debt is placed)."""
    if not data:
        raise errors.RuleViolation("The file is empty.", rule="file")
    case.act_file_name = filename[:255]
    case.act_file = data
    case.act_file_hash = None  # computed with the GOST-94 backend when the file is sent to GIS
    case.act_file_guid = None
    case.version += 1
    await audit.record(
        session=session,
        principal=principal,
        action="court_case.act_file",
        resource_type="court_case",
        resource_id=case.id,
        organisation_id=case.organisation_id,
        details={"size": len(data)},
    )
    return case


async def delete_draft(*, session: AsyncSession, case: CourtCase, principal: Principal) -> None:
    """Delete a draft case (filed cases are legal records and stay)."""
    if case.status != DRAFT:
        raise errors.ConflictError("Only draft cases can be deleted.", rule="case_delete")
    await audit.record(
        session=session,
        principal=principal,
        action="court_case.delete",
        resource_type="court_case",
        resource_id=case.id,
        organisation_id=case.organisation_id,
    )
    await session.delete(case)


__all__ = ["CANCELLED", "CLOSED", "ENFORCEMENT", "IN_FORCE", "TRANSITIONS", "CaseEvent", "apply_event"]
