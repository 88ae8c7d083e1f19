"""Pure rules of write-off: when a month's limitation really expires, and the split of what is written off.

Limitation runs per monthly payment (ГК РФ ст. 196, 200; domain-rules §6), and is changed by:
- a court-order case filed in time: suspended while pending (ГК ст. 204 п. 1); after the order is cancelled
  the remainder, if under six months, is extended to six months (ГК ст. 204 п. 3; Пленум ВС № 43 п. 18). A
  pending, issued or enforced case means the month is being collected: never a write-off candidate. A returned
  application does not suspend it (Пленум ВС № 43 п. 17);
- an acknowledgement: signing a repayment agreement restarts the term for the months it covers (ГК ст. 203;
  Пленум ВС № 43 п. 20; domain-rules §13).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from app.domain.kernel.limitation import limitation_expires
from app.domain.kernel.rules import LimitationRules

DRAFT_STATUS, RETURNED_STATUS, CANCELLED_STATUS = "draft", "returned", "cancelled"


@dataclass(frozen=True, slots=True)
class CaseSpan:
    """A court case that claimed a month: its status, when it was filed and when it was cancelled."""

    status: str
    submitted_on: date | None
    cancelled_on: date | None


def case_month_keys(
    account_ids: Sequence[str], months: Sequence[str], claim: object
) -> list[tuple[uuid.UUID, date]]:
    """Return the (account, billing month) a court case claims: its claim's lines, else accounts × months."""
    lines = claim.get("months") if isinstance(claim, dict) else None
    if lines:
        return [(uuid.UUID(x["account_id"]), date.fromisoformat(x["period"])) for x in lines]
    return [(uuid.UUID(a), date.fromisoformat(m)) for a in account_ids for m in months]


def _add_months(d: date, months: int) -> date:
    month0 = d.month - 1 + months
    year, month = d.year + month0 // 12, month0 % 12 + 1
    for day in (d.day, 30, 29, 28):
        try:
            return date(year, month, day)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def _add_years(d: date, years: int) -> date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:
        return d.replace(year=d.year + years, day=28)


def effective_expiry(
    due_date: date,
    *,
    cases: Sequence[CaseSpan] = (),
    acknowledged_on: date | None = None,
    rules: LimitationRules | None = None,
) -> date | None:
    """Return the last day a monthly payment can be claimed, or None while a court case collects it."""
    rules = rules or LimitationRules()
    expires = limitation_expires(due_date, rules)
    if acknowledged_on is not None and acknowledged_on <= expires:
        # The term starts anew the day after the acknowledgement (ГК ст. 203).
        expires = max(expires, _add_years(acknowledged_on + timedelta(days=1), rules.years))
    for case in sorted(cases, key=lambda c: c.submitted_on or date.min):
        if case.status in (DRAFT_STATUS, RETURNED_STATUS) or case.submitted_on is None:
            continue
        if case.submitted_on > expires:
            continue  # filed too late: the court applies limitation on the debtor's request, nothing suspends
        if case.status != CANCELLED_STATUS or case.cancelled_on is None:
            return None
        remainder = expires - case.submitted_on
        expires = case.cancelled_on + remainder
        six_months = _add_months(case.cancelled_on, 6)
        if expires < six_months:
            expires = six_months
    return expires


def is_expired(
    due_date: date,
    on_date: date,
    *,
    cases: Sequence[CaseSpan] = (),
    acknowledged_on: date | None = None,
    rules: LimitationRules | None = None,
) -> bool:
    """Tell whether a month's limitation has expired on `on_date`, with suspensions and restarts applied."""
    expires = effective_expiry(due_date, cases=cases, acknowledged_on=acknowledged_on, rules=rules)
    return expires is not None and on_date > expires


def share(total: int, parts: int) -> list[int]:
    """Split `total` kopecks into `parts` shares; the last takes the kopecks left over."""
    base = total // parts
    return [base] * (parts - 1) + [total - base * (parts - 1)]
