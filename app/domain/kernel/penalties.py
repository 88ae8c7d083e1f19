"""Penalties (пени) on ЖКУ debt, ЖК РФ ст. 155 ч. 14, with a per-month breakdown (domain-rules §5).

Per unpaid monthly amount, day 1 is the day after its due date: days 1-30 accrue nothing, days 31-90 accrue
1/300 of the key rate per day, day 91 onward 1/130. The key rate is the one on the day of payment (the caller
passes it), limited to the 9.5 % cap on days inside a cap period. Days inside a moratorium accrue nothing, but
still count towards the 30/90-day thresholds: the law counts days from the due date, not days of accrual.

Counting runs through the payment (or calculation) date inclusive (Пленум ВС № 7 of 24.03.2016, п. 65), so a
payment on the due date is not late and a payment on day 100 is charged for 100 days.

Rounding: each segment's amount is rounded to kopecks half up; month and overall totals are sums of rounded
segments, so the printed breakdown always adds up to the printed total.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from app.domain.kernel.limitation import DEFAULT_LIMITATION, is_time_barred
from app.domain.kernel.rules import LimitationRules, Moratorium, PenaltyRules

DEFAULT_PENALTY_RULES = PenaltyRules()
KOPECK = Decimal("0.01")
_ZERO = Decimal("0")
_ONE_DAY = timedelta(days=1)


def _month_start(d: date) -> date:
    return d.replace(day=1)


def _next_month(d: date) -> date:
    return date(d.year + d.month // 12, d.month % 12 + 1, 1)


def _previous_month(d: date) -> date:
    return date(d.year - 1, 12, 1) if d.month == 1 else date(d.year, d.month - 1, 1)


def due_date_for(period: date, rules: PenaltyRules = DEFAULT_PENALTY_RULES) -> date:
    """Return the due date of the bill for the billing month containing `period` (ЖК РФ ст. 155 ч. 1)."""
    next_month = _next_month(period)
    switch_month = _month_start(rules.due_day_change_date)
    if next_month < switch_month:
        day = rules.due_day_before
    elif next_month == switch_month:
        # The month just before the switch (February 2026 bills): a setting, see PenaltyRules.
        day = rules.feb_2026_due_day
    else:
        day = rules.due_day_after
    return next_month.replace(day=day)


@dataclass(frozen=True, slots=True)
class Charge:
    """One monthly amount billed for `period` (first day of the billing month), due on `due_date`."""

    period: date
    amount: Decimal
    due_date: date


def charge_for_period(period: date, amount: Decimal, rules: PenaltyRules = DEFAULT_PENALTY_RULES) -> Charge:
    """Build a Charge whose due date follows the statutory rule."""
    start = _month_start(period)
    return Charge(period=start, amount=amount, due_date=due_date_for(start, rules))


@dataclass(frozen=True, slots=True)
class Payment:
    """A payment received on `paid_on`; `period`: the billing month named in the payment document."""

    paid_on: date
    amount: Decimal
    period: date | None = None


@dataclass(frozen=True, slots=True)
class PenaltySegment:
    """Consecutive days (start..end inclusive) with the same balance, rate and moratorium status."""

    start: date
    end: date
    days: int
    balance: Decimal
    divisor: int | None  # 300 or 130; None during the first 30 days
    key_rate: Decimal  # after the cap
    moratorium: bool
    amount: Decimal

    @property
    def rate_fraction(self) -> str:
        """Return the daily share of the key rate as printed in a calculation ("1/300", "0")."""
        return "0" if self.divisor is None or self.moratorium else f"1/{self.divisor}"


@dataclass(frozen=True, slots=True)
class MonthPenalty:
    """Penalty on one monthly amount, with its segments."""

    period: date
    due_date: date
    principal: Decimal
    paid: Decimal
    outstanding: Decimal
    segments: tuple[PenaltySegment, ...]
    total: Decimal


@dataclass(frozen=True, slots=True)
class PenaltyBreakdown:
    """Penalties on a set of monthly charges as of `on_date`, for the court-order application package."""

    on_date: date
    key_rate: Decimal
    months: tuple[MonthPenalty, ...]
    unallocated: Decimal  # payments left over after every allocatable charge was paid (an advance)
    total: Decimal


def _moratorium_applies(m: Moratorium, period: date) -> bool:
    return m.debts_before is None or period < m.debts_before


def _in_moratorium(d: date, period: date, rules: PenaltyRules) -> bool:
    return any(
        _moratorium_applies(m, period) and m.period.contains(d, end_inclusive=rules.moratorium_end_inclusive)
        for m in rules.moratoria
    )


def _effective_rate(d: date, key_rate: Decimal, rules: PenaltyRules) -> Decimal:
    if any(cap.contains(d) for cap in rules.cap_periods):
        return min(key_rate, rules.cap_rate)
    return key_rate


def _boundaries(
    due: date, until: date, period: date, repayments: Sequence[tuple[date, Decimal]], rules: PenaltyRules
) -> list[date]:
    """Return the first days of every possible change of state within (due, until]."""
    first, stop = due + _ONE_DAY, until + _ONE_DAY
    points = {
        first,
        stop,
        due + timedelta(days=rules.grace_days + 1),
        due + timedelta(days=rules.low_rate_last_day + 1),
    }
    for m in rules.moratoria:
        if _moratorium_applies(m, period):
            points.add(m.period.start)
            points.add(m.period.end + _ONE_DAY if rules.moratorium_end_inclusive else m.period.end)
    for cap in rules.cap_periods:
        points.update((cap.start, cap.end + _ONE_DAY))
    # The balance falls on the day after a payment: the payment day itself still accrues (Пленум № 7, п. 65).
    points.update(paid_on + _ONE_DAY for paid_on, _ in repayments)
    return sorted(p for p in points if first <= p <= stop)


def penalty_for_amount(
    *,
    amount: Decimal,
    due_date: date,
    until: date,
    key_rate: Decimal | None = None,
    rules: PenaltyRules = DEFAULT_PENALTY_RULES,
    period: date | None = None,
    repayments: Sequence[tuple[date, Decimal]] = (),
) -> MonthPenalty:
    """Compute the penalty on one amount due on `due_date`, counted through `until` inclusive.

    `key_rate` is the key rate on the payment day as a fraction (0.21 for 21 %); by default the cap.
    `period` (the billing month) decides which moratoria apply; by default the month before the due month.
    `repayments` are (date, amount) parts already allocated to this amount; each stops accrual on its part
    from the next day.
    """
    rate = rules.cap_rate if key_rate is None else key_rate
    billing = _month_start(period) if period is not None else _previous_month(due_date)
    ordered = sorted(repayments)
    paid_total = sum((part for _, part in ordered), _ZERO)

    def balance_on(d: date) -> Decimal:
        return amount - sum((part for paid_on, part in ordered if paid_on < d), _ZERO)

    # Build raw (state, start, end) runs, merging neighbours whose state is the same, then price each run.
    runs: list[tuple[tuple[Decimal, int | None, Decimal, bool], date, date]] = []
    points = _boundaries(due_date, until, billing, ordered, rules)
    for start, stop in zip(points, points[1:], strict=False):
        balance = balance_on(start)
        if balance <= _ZERO:
            continue
        day_number = (start - due_date).days
        divisor: int | None
        if day_number <= rules.grace_days:
            divisor = None
        elif day_number <= rules.low_rate_last_day:
            divisor = rules.low_divisor
        else:
            divisor = rules.high_divisor
        moratorium = _in_moratorium(start, billing, rules)
        if moratorium:
            divisor = None  # nothing accrues, so one moratorium run is shown whatever the day numbers are
        state = (balance, divisor, _effective_rate(start, rate, rules), moratorium)
        end = stop - _ONE_DAY
        if runs and runs[-1][0] == state and runs[-1][2] + _ONE_DAY == start:
            runs[-1] = (state, runs[-1][1], end)
        else:
            runs.append((state, start, end))

    segments: list[PenaltySegment] = []
    for (balance, divisor, effective, moratorium), start, end in runs:
        days = (end - start).days + 1
        if divisor is None or moratorium:
            value = _ZERO.quantize(KOPECK)
        else:
            value = (balance * effective * days / divisor).quantize(KOPECK, rounding=ROUND_HALF_UP)
        segments.append(PenaltySegment(start, end, days, balance, divisor, effective, moratorium, value))

    return MonthPenalty(
        period=billing,
        due_date=due_date,
        principal=amount,
        paid=paid_total,
        outstanding=max(amount - paid_total, _ZERO),
        segments=tuple(segments),
        total=sum((s.amount for s in segments), _ZERO.quantize(KOPECK)),
    )


def allocate_payments(
    charges: Sequence[Charge],
    payments: Iterable[Payment],
    *,
    limitation: LimitationRules = DEFAULT_LIMITATION,
) -> tuple[list[list[tuple[date, Decimal]]], Decimal]:
    """Allocate payments to charges; return per-charge (date, part) lists and the unallocated remainder.

    ГК РФ ст. 319.1 and Пленум ВС № 22 of 27.06.2017, п. 32: a payment naming its billing month goes to that
    month first; the rest (and payments naming no month) go to the oldest charge by due date that is not
    time-barred on the payment day. Time-barred months never absorb an unassigned payment; money left after
    every other charge is paid is an advance and is returned as `unallocated`.
    """
    order = sorted(range(len(charges)), key=lambda i: (charges[i].due_date, charges[i].period))
    remaining = [c.amount for c in charges]
    parts: list[list[tuple[date, Decimal]]] = [[] for _ in charges]
    unallocated = _ZERO

    def take(i: int, paid_on: date, money: Decimal) -> Decimal:
        part = min(money, remaining[i])
        if part > _ZERO:
            remaining[i] -= part
            parts[i].append((paid_on, part))
        return money - part

    for payment in sorted(payments, key=lambda p: p.paid_on):
        money = payment.amount
        if payment.period is not None:
            named = _month_start(payment.period)
            for i in order:
                if charges[i].period == named:
                    money = take(i, payment.paid_on, money)
        for i in order:
            if money <= _ZERO:
                break
            if not is_time_barred(charges[i].due_date, payment.paid_on, limitation):
                money = take(i, payment.paid_on, money)
        unallocated += money
    return parts, unallocated


def calculate_penalties(
    *,
    charges: Sequence[Charge],
    on_date: date,
    payments: Iterable[Payment] = (),
    key_rate: Decimal | None = None,
    rules: PenaltyRules = DEFAULT_PENALTY_RULES,
    limitation: LimitationRules = DEFAULT_LIMITATION,
) -> PenaltyBreakdown:
    """Compute penalties on every charge through `on_date`, after allocating payments oldest first."""
    rate = rules.cap_rate if key_rate is None else key_rate
    considered = [p for p in payments if p.paid_on <= on_date]
    parts, unallocated = allocate_payments(charges, considered, limitation=limitation)
    months = tuple(
        penalty_for_amount(
            amount=charge.amount,
            due_date=charge.due_date,
            until=on_date,
            key_rate=rate,
            rules=rules,
            period=charge.period,
            repayments=allocated,
        )
        for charge, allocated in zip(charges, parts, strict=True)
    )
    return PenaltyBreakdown(
        on_date=on_date,
        key_rate=rate,
        months=months,
        unallocated=unallocated,
        total=sum((m.total for m in months), _ZERO.quantize(KOPECK)),
    )
