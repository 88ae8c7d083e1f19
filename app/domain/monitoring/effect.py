"""The effect of measures (domain-rules §11): of the debtors a measure reached in a month, who paid, how much.

Measures of the snapshot month, per kind (docs/monitoring.md, *Effect of measures*):
- `notice`: a pre-court notice journaled as sent in the month (the delivery journal's `sent` entries; an
  account noticed twice counts once, at its first sending);
- `agreement`: a repayment agreement signed in the month (cancelled ones left out);
- `court_order`: a court order issued in the month (`issued_on`), one debtor per case over all its accounts.

The ledger dates payments only to a billing month (the month they were received in), never to a day. So the
windows are whole billing months after the measure's month: "within 30 days" is the first billing month after
it, "within 90 days" the first three. Payments booked to the measure's own month or earlier never count (they
may precede the measure). A debtor paid "in full" when the window's payments reach the measure's own sum
(the notice's debt, the agreement's total, the order's total).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models.agreements import CANCELLED, Agreement
from app.db.models.court import CourtCase
from app.db.models.monitoring import Notice, NoticeEvent
from app.domain.accounts.ledger import LedgerRecord, kopecks
from app.domain.monitoring.figures import month_end

#: Measure kinds in the order the exports show them.
KINDS = ("notice", "agreement", "court_order")
#: Windows in days, each as the number of whole billing months after the measure's month it covers.
WINDOWS = ((30, 1), (90, 3))

_CENT = Decimal("0.01")


@dataclass(frozen=True)
class Measure:
    """One debtor reached by one measure: its kind, date, the sum it named, and the accounts it covers."""

    kind: str
    on_date: date
    amount: int  # kopecks
    account_ids: tuple[uuid.UUID, ...]


def month_index(day: date) -> int:
    """Return a month as a running number (year × 12 + month − 1), for whole-month arithmetic."""
    return day.year * 12 + day.month - 1


def window_payments(months: Iterable[LedgerRecord], measure_month: int) -> dict[int, int]:
    """Return the kopecks paid in each window's billing months after `measure_month` (a `month_index`)."""
    out = dict.fromkeys((days for days, _ in WINDOWS), 0)
    for rec in months:
        after = month_index(rec.period) - measure_month
        if after < 1:
            continue
        paid = kopecks(rec.paid)
        for days, span in WINDOWS:
            if after <= span:
                out[days] += paid
    return out


@dataclass
class EffectTally:
    """Running figures of one measure kind, in kopecks."""

    debtors: int = 0
    amount: int = 0
    paid_any: dict[int, int] = field(default_factory=lambda: dict.fromkeys((d for d, _ in WINDOWS), 0))
    paid_full: dict[int, int] = field(default_factory=lambda: dict.fromkeys((d for d, _ in WINDOWS), 0))
    paid: dict[int, int] = field(default_factory=lambda: dict.fromkeys((d for d, _ in WINDOWS), 0))
    #: The last billing month (`month_index`) any window of this kind reaches.
    last_month: int = -1

    def add(self, measure: Measure, payments: dict[int, int]) -> None:
        """Count one debtor with the payments of its windows."""
        self.debtors += 1
        self.amount += measure.amount
        self.last_month = max(self.last_month, month_index(measure.on_date) + max(s for _, s in WINDOWS))
        for days, _span in WINDOWS:
            paid = max(payments[days], 0)
            self.paid[days] += paid
            self.paid_any[days] += paid > 0
            self.paid_full[days] += paid > 0 and paid >= measure.amount


def _rub(kop: int) -> str:
    return str((Decimal(kop) / 100).quantize(_CENT))


def _share(part: int, whole: int) -> str | None:
    return str((Decimal(part) / whole).quantize(Decimal("0.0001"))) if whole else None


