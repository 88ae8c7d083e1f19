"""Write-off candidates from the ledger: who may be written off on a date, by account and billing month.

A candidate is one billing month of one account with principal outstanding and a ground: its limitation has
expired (with the suspensions and restarts of `writeoff.rules`), or the account has a recorded impossibility
of collection dated after the month's due date. Each is split into principal, penalties (priced through the
run date by the caller's pricer, ЖК РФ ст. 155 ч. 14; they expire with the principal, ГК РФ ст. 207) and
state duty (the duty of a cancelled court case that claimed the month, shared equally among its months).

Scale (1,000,000 accounts × 36 months in an operation): what can change a month's term — court cases,
agreements, impossibilities, months already in acts — is loaded once per run, small beside the ledgers. The
ledgers are streamed in account order in partitions; an account none of those touch (nearly all) takes the
plain path: its stored JSON is read without building a record per month, and a month is past limitation
when its due date is (one `is_expired` per distinct due date, memoised).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, NamedTuple

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models.accounts import Account, AccountLedger
from app.db.models.agreements import Agreement
from app.db.models.court import CourtCase
from app.db.models.writeoff import (
    ACT_APPROVED,
    ACT_DRAFT,
    ACT_POSTED,
    AMNESTY,
    LIMITATION,
    CollectionImpossibility,
    WriteOffAct,
    WriteOffLine,
)
from app.domain.accounts.ledger import decode_months, kopecks, parse_day
from app.domain.writeoff.rules import CANCELLED_STATUS, CaseSpan, case_month_keys, is_expired, share

#: Prices the penalty in kopecks on (outstanding kopecks, due date, billing month) through the run date.
Pricer = Callable[[int, date, date], int]
#: Ledgers per partition of the stream (and accounts per IN list when some accounts are asked for).
CHUNK = 5000


class Candidate(NamedTuple):
    """One billing month that may be written off, with its ground and split (kopecks).

    A named tuple, not a dataclass: a run over a million accounts builds millions of them.
    """

    account_id: uuid.UUID
    period: date
    due_date: date
    ground: str
    principal: int
    penalties: int
    duty: int


async def written_off_months(
    *,
    session: AsyncSession,
    organisation_id: uuid.UUID | None,
    include_pending: bool = False,
    account_ids: Collection[uuid.UUID] | None = None,
) -> set[tuple[uuid.UUID, date]]:
    """Return (account, month) written off by posted acts (`include_pending`: by drafts and approved too).

    Notices, court packages, restriction and debt-request answers leave these months out. `account_ids`
    narrows to those accounts (with `organisation_id` None: whatever organisation they belong to).
    """
    statuses = [ACT_POSTED, ACT_DRAFT, ACT_APPROVED] if include_pending else [ACT_POSTED]
    stmt = (
        select(WriteOffLine.account_id, WriteOffLine.period)
        .join(WriteOffAct, WriteOffAct.id == WriteOffLine.act_id)
        .where(WriteOffAct.status.in_(statuses))
        # Forgiven penalties leave the month's principal alone: it was paid, not written off.
        .where(WriteOffLine.ground != AMNESTY)
    )
    if organisation_id is not None:
        stmt = stmt.where(WriteOffAct.organisation_id == organisation_id)
    if account_ids is None:
        return {(a, p) for a, p in (await session.execute(stmt)).all()}
    wanted = list(dict.fromkeys(account_ids))
    found: set[tuple[uuid.UUID, date]] = set()
    for start in range(0, len(wanted), CHUNK):
        part = stmt.where(WriteOffLine.account_id.in_(wanted[start : start + CHUNK]))
        found.update((a, p) for a, p in (await session.execute(part)).all())
    return found


@dataclass
class Selection:
    """What changes a month's term or excludes it, loaded once per run; and the run's date and pricer."""

    on_date: date
    pricer: Pricer
    spans: dict[tuple[uuid.UUID, date], list[CaseSpan]] = field(default_factory=dict)
    duty: dict[tuple[uuid.UUID, date], int] = field(default_factory=dict)
    taken: set[tuple[uuid.UUID, date]] = field(default_factory=set)
    acks: dict[uuid.UUID, list[tuple[date, date]]] = field(default_factory=dict)
    impossible: dict[uuid.UUID, tuple[str, date]] = field(default_factory=dict)
    #: Accounts any of the above touches: they take the full path.
    special: set[uuid.UUID] = field(default_factory=set)
    #: The last due date (ISO text) whose plain limitation has expired on the run date: the term grows with
    #: the due date, so a month is past it exactly when its due date's text sorts at or before this one.
    last_expired_due: str = ""

    def __post_init__(self) -> None:
        low, high = date.min.toordinal() + 1, self.on_date.toordinal()
        while low < high:  # the largest due date (ordinal) still expired on the run date
            mid = (low + high + 1) // 2
            if is_expired(date.fromordinal(mid), self.on_date):
                low = mid
            else:
                high = mid - 1
        self.last_expired_due = (
            date.fromordinal(low).isoformat() if is_expired(date.fromordinal(low), self.on_date) else ""
        )

    def of_ledger(self, account: uuid.UUID, text: str) -> list[Candidate]:
        """Return the candidates of one account's stored ledger."""
        if account in self.special:
            return self._full(account, text)
        out: list[Candidate] = []
        cutoff, price = self.last_expired_due, self.pricer
        for period, charged, paid, due in json.loads(text):
            if due > cutoff or charged == paid:
                continue
            rest = kopecks(charged) - kopecks(paid)
            if rest > 0:
                p, d = parse_day(period), parse_day(due)
                out.append(Candidate(account, p, d, LIMITATION, rest, price(rest, d, p), 0))
        return out

    def _full(self, account: uuid.UUID, text: str) -> list[Candidate]:
        out: list[Candidate] = []
        found = self.impossible.get(account)
        for m in decode_months(text):
            rest = kopecks(m.charged) - kopecks(m.paid)
            key = (account, m.period)
            if rest <= 0 or key in self.taken:
                continue
            ground: str | None = None
            if found is not None and m.due_date < found[1]:
                ground = found[0]
            else:
                acked = [s for s, through in self.acks.get(account, ()) if m.period <= through]
                if is_expired(
                    m.due_date,
                    self.on_date,
                    cases=self.spans.get(key, ()),
                    acknowledged_on=max(acked, default=None),
                ):
                    ground = LIMITATION
            if ground is not None:
                penalties = self.pricer(rest, m.due_date, m.period)
                out.append(
                    Candidate(account, m.period, m.due_date, ground, rest, penalties, self.duty.get(key, 0))
                )
        return out


