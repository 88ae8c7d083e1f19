"""Restriction and suspension of a utility for debt (Правила № 354, утв. ПП РФ 06.05.2011, п. 117–120).

Candidates: debt above two monthly charges of the utility (п. 117–118), unless under a kept repayment
agreement; months written off by a posted act (issue #16) are no longer owed and do not count. The
timeline moves only on recorded facts, each journaled: the warning delivered (its delivery
date, never its send date) → 20 days (п. 119 а) → restriction (п. 119 б) → 10 days → suspension (п. 119 в),
with its own notice delivered at least N days before (setting); never suspension of heating, nor of cold
water in an apartment building. Resumption within 2 calendar days after the debt is repaid (п. 120). An
agreement recorded at any step stops the timeline.

Periods run from the day after the fact (ГК РФ ст. 191): a warning delivered on 1 March gives the debtor
through 21 March; restriction is allowed from 22 March.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Set
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models.accounts import Account, AccountLedger
from app.db.models.monitoring import Notice, RestrictionCase, RestrictionEvent
from app.domain.accounts.ledger import LedgerRecord, decode_months, kopecks
from app.domain.kernel import audit, errors
from app.domain.kernel.access import Principal, require_organisation
from app.domain.monitoring.figures import account_month, first_of_month_of
from app.settings import MonitoringSettings

Utility = Literal["electricity", "hot_water", "cold_water", "wastewater", "gas", "heating"]
Event = Literal[
    "warning_delivered",
    "restricted",
    "restriction_impossible",
    "suspension_notice_delivered",
    "suspended",
    "debt_paid",
    "resumed",
    "agreement",
]
OPEN = ("candidate", "warned", "restricted", "suspension_noticed", "suspended")
_CENT = Decimal("0.01")


def suspension_forbidden(utility: str, apartment_building: bool) -> bool:
    """Return whether the utility may never be suspended (heating; cold water in an apartment building)."""
    return utility == "heating" or (utility == "cold_water" and apartment_building)


def average_charge(months: list[LedgerRecord], on_date: date, count: int) -> Decimal | None:
    """Return the average positive charge of the last `count` billed months up to `on_date`'s month."""
    month = first_of_month_of(on_date)
    charges = [kopecks(m.charged) for m in months if m.period <= month and kopecks(m.charged) > 0][-count:]
    if not charges:
        return None
    return (Decimal(sum(charges)) / len(charges) / 100).quantize(_CENT)


@dataclass(frozen=True)
class Candidate:
    """An account whose debt exceeds two monthly charges of the utility."""

    account_id: uuid.UUID
    account_number: str
    debt: Decimal
    monthly_charge: Decimal
    charge_method: str


async def find_candidates(
    *,
    session: AsyncSession,
    organisation_id: uuid.UUID,
    on_date: date,
    settings: MonitoringSettings,
    standard_charges: Mapping[uuid.UUID, Decimal] | None = None,
    excluded_account_ids: Set[uuid.UUID] = frozenset(),
    written_off: Set[tuple[uuid.UUID, date]] = frozenset(),
) -> tuple[list[Candidate], dict[str, int]]:
    """Return the accounts with overdue debt above two monthly charges, and counts of those left out.

    The monthly charge is the standard consumption × tariff billing sends per account (`standard_charges`,
    method `standard`), or, with method `average`, the average charge of the last months: an approximation,
    labelled so on every case (п. 118 speaks of the standard and the tariff). The debt leaves out the
    months in `written_off` (posted write-off acts, `exclusions.written_off_months`); their charges still
    show the monthly charge.
    """
    rows = (
        await session.execute(
            select(Account.id, Account.account_number, AccountLedger.months)
            .join(AccountLedger, AccountLedger.account_id == Account.id)
            .where(Account.organisation_id == organisation_id)
            .order_by(Account.account_number)
        )
    ).all()
    found: list[Candidate] = []
    left_out: dict[str, int] = {}
    method = settings.restriction_charge_method
    for account_id, number, months_text in rows:
        months = decode_months(months_text)
        owed = [m for m in months if (account_id, m.period) not in written_off] if written_off else months
        debt = (Decimal(account_month(owed, first_of_month_of(on_date), as_of=on_date).debt) / 100).quantize(
            _CENT
        )
        if debt <= 0:
            continue
        if method == "standard":
            charge = (standard_charges or {}).get(account_id)
            label = "standard"
        else:
            charge = average_charge(months, on_date, settings.restriction_average_months)
            label = f"average_{settings.restriction_average_months}_months_approximation"
        if charge is None or charge <= 0:
            left_out["no_monthly_charge"] = left_out.get("no_monthly_charge", 0) + 1
            continue
        if debt <= 2 * charge:
            continue
        if account_id in excluded_account_ids:
            left_out["agreement"] = left_out.get("agreement", 0) + 1
            continue
        found.append(Candidate(account_id, number, debt, charge, label))
    return found, left_out