def effect_rows(tallies: dict[str, EffectTally], newest_month: int) -> list[dict[str, Any]]:
    """Return the stored form: one dict per kind, amounts as decimal strings, windows marked complete or not.

    A window is complete when the ledgers already hold its last billing month (`newest_month`, the newest
    period seen in the organisation's ledgers); otherwise its figures can still grow on a re-computation.
    """
    out: list[dict[str, Any]] = []
    for kind in KINDS:
        t = tallies.get(kind) or EffectTally()
        row: dict[str, Any] = {"measure": kind, "debtors": t.debtors, "amount": _rub(t.amount)}
        for days, span in WINDOWS:
            row[f"paid_any_{days}"] = t.paid_any[days]
            row[f"paid_full_{days}"] = t.paid_full[days]
            row[f"paid_{days}"] = _rub(t.paid[days])
            row[f"share_paid_{days}"] = _share(t.paid_any[days], t.debtors)
            last = t.last_month - max(s for _, s in WINDOWS) + span
            row[f"complete_{days}"] = t.debtors == 0 or last <= newest_month
        out.append(row)
    return out


def _kop(value: Decimal | None) -> int:
    return int((value or Decimal(0)) * 100)


def _ids(values: Sequence[str]) -> tuple[uuid.UUID, ...]:
    return tuple(uuid.UUID(str(v)) for v in values)


async def load_measures(
    session: AsyncSession, organisation_id: uuid.UUID, month: date
) -> tuple[list[Measure], dict[uuid.UUID, list[int]]]:
    """Return the month's measures and, per account, the indexes of the measures covering it."""
    first, last = month, month_end(month)
    measures: list[Measure] = []
    noticed: dict[uuid.UUID, tuple[date, int]] = {}
    sent = await session.execute(
        select(Notice.account_id, NoticeEvent.on_date, Notice.debt)
        .join(Notice, Notice.id == NoticeEvent.notice_id)
        .where(
            Notice.organisation_id == organisation_id,
            NoticeEvent.event == "sent",
            NoticeEvent.on_date >= first,
            NoticeEvent.on_date <= last,
        )
        .order_by(NoticeEvent.on_date, NoticeEvent.id)
    )
    for account_id, on_date, debt in sent.all():
        noticed.setdefault(account_id, (on_date, _kop(debt)))  # the first sending of the month
    for account_id, (on_date, amount) in noticed.items():
        measures.append(Measure("notice", on_date, amount, (account_id,)))
    signed = await session.execute(
        select(Agreement.account_id, Agreement.signed_on, Agreement.total).where(
            Agreement.organisation_id == organisation_id,
            Agreement.signed_on >= first,
            Agreement.signed_on <= last,
            Agreement.status != CANCELLED,
        )
    )
    for account_id, on_date, total in signed.all():
        measures.append(Measure("agreement", on_date, _kop(total), (account_id,)))
    issued = await session.execute(
        select(CourtCase.account_id, CourtCase.account_ids, CourtCase.issued_on, CourtCase.total).where(
            CourtCase.organisation_id == organisation_id,
            CourtCase.issued_on >= first,
            CourtCase.issued_on <= last,
        )
    )
    for case_account, account_ids, issued_on, total in issued.all():
        covered = _ids(account_ids or []) or ((case_account,) if case_account is not None else ())
        assert issued_on is not None  # selected by its issue date
        measures.append(Measure("court_order", issued_on, _kop(total), covered))
    by_account: dict[uuid.UUID, list[int]] = {}
    for i, m in enumerate(measures):
        for account_id in m.account_ids:
            by_account.setdefault(account_id, []).append(i)
    return measures, by_account


class EffectCounter:
    """Collects window payments account by account during the snapshot's one pass over the ledgers."""

    def __init__(self, measures: list[Measure], by_account: dict[uuid.UUID, list[int]]) -> None:
        self.measures = measures
        self.by_account = by_account
        self.payments: list[dict[int, int]] = [dict.fromkeys((d for d, _ in WINDOWS), 0) for _ in measures]
        self.newest_month = -1

    def see(self, account_id: uuid.UUID, months: Sequence[LedgerRecord]) -> None:
        """Add an account's window payments to each measure covering it."""
        for i in self.by_account.get(account_id, ()):
            got = window_payments(months, month_index(self.measures[i].on_date))
            for days, value in got.items():
                self.payments[i][days] += value

    def rows(self) -> list[dict[str, Any]]:
        """Return the effect per kind in its stored form."""
        tallies: dict[str, EffectTally] = {}
        for measure, payments in zip(self.measures, self.payments, strict=True):
            tallies.setdefault(measure.kind, EffectTally()).add(measure, payments)
        return effect_rows(tallies, self.newest_month)