async def load_selection(
    *, session: AsyncSession, organisation_id: uuid.UUID, on_date: date, pricer: Pricer
) -> Selection:
    """Load the court cases, agreements, impossibilities and acts that bear on the organisation's months."""
    sel = Selection(on_date=on_date, pricer=pricer)
    stmt = select(
        CourtCase.account_ids,
        CourtCase.months,
        CourtCase.claim,
        CourtCase.status,
        CourtCase.submitted_on,
        CourtCase.cancelled_on,
        CourtCase.duty,
    ).where(CourtCase.organisation_id == organisation_id, CourtCase.status != "draft")
    for account_ids, months, claim, status, submitted, cancelled, case_duty in (
        await session.execute(stmt)
    ).all():
        keys = case_month_keys(account_ids, months, claim)
        span = CaseSpan(status, submitted, cancelled)
        for key in keys:
            sel.spans.setdefault(key, []).append(span)
        if status == CANCELLED_STATUS and keys and case_duty:
            for key, part in zip(keys, share(int(case_duty * 100), len(keys)), strict=True):
                sel.duty[key] = sel.duty.get(key, 0) + part
    sel.taken = await written_off_months(
        session=session, organisation_id=organisation_id, include_pending=True
    )
    agreements = select(Agreement.account_id, Agreement.signed_on, Agreement.covered_through).where(
        Agreement.organisation_id == organisation_id
    )
    for account, signed, through in (await session.execute(agreements)).all():
        sel.acks.setdefault(account, []).append((signed, through))
    imp = CollectionImpossibility
    impossibilities = (
        select(imp.account_id, imp.ground, imp.act_date)
        .where(CollectionImpossibility.organisation_id == organisation_id)
        .order_by(CollectionImpossibility.act_date)
    )
    for account, kind, act_date in (await session.execute(impossibilities)).all():
        sel.impossible[account] = (kind, act_date)
    sel.special = {a for a, _ in sel.spans} | {a for a, _ in sel.taken} | set(sel.acks) | set(sel.impossible)
    return sel


async def count_ledgers(*, session: AsyncSession, organisation_id: uuid.UUID) -> int:
    """Return how many accounts of the organisation have a ledger (the selection's progress total)."""
    stmt = (
        select(func.count())
        .select_from(AccountLedger)
        .join(Account, Account.id == AccountLedger.account_id)
        .where(Account.organisation_id == organisation_id)
    )
    return int(await session.scalar(stmt) or 0)


async def iter_candidates(
    *,
    session: AsyncSession,
    organisation_id: uuid.UUID,
    selection: Selection,
    account_ids: Sequence[uuid.UUID] | None = None,
    chunk: int = CHUNK,
) -> AsyncIterator[tuple[int, list[Candidate]]]:
    """Yield (ledgers read, their candidates) partition by partition, in account order."""
    base = (
        select(AccountLedger.account_id, AccountLedger.months)
        .join(Account, Account.id == AccountLedger.account_id)
        .where(Account.organisation_id == organisation_id)
        .order_by(AccountLedger.account_id)
    )
    if account_ids is not None:
        ids = sorted(set(account_ids), key=str)
        for start in range(0, len(ids), chunk):
            rows = (await session.execute(base.where(Account.id.in_(ids[start : start + chunk])))).all()
            yield len(rows), [c for account, text in rows for c in selection.of_ledger(account, text)]
        return
    # One statement streamed in partitions: no IN lists, no OFFSET.
    conn = await session.connection()
    if conn.dialect.name == "postgresql":
        async for batch in _pg_ledgers(session, organisation_id, chunk):
            yield len(batch), [c for account, text in batch for c in selection.of_ledger(account, text)]
        return
    result = await session.stream(base.execution_options(yield_per=chunk))
    async for rows in result.partitions(chunk):
        yield len(rows), [c for account, text in rows for c in selection.of_ledger(account, text)]