async def open_cases(
    *,
    session: AsyncSession,
    principal: Principal,
    organisation_id: uuid.UUID,
    utility: Utility,
    apartment_building: bool,
    on_date: date,
    settings: MonitoringSettings,
    standard_charges: Mapping[uuid.UUID, Decimal] | None = None,
    excluded_account_ids: Set[uuid.UUID] = frozenset(),
    written_off: Set[tuple[uuid.UUID, date]] = frozenset(),
) -> tuple[list[RestrictionCase], dict[str, int]]:
    """Open a timeline for every candidate without an open one for this utility; journaled."""
    await require_organisation(session=session, principal=principal, organisation_id=organisation_id)
    candidates, left_out = await find_candidates(
        session=session,
        organisation_id=organisation_id,
        on_date=on_date,
        settings=settings,
        standard_charges=standard_charges,
        excluded_account_ids=excluded_account_ids,
        written_off=written_off,
    )
    already = set(
        (
            await session.scalars(
                select(RestrictionCase.account_id).where(
                    RestrictionCase.organisation_id == organisation_id,
                    RestrictionCase.utility == utility,
                    RestrictionCase.status.in_(OPEN),
                )
            )
        ).all()
    )
    opened = []
    for c in candidates:
        if c.account_id in already:
            left_out["open_case"] = left_out.get("open_case", 0) + 1
            continue
        case = RestrictionCase(
            organisation_id=organisation_id,
            account_id=c.account_id,
            account_number=c.account_number,
            utility=utility,
            apartment_building=apartment_building,
            debt=c.debt,
            monthly_charge=c.monthly_charge,
            charge_method=c.charge_method,
            status="candidate",
            restriction_impossible=False,
        )
        session.add(case)
        await session.flush()
        _journal(
            session, case, "opened", on_date, {"debt": str(c.debt), "monthly_charge": str(c.monthly_charge)}
        )
        opened.append(case)
    await audit.record(
        session=session,
        principal=principal,
        action="restriction.open",
        resource_type="organisation",
        resource_id=organisation_id,
        organisation_id=organisation_id,
        details={
            "utility": utility,
            "on_date": on_date.isoformat(),
            "opened": len(opened),
            "left_out": left_out,
        },
    )
    await session.flush()
    return opened, left_out


def _journal(
    session: AsyncSession, case: RestrictionCase, event: str, on_date: date, details: dict[str, str]
) -> None:
    session.add(RestrictionEvent(case_id=case.id, event=event, on_date=on_date, details=details or None))


def _refuse(message: str, rule: str, path: str = "body.event") -> errors.ConflictError:
    return errors.ConflictError(message, errors=[errors.FieldProblem(path, rule, message)], rule=rule)


def _after(day: date, days: int) -> date:
    """Return the first day after a period of `days` days counted from the day after `day` (ГК 191)."""
    return day + timedelta(days=days + 1)


async def get_case(*, session: AsyncSession, principal: Principal, case_id: uuid.UUID) -> RestrictionCase:
    """Load a timeline the caller may see."""
    case = await session.get(RestrictionCase, case_id)
    if case is None or not principal.may_access(case.organisation_id):
        raise errors.NotFoundError(f"Restriction case {case_id} not found.")
    return case


