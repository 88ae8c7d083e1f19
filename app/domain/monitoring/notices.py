"""Pre-court notices (domain-rules §12): selection by rules given as data, the notices, the delivery journal.

A notice is a product measure, not a legal precondition of a court order (ГПК 122, 125); its delivery is the
fact that starts the restriction timeline of ПП 354 п. 119 (see `restriction`). The journal moves a notice
only on recorded facts: sent → delivered / returned / refused (a returned notice may be sent again).
"""

from __future__ import annotations

import csv
import io
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence, Set
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.models.accounts import Account, AccountLedger, AccountPremises, House, Premises
from app.db.models.core import Operation
from app.db.models.monitoring import Notice, NoticeEvent, NoticeRun
from app.domain.accounts.ledger import decode_months
from app.domain.kernel import audit, errors
from app.domain.kernel import operations as ops
from app.domain.kernel.access import Principal, require_organisation
from app.domain.kernel.penalties import penalty_for_amount
from app.domain.kernel.rules import PenaltyRules
from app.domain.monitoring import exclusions
from app.domain.monitoring.figures import account_month, first_of_month_of

EVENTS = ("sent", "delivered", "returned", "refused")
Event = Literal["sent", "delivered", "returned", "refused"]
Channel = Literal["post", "registered_mail", "hand", "email", "sms", "payment_document", "gis"]
#: Allowed journal moves: event → statuses it may follow.
_FROM: dict[str, tuple[str, ...]] = {
    "sent": ("created", "returned"),
    "delivered": ("sent",),
    "returned": ("sent",),
    "refused": ("sent",),
}
_CENT = Decimal("0.01")


class NoticeRules(BaseModel):
    """Which debtors get a notice: thresholds and exclusions (validated; unknown fields are refused)."""

    model_config = ConfigDict(extra="forbid")

    min_debt: Decimal = Field(Decimal("0.01"), ge=0, max_digits=14, decimal_places=2, description="₽ overdue")
    min_months_overdue: int = Field(1, ge=1, le=600, description="oldest unpaid month at least this overdue")
    exclude_dispute: bool = Field(True, description="leave out accounts flagged as disputed")
    exclude_bankruptcy: bool = Field(True, description="leave out debtors in bankruptcy")
    exclude_agreement: bool = Field(True, description="leave out debtors under a kept repayment agreement")
    noticed_within_days: int = Field(
        30,
        ge=0,
        le=3650,
        description="leave out accounts with a notice created within this many days (0: none)",
    )


class PaymentDetails(BaseModel):
    """Where to pay, printed on every notice."""

    model_config = ConfigDict(extra="forbid")

    payee: str = Field(min_length=1, max_length=300)
    inn: str = Field(pattern=r"^\d{10}(\d{2})?$")
    bank: str = Field(min_length=1, max_length=300)
    bik: str = Field(pattern=r"^\d{9}$")
    account: str = Field(pattern=r"^\d{20}$", description="settlement account (расчётный счёт)")
    phone: str | None = Field(None, max_length=50)


def _first_of_month(day: date) -> date:
    return first_of_month_of(day)


RUN_JOB = "notice-run"
#: Run states: queued as an operation, being processed, finished.
RUN_PENDING, RUN_RUNNING, RUN_DONE = "pending", "running", "done"


@dataclass
class Selector:
    """What a run's selection needs besides the ledgers, loaded once per run (and again on a resume)."""

    rules: NoticeRules
    on_date: date
    penalty_rules: PenaltyRules
    excluded_account_ids: Set[uuid.UUID] = frozenset()
    written_off: Set[tuple[uuid.UUID, date]] = frozenset()
    #: Accounts noticed by other runs within `rules.noticed_within_days`.
    recent: Set[uuid.UUID] = frozenset()

    def notice_fields(
        self, account_id: uuid.UUID, dispute: bool, bankruptcy: bool, months_text: str
    ) -> str | dict[str, Any] | None:
        """Return None (not a debtor by the rules), an exclusion reason, or the notice's figures."""
        rules = self.rules
        ledger = decode_months(months_text)
        if self.written_off:
            ledger = [r for r in ledger if (account_id, r.period) not in self.written_off]
        figures = account_month(ledger, _first_of_month(self.on_date), as_of=self.on_date)
        minimum = int(rules.min_debt * 100)
        if figures.debt <= 0 or figures.debt < minimum or figures.oldest_overdue < rules.min_months_overdue:
            return None  # not a debtor by these rules: not an exclusion
        if rules.exclude_dispute and dispute:
            return "dispute"
        if rules.exclude_bankruptcy and bankruptcy:
            return "bankruptcy"
        if rules.exclude_agreement and account_id in self.excluded_account_ids:
            return "agreement"
        if account_id in self.recent:
            return "noticed_recently"
        months = []
        penalties = Decimal("0")
        for period, rest, overdue in figures.overdue_months:
            amount = (Decimal(rest) / 100).quantize(_CENT)
            due = next(r.due_date for r in ledger if r.period == period)
            penalty = penalty_for_amount(
                amount=amount, due_date=due, until=self.on_date, rules=self.penalty_rules, period=period
            )
            penalties += penalty.total
            months.append(
                {
                    "period": period.isoformat(),
                    "amount": str(amount),
                    "months_overdue": overdue,
                    "penalty": str(penalty.total),
                }
            )
        return {
            "debt": (Decimal(figures.debt) / 100).quantize(_CENT),
            "penalties": penalties.quantize(_CENT),
            "months_overdue": figures.oldest_overdue,
            "months": months,
        }