_PG_LEDGERS = (
    "SELECT l.account_id, l.months FROM account_ledgers l JOIN accounts a ON a.id = l.account_id "
    "WHERE a.organisation_id = $1 ORDER BY l.account_id"
)


async def _pg_ledgers(
    session: AsyncSession, organisation_id: uuid.UUID, chunk: int
) -> AsyncIterator[list[tuple[uuid.UUID, str]]]:
    """Stream the organisation's ledgers on asyncpg's own cursor, in the session's transaction.

    SQLAlchemy's result layer costs as much per row as the selection itself at a million ledgers; asyncpg
    decodes the UUIDs (a `uuid.UUID` subclass, equal and hashing alike) and the text natively.
    """
    conn = await session.connection()
    raw = await conn.get_raw_connection()
    driver: Any = raw.driver_connection
    batch: list[tuple[uuid.UUID, str]] = []
    async for record in driver.cursor(_PG_LEDGERS, organisation_id, prefetch=chunk):
        batch.append((record[0], record[1]))
        if len(batch) >= chunk:
            yield batch
            batch = []
    if batch:
        yield batch


async def find_candidates(
    *,
    session: AsyncSession,
    organisation_id: uuid.UUID,
    on_date: date,
    pricer: Pricer,
    account_ids: Sequence[uuid.UUID] | None = None,
) -> list[Candidate]:
    """Return the organisation's write-off candidates on `on_date`, by account and month."""
    selection = await load_selection(
        session=session, organisation_id=organisation_id, on_date=on_date, pricer=pricer
    )
    out: list[Candidate] = []
    async for _, found in iter_candidates(
        session=session, organisation_id=organisation_id, selection=selection, account_ids=account_ids
    ):
        out.extend(found)
    return out


# ---------------------------------------------------------------------------------- as an operation

SELECTION_JOB = "write-off-candidates"


@dataclass
class Totals:
    """Months, principal, penalties and duty (kopecks) of a set of candidates."""

    months: int = 0
    principal: int = 0
    penalties: int = 0
    duty: int = 0

    def as_dict(self) -> dict[str, Any]:
        """Return the JSON form, amounts in roubles as decimal strings."""
        return {
            "months": self.months,
            "principal": _roubles(self.principal),
            "penalties": _roubles(self.penalties),
            "duty": _roubles(self.duty),
            "total": _roubles(self.principal + self.penalties + self.duty),
        }


def _roubles(kop: int) -> str:
    sign = "-" if kop < 0 else ""
    whole, cents = divmod(abs(kop), 100)
    return f"{sign}{whole}.{cents:02d}"


async def select_all(
    *,
    session: AsyncSession,
    organisation_id: uuid.UUID,
    on_date: date,
    pricer: Pricer,
    progress: Callable[[int, int], Awaitable[None]] | None = None,
    keep: bool = False,
    chunk: int = CHUNK,
) -> tuple[dict[str, Any], list[Candidate]]:
    """Select every candidate of the organisation, reporting progress per partition; return the summary.

    The candidates themselves are returned only with `keep` (to draft an act over them); the summary has the
    totals by ground and the number of accounts read and with candidates.
    """
    total = await count_ledgers(session=session, organisation_id=organisation_id)
    selection = await load_selection(
        session=session, organisation_id=organisation_id, on_date=on_date, pricer=pricer
    )
    sums: dict[str, list[int]] = {}  # ground → [months, principal, penalties, duty]
    accounts = 0
    kept: list[Candidate] = []
    done = 0
    async for read, found in iter_candidates(
        session=session, organisation_id=organisation_id, selection=selection, chunk=chunk
    ):
        done += read
        last: uuid.UUID | None = None
        for account, _, _, ground, principal, penalties, duty in found:
            if account != last:  # candidates come grouped by account
                accounts, last = accounts + 1, account
            acc = sums.get(ground)
            if acc is None:
                acc = sums[ground] = [0, 0, 0, 0]
            acc[0] += 1
            acc[1] += principal
            acc[2] += penalties
            acc[3] += duty
        if keep:
            kept.extend(found)
        if progress is not None:
            await progress(done, max(total, done))
    by_ground = {g: Totals(*acc) for g, acc in sums.items()}
    all_grounds = Totals(*(sum(acc[i] for acc in sums.values()) for i in range(4)))
    summary = {
        "organisation_id": str(organisation_id),
        "on_date": on_date.isoformat(),
        "accounts_read": done,
        "accounts_with_candidates": accounts,
        **all_grounds.as_dict(),
        "by_ground": {g: t.as_dict() for g, t in sorted(by_ground.items())},
    }
    return summary, kept