async def list_account_cases(
    *, session: AsyncSession, principal: Principal, organisation_id: uuid.UUID, account_number: str
) -> list[RestrictionCase]:
    """Return one debtor's timelines (every utility), newest first."""
    await require_organisation(session=session, principal=principal, organisation_id=organisation_id)
    stmt = (
        select(RestrictionCase)
        .where(
            RestrictionCase.organisation_id == organisation_id,
            RestrictionCase.account_number == account_number,
        )
        .order_by(RestrictionCase.created_at.desc(), RestrictionCase.utility)
    )
    return list((await session.scalars(stmt)).all())


async def list_events(*, session: AsyncSession, case_id: uuid.UUID) -> list[RestrictionEvent]:
    """Return a timeline's journal, oldest first."""
    stmt = select(RestrictionEvent).where(RestrictionEvent.case_id == case_id).order_by(RestrictionEvent.id)
    return list((await session.scalars(stmt)).all())


async def record_event(
    *,
    session: AsyncSession,
    principal: Principal,
    case_id: uuid.UUID,
    event: Event,
    on_date: date | None,
    settings: MonitoringSettings,
    notice_id: uuid.UUID | None = None,
) -> RestrictionCase:
    """Move a timeline on a recorded fact; refuse a step out of order or before its earliest date."""
    case = await get_case(session=session, principal=principal, case_id=case_id)
    # п. 120: supply limited when an agreement stopped the timeline is still to be resumed and recorded.
    resuming_after_agreement = (
        event == "resumed" and case.status == "stopped" and case.resume_by is not None and not case.resumed_on
    )
    if case.status not in OPEN and not resuming_after_agreement:
        raise _refuse(f"The timeline is {case.status}; record nothing more.", "case_closed")
    # The journal keeps each step's proof and the dates it computes.
    details: dict[str, str] = {}
    if event == "warning_delivered" and notice_id is not None:
        notice = await session.get(Notice, notice_id)
        if (
            notice is None
            or notice.account_id != case.account_id
            or notice.organisation_id != case.organisation_id
        ):
            raise errors.NotFoundError(f"Notice {notice_id} not found for this account.")
        if notice.status != "delivered" or notice.delivered_on is None:
            raise _refuse(
                "The warning counts from its delivery; the notice is not delivered.", "not_delivered"
            )
        if notice.gis_status in ("recalling", "recalled"):
            raise _refuse("The notice was recalled in GIS ZhKKh; it no longer warns.", "notice_recalled")
        on_date = notice.delivered_on  # the fact recorded in the delivery journal, never the send date
        case.warning_notice_id = notice.id
        details |= {"notice_id": str(notice.id), "channel": notice.channel or ""}
    if on_date is None:
        raise errors.RuleViolation(
            "on_date is required (or a delivered notice_id for the warning).",
            errors=[errors.FieldProblem("body.on_date", "missing", "give the date of the fact")],
            rule="missing",
        )
    if event == "warning_delivered":
        if case.status != "candidate":
            raise _refuse("The warning is recorded once, first.", "out_of_order")
        case.status = "warned"
        case.warning_delivered_on = on_date
        case.restriction_allowed_from = _after(on_date, 20)  # п. 119 а
        details["restriction_allowed_from"] = case.restriction_allowed_from.isoformat()
    elif event in ("restricted", "restriction_impossible"):
        if case.status != "warned":
            raise _refuse("Restriction follows a delivered warning.", "out_of_order")
        assert case.restriction_allowed_from is not None
        if on_date < case.restriction_allowed_from:
            raise _refuse(
                f"Restriction is allowed from {case.restriction_allowed_from} (20 days after delivery).",
                "too_early",
                "body.on_date",
            )
        case.status = "restricted"
        case.restricted_on = on_date
        case.restriction_impossible = event == "restriction_impossible"
        # п. 119 в: suspension 10 days after restriction, or at once where restriction is impossible.
        case.suspension_allowed_from = on_date if case.restriction_impossible else _after(on_date, 10)
        if not suspension_forbidden(case.utility, case.apartment_building):
            details["suspension_allowed_from"] = case.suspension_allowed_from.isoformat()
    elif event == "suspension_notice_delivered":
        if suspension_forbidden(case.utility, case.apartment_building):
            raise _refuse(_forbidden(case), "suspension_forbidden")
        if case.status != "restricted":
            raise _refuse("The suspension notice follows the restriction.", "out_of_order")
        case.status = "suspension_noticed"
        case.suspension_notice_delivered_on = on_date
        assert case.suspension_allowed_from is not None
        details["suspension_allowed_from"] = max(
            case.suspension_allowed_from,
            on_date + timedelta(days=settings.restriction_suspension_notice_days),
        ).isoformat()
    elif event == "suspended":
        if suspension_forbidden(case.utility, case.apartment_building):
            raise _refuse(_forbidden(case), "suspension_forbidden")
        if case.status != "suspension_noticed":
            raise _refuse("Suspension needs a delivered suspension notice.", "out_of_order")
        assert case.suspension_allowed_from is not None and case.suspension_notice_delivered_on is not None
        earliest = max(
            case.suspension_allowed_from,
            case.suspension_notice_delivered_on + timedelta(days=settings.restriction_suspension_notice_days),
        )
        if on_date < earliest:
            raise _refuse(f"Suspension is allowed from {earliest}.", "too_early", "body.on_date")
        case.status = "suspended"
        case.suspended_on = on_date
    elif event == "debt_paid":
        case.debt_paid_on = on_date
        if case.status in ("restricted", "suspension_noticed", "suspended"):
            case.resume_by = on_date + timedelta(days=2)  # п. 120: within 2 calendar days
        else:
            case.status, case.stopped_reason = "stopped", "debt_paid"
    elif event == "resumed":
        if case.debt_paid_on is None:
            raise _refuse(
                "Supply resumes after the cause is removed: record debt_paid first.", "out_of_order"
            )
        case.status = "resumed"
        case.resumed_on = on_date
        details["late"] = str(case.resume_by is not None and on_date > case.resume_by).lower()
    elif event == "agreement":
        # п. 118: a kept repayment agreement excludes restriction; service already limited is resumed.
        if case.status in ("restricted", "suspension_noticed", "suspended"):
            case.debt_paid_on = on_date
            case.resume_by = on_date + timedelta(days=2)
        case.status, case.stopped_reason = "stopped", "agreement"
    if event in ("debt_paid", "agreement") and case.resume_by is not None:
        details["resume_by"] = case.resume_by.isoformat()
    _journal(session, case, event, on_date, details)
    await audit.record(
        session=session,
        principal=principal,
        action=f"restriction.{event}",
        resource_type="restriction_case",
        resource_id=case.id,
        organisation_id=case.organisation_id,
        details={"on_date": on_date.isoformat(), "status": case.status, **details},
    )
    await session.flush()
    return case