async def _recent(
    session: AsyncSession, organisation_id: uuid.UUID, rules: NoticeRules, on_date: date, run_id: uuid.UUID
) -> frozenset[uuid.UUID]:
    if not rules.noticed_within_days:
        return frozenset()
    since = on_date - timedelta(days=rules.noticed_within_days)
    return frozenset(
        (
            await session.scalars(
                select(Notice.account_id)
                .join(NoticeRun, NoticeRun.id == Notice.run_id)
                .where(
                    Notice.organisation_id == organisation_id,
                    NoticeRun.on_date > since,
                    NoticeRun.id != run_id,
                )
            )
        ).all()
    )


async def count_accounts(session: AsyncSession, organisation_id: uuid.UUID) -> int:
    """Return how many accounts of the organisation have a ledger (a run's progress total)."""
    stmt = (
        select(func.count())
        .select_from(AccountLedger)
        .join(Account, Account.id == AccountLedger.account_id)
        .where(Account.organisation_id == organisation_id)
    )
    return int(await session.scalar(stmt) or 0)


def _empty_contacts() -> dict[str, int]:
    return {"with_phone": 0, "without_phone": 0, "with_email": 0, "without_email": 0}


async def process_chunk(
    *, session: AsyncSession, run: NoticeRun, selector: Selector, chunk: int
) -> int | None:
    """Process the next `chunk` accounts after the run's cursor; return how many were read (None: finished).

    The notices, the cursor, the exclusion and contact counts change in the caller's transaction: committed
    together, a step is done once or not at all.
    """
    stmt = (
        select(
            Account.id,
            Account.account_number,
            Account.dispute,
            Account.bankruptcy,
            Account.phone,
            Account.email,
            AccountLedger.months,
        )
        .join(AccountLedger, AccountLedger.account_id == Account.id)
        .where(Account.organisation_id == run.organisation_id)
        .order_by(Account.account_number)
        .limit(chunk)
    )
    if run.cursor is not None:
        stmt = stmt.where(Account.account_number > run.cursor)
    rows = (await session.execute(stmt)).all()
    if not rows:
        return None
    excluded: Counter[str] = Counter(run.excluded or {})
    contacts = {**_empty_contacts(), **(run.contacts or {})}
    seq = run.total or 0
    new: list[dict[str, Any]] = []
    for account_id, number, dispute, bankruptcy, phone, email, months_text in rows:
        found = selector.notice_fields(account_id, dispute, bankruptcy, months_text)
        if found is None:
            continue
        if isinstance(found, str):
            excluded[found] += 1
            continue
        seq += 1
        contacts["with_phone" if phone else "without_phone"] += 1
        contacts["with_email" if email else "without_email"] += 1
        new.append(
            {
                "id": uuid.uuid4(),
                "run_id": run.id,
                "organisation_id": run.organisation_id,
                "account_id": account_id,
                "seq": seq,
                "account_number": number,
                "status": "created",
                **found,
            }
        )
    if new:
        session.add_all(Notice(**values) for values in new)
    run.cursor = rows[-1][1]
    run.total = seq
    run.excluded = dict(excluded)
    run.contacts = contacts
    await session.flush()
    return len(rows)


async def _selector(session: AsyncSession, run: NoticeRun, penalty_rules: PenaltyRules) -> Selector:
    rules = NoticeRules.model_validate(run.rules)
    return Selector(
        rules=rules,
        on_date=run.on_date,
        penalty_rules=penalty_rules,
        excluded_account_ids=await exclusions.kept_agreement_accounts(
            session, run.organisation_id, run.on_date
        ),
        written_off=await exclusions.written_off_months(session, run.organisation_id),
        recent=await _recent(session, run.organisation_id, rules, run.on_date, run.id),
    )


async def _new_run(
    *,
    session: AsyncSession,
    principal: Principal,
    organisation_id: uuid.UUID,
    rules: NoticeRules,
    payment_details: PaymentDetails,
    on_date: date,
    templates: dict[str, Any] | None,
) -> NoticeRun:
    await require_organisation(session=session, principal=principal, organisation_id=organisation_id)
    run = NoticeRun(
        organisation_id=organisation_id,
        on_date=on_date,
        rules=rules.model_dump(mode="json"),
        payment_details=payment_details.model_dump(mode="json"),
        excluded={},
        total=0,
        status=RUN_PENDING,
        templates=templates,
        contacts=_empty_contacts(),
    )
    session.add(run)
    await session.flush()
    return run


async def _finish(session: AsyncSession, principal: Principal, run: NoticeRun) -> None:
    run.status = RUN_DONE
    await audit.record(
        session=session,
        principal=principal,
        action="notice_run.create",
        resource_type="notice_run",
        resource_id=run.id,
        organisation_id=run.organisation_id,
        details={
            "on_date": run.on_date.isoformat(),
            "notices": run.total,
            "excluded": dict(run.excluded or {}),
            "operation_id": str(run.operation_id) if run.operation_id else None,
        },
    )
    await session.flush()


async def create_run(
    *,
    session: AsyncSession,
    principal: Principal,
    organisation_id: uuid.UUID,
    rules: NoticeRules,
    payment_details: PaymentDetails,
    on_date: date,
    penalty_rules: PenaltyRules,
    excluded_account_ids: Set[uuid.UUID] = frozenset(),
    written_off: Set[tuple[uuid.UUID, date]] = frozenset(),
    templates: dict[str, Any] | None = None,
    chunk: int = 5000,
) -> NoticeRun:
    """Select the debtors the rules name and create one notice each, in the caller's transaction.

    Months in `written_off` (posted write-off acts, `exclusions.written_off_months`) are no longer owed: they
    count neither in the debt nor in the months of a notice. Journaled with the exclusion counts.
    """
    run = await _new_run(
        session=session,
        principal=principal,
        organisation_id=organisation_id,
        rules=rules,
        payment_details=payment_details,
        on_date=on_date,
        templates=templates,
    )
    selector = Selector(
        rules=rules,
        on_date=on_date,
        penalty_rules=penalty_rules,
        excluded_account_ids=excluded_account_ids,
        written_off=written_off,
        recent=await _recent(session, organisation_id, rules, on_date, run.id),
    )
    run.status = RUN_RUNNING
    while await process_chunk(session=session, run=run, selector=selector, chunk=chunk) is not None:
        pass
    await _finish(session, principal, run)
    return run


async def request_run(
    *,
    session: AsyncSession,
    principal: Principal,
    organisation_id: uuid.UUID,
    rules: NoticeRules,
    payment_details: PaymentDetails,
    on_date: date,
    penalty_rules: PenaltyRules,
    templates: dict[str, Any] | None,
    inline_limit: int,
) -> tuple[NoticeRun, Operation | None]:
    """Run a small organisation's selection at once; queue a larger one as an operation (resumable).

    Either way the run exists on return; a queued run is `pending` with no notices until its operation runs.
    """
    await require_organisation(session=session, principal=principal, organisation_id=organisation_id)
    count = await count_accounts(session, organisation_id)
    if count <= inline_limit:
        run = await create_run(
            session=session,
            principal=principal,
            organisation_id=organisation_id,
            rules=rules,
            payment_details=payment_details,
            on_date=on_date,
            penalty_rules=penalty_rules,
            excluded_account_ids=await exclusions.kept_agreement_accounts(session, organisation_id, on_date),
            written_off=await exclusions.written_off_months(session, organisation_id),
            templates=templates,
        )
        return run, None
    run = await _new_run(
        session=session,
        principal=principal,
        organisation_id=organisation_id,
        rules=rules,
        payment_details=payment_details,
        on_date=on_date,
        templates=templates,
    )
    op = await ops.create(
        session=session,
        principal=principal,
        kind=RUN_JOB,
        organisation_id=organisation_id,
        params={"run_id": str(run.id), "requested_by": principal.name},
        total=count,
    )
    run.operation_id = op.id
    await audit.record(
        session=session,
        principal=principal,
        action="notice_run.queue",
        resource_type="notice_run",
        resource_id=run.id,
        organisation_id=organisation_id,
        details={"on_date": on_date.isoformat(), "operation_id": str(op.id), "accounts": count},
    )
    await session.flush()
    return run, op