def _forbidden(case: RestrictionCase) -> str:
    return (
        f"Suspension of {case.utility} is not allowed"
        + (" in an apartment building" if case.utility == "cold_water" else "")
        + " (ПП 354 п. 119); restriction is the last step."
    )


def next_step(case: RestrictionCase, *, notice_days: int = 3) -> tuple[str | None, date | None]:
    """Return the next step of a timeline and the earliest day it may be taken (None: waits for a fact).

    `notice_days`: the suspension notice's lead (GISGW_MONITORING_RESTRICTION_SUSPENSION_NOTICE_DAYS).
    """
    if case.status == "candidate":
        return "warning_delivered", None
    if case.status == "warned":
        return "restricted", case.restriction_allowed_from
    if case.status == "restricted":
        if suspension_forbidden(case.utility, case.apartment_building):
            return None, None
        return "suspension_notice_delivered", None
    if case.status == "suspension_noticed":
        assert case.suspension_allowed_from is not None and case.suspension_notice_delivered_on is not None
        return "suspended", max(
            case.suspension_allowed_from, case.suspension_notice_delivered_on + timedelta(days=notice_days)
        )
    if case.status == "suspended":
        return ("resumed", case.resume_by) if case.debt_paid_on else ("debt_paid", None)
    return None, None