def run_result(run: NoticeRun) -> dict[str, Any]:
    """Return a finished run's summary (the operation's result)."""
    return {
        "run_id": str(run.id),
        "notices": run.total,
        "excluded": dict(run.excluded or {}),
        "contacts": dict(run.contacts or {}),
    }


async def run_job(
    op: Operation,
    progress: Callable[[int, int], Awaitable[None]],
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    penalty_rules: PenaltyRules,
    chunk: int,
) -> dict[str, Any]:
    """Process a queued run step by step, each step committed with its cursor; resume after the last one.

    A worker killed mid-run leaves the committed steps: the operation, claimed again, goes on after the
    cursor, so every selected debtor gets exactly one notice.
    """
    run_id = uuid.UUID(str((op.params or {})["run_id"]))
    async with sessionmaker() as session, session.begin():
        run = await session.get(NoticeRun, run_id)
        if run is None:
            raise errors.NotFoundError(f"Notice run {run_id} not found.")
        if run.status == RUN_DONE:
            return run_result(run)
        run.status = RUN_RUNNING
        selector = await _selector(session, run, penalty_rules)
        total = await count_accounts(session, run.organisation_id)
        done = 0
        if run.cursor is not None:
            done = int(
                await session.scalar(
                    select(func.count())
                    .select_from(AccountLedger)
                    .join(Account, Account.id == AccountLedger.account_id)
                    .where(
                        Account.organisation_id == run.organisation_id,
                        Account.account_number <= run.cursor,
                    )
                )
                or 0
            )
    await progress(done, max(total, done))
    while True:
        async with sessionmaker() as session, session.begin():
            run = await session.get(NoticeRun, run_id, with_for_update=True)
            assert run is not None
            read = await process_chunk(session=session, run=run, selector=selector, chunk=chunk)
            if read is None:
                who = Principal(
                    key_id=op.key_id,
                    name=str((op.params or {}).get("requested_by") or "notice-run"),
                    scopes=frozenset({"court"}),
                    organisation_ids=frozenset({run.organisation_id}),
                )
                await _finish(session, who, run)
                return run_result(run)
        done += read
        await progress(done, max(total, done))


async def get_run(*, session: AsyncSession, principal: Principal, run_id: uuid.UUID) -> NoticeRun:
    """Load a notice run the caller may see."""
    run = await session.get(NoticeRun, run_id)
    if run is None or not principal.may_access(run.organisation_id):
        raise errors.NotFoundError(f"Notice run {run_id} not found.")
    return run


async def list_notices(*, session: AsyncSession, run_id: uuid.UUID) -> list[Notice]:
    """Return a run's notices in register order."""
    return list(
        (await session.scalars(select(Notice).where(Notice.run_id == run_id).order_by(Notice.seq))).all()
    )


async def get_notice(*, session: AsyncSession, principal: Principal, notice_id: uuid.UUID) -> Notice:
    """Load a notice the caller may see."""
    notice = await session.get(Notice, notice_id)
    if notice is None or not principal.may_access(notice.organisation_id):
        raise errors.NotFoundError(f"Notice {notice_id} not found.")
    return notice


@dataclass(frozen=True)
class Addressee:
    """Whom a notice goes to and where (personal data: documents only, never logs)."""

    name: str
    address: str


async def addressees(session: AsyncSession, account_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Addressee]:
    """Return the payer's name and the premises address of each account."""
    out: dict[uuid.UUID, Addressee] = {}
    for start in range(0, len(account_ids), 500):
        part = account_ids[start : start + 500]
        accounts = (await session.scalars(select(Account).where(Account.id.in_(part)))).all()
        places = (
            await session.execute(
                select(AccountPremises.account_id, House.address, Premises.number_raw)
                .join(Premises, Premises.id == AccountPremises.premises_id)
                .join(House, House.id == Premises.house_id)
                .where(AccountPremises.account_id.in_(part))
            )
        ).all()
        where = {a: f"{addr or ''}, пом. {num}".lstrip(", ") for a, addr, num in places}
        for a in accounts:
            if a.payer_kind == "person":
                name = " ".join(x for x in (a.last_name, a.first_name, a.middle_name) if x)
            else:
                name = a.org_name or ""
            out[a.id] = Addressee(name=name, address=where.get(a.id, ""))
    return out


async def record_event(
    *,
    session: AsyncSession,
    principal: Principal,
    notice_id: uuid.UUID,
    event: Event,
    on_date: date,
    channel: Channel | None = None,
    source: str = "api",
) -> Notice:
    """Journal what happened to a notice; only allowed moves, never a date before the sending."""
    notice = await get_notice(session=session, principal=principal, notice_id=notice_id)
    if notice.status not in _FROM[event]:
        raise errors.ConflictError(
            f"A {notice.status} notice cannot become {event}.",
            errors=[
                errors.FieldProblem("body.event", "notice_transition", f"not allowed after {notice.status}")
            ],
            rule="notice_transition",
        )
    if event != "sent" and notice.sent_on is not None and on_date < notice.sent_on:
        raise errors.RuleViolation(
            f"{event} on {on_date} is before the notice was sent ({notice.sent_on}).",
            errors=[errors.FieldProblem("body.on_date", "before_sent", "earlier than the sending date")],
            rule="before_sent",
        )
    notice.status = event
    setattr(notice, f"{event}_on", on_date)
    if event == "sent":
        notice.channel = channel
        notice.delivered_on = notice.returned_on = notice.refused_on = None
    session.add(
        NoticeEvent(
            notice_id=notice.id,
            event=event,
            on_date=on_date,
            channel=channel or notice.channel,
            source=source,
        )
    )
    await audit.record(
        session=session,
        principal=principal,
        action=f"notice.{event}",
        resource_type="notice",
        resource_id=notice.id,
        organisation_id=notice.organisation_id,
        details={"on_date": on_date.isoformat(), "channel": channel or notice.channel, "source": source},
    )
    await session.flush()
    return notice


class JournalLine(BaseModel):
    """One line of a delivery-journal CSV (columns notice_id, event, on_date, channel)."""

    model_config = ConfigDict(extra="ignore")

    notice_id: uuid.UUID
    event: Event
    on_date: date
    channel: Channel | None = None


async def import_journal(*, session: AsyncSession, principal: Principal, data: bytes) -> dict[str, Any]:
    """Apply a delivery-journal CSV line by line; a bad line is reported with its reason, the rest applied."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise errors.RuleViolation(
            "The journal file must be UTF-8 CSV.",
            errors=[errors.FieldProblem("body.file", "encoding", "not UTF-8")],
            rule="encoding",
        ) from exc
    sample = text[:2048]
    delimiter = ";" if sample.count(";") > sample.count(",") else ","
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    missing = {"notice_id", "event", "on_date"} - set(reader.fieldnames or [])
    if missing:
        raise errors.RuleViolation(
            f"The journal file lacks the columns {sorted(missing)}.",
            errors=[errors.FieldProblem("body.file", "columns", f"missing {sorted(missing)}")],
            rule="columns",
        )
    applied, rejected = 0, []
    for line_no, raw in enumerate(reader, start=2):
        try:
            line = JournalLine.model_validate({k: (v or None) for k, v in raw.items() if k})
            async with session.begin_nested():
                await record_event(
                    session=session,
                    principal=principal,
                    notice_id=line.notice_id,
                    event=line.event,
                    on_date=line.on_date,
                    channel=line.channel,
                    source="csv",
                )
            applied += 1
        except ValidationError as exc:
            first = exc.errors()[0]
            rejected.append(
                {"line": line_no, "field": ".".join(map(str, first["loc"])), "rule": first["type"]}
            )
        except errors.DomainError as exc:
            field = exc.errors[0].path.removeprefix("body.") if exc.errors else "notice_id"
            rejected.append({"line": line_no, "field": field, "rule": exc.rule})
    return {"applied": applied, "rejected": len(rejected), "rejected_lines": rejected}


async def count_in_month(
    session: AsyncSession, organisation_id: uuid.UUID, first: date, last: date
) -> dict[str, Any]:
    """Return the month's journal counts and debt sums by event (the municipal report's measures)."""
    rows = (
        await session.execute(
            select(NoticeEvent.event, func.count(), func.coalesce(func.sum(Notice.debt), 0))
            .join(Notice, Notice.id == NoticeEvent.notice_id)
            .where(
                Notice.organisation_id == organisation_id,
                NoticeEvent.on_date >= first,
                NoticeEvent.on_date <= last,
            )
            .group_by(NoticeEvent.event)
        )
    ).all()
    return {event: (int(n), Decimal(s).quantize(_CENT)) for event, n, s in rows}
