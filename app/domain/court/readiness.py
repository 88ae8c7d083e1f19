"""Readiness runs for a court order: debtors and ledgers loaded in bulk, assessed, stored, as a job.

The rules themselves (the claim from the ledger, limitation, penalties, duty, the 500,000 ₽ limit,
identifiers, jurisdiction) are pure functions in `court.assessment`; this module loads their inputs in chunks
with one core query each (100,000 debtors × 36 months within a minute) and keeps runs and their verdicts.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import String, delete, func, insert, select, type_coerce
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.base import utcnow
from app.db.models.accounts import Account, AccountLedger, AccountPremises, House, Premises
from app.db.models.core import Operation
from app.db.models.court import DRAFT, CourtCase, CourtReadinessResult, CourtReadinessRun
from app.domain.accounts.ledger import decode_months, kopecks
from app.domain.agreements import kept_agreement_accounts
from app.domain.court.assessment import Assessment, CaseInput, Debtor, LedgerRow, PenaltyPricer, assess
from app.domain.court.rules import CourtRules, court_rules
from app.domain.kernel import audit, errors
from app.domain.kernel import operations as ops
from app.domain.kernel.access import Principal, require_organisation
from app.domain.kernel.snils import is_valid_snils
from app.domain.monitoring.delivered import DeliveredNotice, delivered_notices
from app.domain.writeoff import written_off_months

_ZERO = Decimal("0")
_CENT = Decimal("0.01")

# ------------------------------------------------------------------------------------------ bulk loading


def debtor_key(d: Debtor) -> str:
    """Return the key grouping one citizen's accounts: SNILS, else name and birth date, else the account."""
    if d.snils and is_valid_snils(d.snils):
        return "s:" + d.snils
    if d.last_name and d.first_name and d.birth_date:
        name = " ".join(
            x.casefold().replace("ё", "е") for x in (d.last_name, d.first_name, d.middle_name or "")
        )
        return f"n:{name.strip()}:{d.birth_date.isoformat()}"
    return "a:" + str(d.account_id)


_ACCOUNT_COLUMNS = (
    Account.id,
    Account.payer_kind,
    Account.last_name,
    Account.first_name,
    Account.middle_name,
    Account.birth_date,
    Account.birth_place,
    Account.snils,
    Account.inn,
    Account.id_doc_type,
    Account.id_doc_series,
    Account.id_doc_number,
    House.address,
    Premises.number_raw,
    House.region,
    House.fias_house_guid,
    House.hm_object_guid,
    Premises.gis_premises_guid,
    Account.account_number,
    Account.dispute,
    Account.bankruptcy,
)


def _debtor(row: Sequence[Any]) -> Debtor:
    return Debtor(*row)


async def load_debtors(
    *, session: AsyncSession, organisation_id: uuid.UUID, account_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Debtor]:
    """Load the payer and residence of each account (the first residential premises when there are many)."""
    stmt = (
        select(*_ACCOUNT_COLUMNS)
        .select_from(Account)
        .outerjoin(AccountPremises, AccountPremises.account_id == Account.id)
        .outerjoin(Premises, Premises.id == AccountPremises.premises_id)
        .outerjoin(House, House.id == Premises.house_id)
        .where(Account.organisation_id == organisation_id, Account.id.in_(list(account_ids)))
        .order_by(Account.id, Premises.residential.desc(), Premises.number_norm)
    )
    out: dict[uuid.UUID, Debtor] = {}
    for row in (await session.execute(stmt)).all():
        if row[0] not in out:
            out[row[0]] = _debtor(row)
    return out


async def load_ledgers(
    account_ids: Sequence[uuid.UUID], *, session: AsyncSession
) -> dict[uuid.UUID, list[LedgerRow]]:
    """Load the ledger of each account with one core query (amounts in kopecks)."""
    ids = list(account_ids)
    conn = await session.connection()
    sqlite = conn.dialect.name == "sqlite"
    # Hot path (millions of months per run): skip the ORM, and on SQLite read the account id as its stored
    # hex text instead of parsing a UUID per row; asyncpg decodes UUIDs natively.
    account_col: Any = type_coerce(AccountLedger.account_id, String) if sqlite else AccountLedger.account_id
    stmt = select(account_col, AccountLedger.months).where(AccountLedger.account_id.in_(ids))
    out: dict[uuid.UUID, list[LedgerRow]] = {a: [] for a in ids}
    by_key: dict[Any, list[LedgerRow]] = {(a.hex if sqlite else a): out[a] for a in ids}
    for key, months in (await conn.execute(stmt)).all():
        by_key[key].extend(
            LedgerRow(m.period, kopecks(m.charged), kopecks(m.paid), m.due_date)
            for m in decode_months(months)
        )
    return out


async def load_covered_months(
    *, session: AsyncSession, organisation_id: uuid.UUID
) -> dict[tuple[uuid.UUID, date], uuid.UUID]:
    """Return (account, billing month) → case id for every month claimed by a case filed with a court."""
    stmt = select(CourtCase.id, CourtCase.account_ids, CourtCase.months, CourtCase.claim).where(
        CourtCase.organisation_id == organisation_id, CourtCase.status != DRAFT
    )
    out: dict[tuple[uuid.UUID, date], uuid.UUID] = {}
    for case_id, account_ids, months, claim in (await session.execute(stmt)).all():
        lines = claim.get("months") if isinstance(claim, dict) else None
        if lines:
            for line in lines:
                out[(uuid.UUID(line["account_id"]), date.fromisoformat(line["period"]))] = case_id
        else:
            for account in account_ids:
                for month in months:
                    out[(uuid.UUID(account), date.fromisoformat(month))] = case_id
    return out


async def organisation_account_ids(*, session: AsyncSession, organisation_id: uuid.UUID) -> list[uuid.UUID]:
    """Return the ids of the organisation's personal accounts, ordered."""
    stmt = select(Account.id).where(Account.organisation_id == organisation_id).order_by(Account.id)
    return list((await session.scalars(stmt)).all())


async def group_cases(
    *, session: AsyncSession, organisation_id: uuid.UUID, account_ids: Sequence[uuid.UUID], group_by: str
) -> list[list[uuid.UUID]]:
    """Split accounts into cases: one per account, or one per debtor (SNILS, else name and birth date)."""
    if group_by != "debtor":
        return [[a] for a in account_ids]
    groups: dict[str, list[uuid.UUID]] = {}
    ids = list(account_ids)
    for start in range(0, len(ids), 5000):
        chunk = ids[start : start + 5000]
        stmt = select(
            Account.id,
            Account.snils,
            Account.last_name,
            Account.first_name,
            Account.middle_name,
            Account.birth_date,
        ).where(Account.organisation_id == organisation_id, Account.id.in_(chunk))
        for aid, snils, last, first, middle, born in (await session.execute(stmt)).all():
            key = debtor_key(
                Debtor(
                    aid, snils=snils, last_name=last, first_name=first, middle_name=middle, birth_date=born
                )
            )
            groups.setdefault(key, []).append(aid)
    return list(groups.values())


async def iter_assessments(
    *,
    session: AsyncSession,
    organisation_id: uuid.UUID,
    cases: Sequence[Sequence[uuid.UUID]],
    on_date: date,
    rules: CourtRules,
    chunk: int = 2000,
) -> AsyncIterator[list[Assessment]]:
    """Assess cases chunk by chunk (one accounts query and one ledger query per chunk)."""
    pricer = PenaltyPricer(rules, on_date)
    covered = await load_covered_months(session=session, organisation_id=organisation_id)
    kept = await kept_agreement_accounts(session=session, organisation_id=organisation_id)
    gone = await written_off_months(session=session, organisation_id=organisation_id)
    notices = (
        await delivered_notices(session=session, organisation_id=organisation_id, on_date=on_date)
        if rules.require_notice_delivered
        else {}
    )
    batch: list[Sequence[uuid.UUID]] = []
    size = 0
    for case in cases:
        batch.append(case)
        size += len(case)
        if size >= chunk:
            yield await _assess_batch(
                session, organisation_id, batch, on_date, rules, pricer, covered, kept, gone, notices
            )
            batch, size = [], 0
    if batch:
        yield await _assess_batch(
            session, organisation_id, batch, on_date, rules, pricer, covered, kept, gone, notices
        )


async def _assess_batch(
    session: AsyncSession,
    organisation_id: uuid.UUID,
    batch: Sequence[Sequence[uuid.UUID]],
    on_date: date,
    rules: CourtRules,
    pricer: PenaltyPricer,
    covered: dict[tuple[uuid.UUID, date], uuid.UUID],
    kept: set[uuid.UUID],
    gone: set[tuple[uuid.UUID, date]],
    notices: dict[uuid.UUID, DeliveredNotice],
) -> list[Assessment]:
    ids = [a for case in batch for a in case]
    debtors = await load_debtors(session=session, organisation_id=organisation_id, account_ids=ids)
    ledgers = await load_ledgers(list(debtors), session=session)
    out: list[Assessment] = []
    for case in batch:
        found = [debtors[a] for a in case if a in debtors]
        if not found:
            continue
        ledger = tuple((d.account_id, row) for d in found for row in ledgers.get(d.account_id, ()))
        # The covered map is keyed by account, so the whole run's map is shared rather than sliced per case.
        out.append(
            assess(
                CaseInput(tuple(found), ledger, covered, kept, gone, notices),
                on_date=on_date,
                rules=rules,
                pricer=pricer,
            )
        )
    return out


# ------------------------------------------------------------------------------------- persisted runs


ProgressFn = Callable[[int, int], Awaitable[None]]


async def create_run(
    *,
    session: AsyncSession,
    organisation_id: uuid.UUID,
    on_date: date,
    group_by: str,
    account_ids: Sequence[uuid.UUID] | None,
) -> CourtReadinessRun:
    """Add a readiness run (status pending); `account_ids` None means every account of the organisation."""
    run = CourtReadinessRun(
        organisation_id=organisation_id,
        on_date=on_date,
        group_by=group_by,
        status="pending",
        params={"account_ids": [str(a) for a in account_ids] if account_ids is not None else None},
        total=0,
        ready=0,
        blocked=0,
    )
    session.add(run)
    await session.flush()
    return run


async def execute_run(
    *,
    session: AsyncSession,
    run: CourtReadinessRun,
    rules: CourtRules,
    chunk: int = 2000,
    on_chunk: ProgressFn | None = None,
) -> CourtReadinessRun:
    """Compute and store every verdict of a run; re-running replaces earlier results (idempotent)."""
    await session.execute(delete(CourtReadinessResult).where(CourtReadinessResult.run_id == run.id))
    raw = (run.params or {}).get("account_ids")
    if raw is None:
        account_ids = await organisation_account_ids(session=session, organisation_id=run.organisation_id)
    else:
        account_ids = [uuid.UUID(a) for a in raw]
    cases = await group_cases(
        session=session, organisation_id=run.organisation_id, account_ids=account_ids, group_by=run.group_by
    )
    run.status, run.total, run.ready, run.blocked = "running", len(cases), 0, 0
    counts: dict[str, int] = {}
    seq = done = 0
    async for batch in iter_assessments(
        session=session,
        organisation_id=run.organisation_id,
        cases=cases,
        on_date=run.on_date,
        rules=rules,
        chunk=chunk,
    ):
        rows = []
        for a in batch:
            seq += 1
            rows.append(
                {
                    "run_id": run.id,
                    "seq": seq,
                    "account_id": a.account_ids[0],
                    "account_ids": [str(x) for x in a.account_ids],
                    "ready": a.ready,
                    "principal": a.principal,
                    "penalties": a.penalties,
                    "duty": a.duty,
                    "total": a.total,
                    "months_claimed": len(a.months),
                    "verdict": a.verdict(),
                }
            )
            if a.ready:
                run.ready += 1
            else:
                run.blocked += 1
            for b in a.blockers:
                counts[b.rule] = counts.get(b.rule, 0) + 1
        if rows:
            await session.execute(insert(CourtReadinessResult), rows)
        done += len(batch)
        run.blockers = dict(counts)
        await session.flush()
        if on_chunk is not None:
            await on_chunk(done, len(cases))
    run.total = seq
    run.status = "done"
    run.blockers = counts
    run.finished_at = utcnow()
    await session.flush()
    return run


async def get_run(*, session: AsyncSession, run_id: uuid.UUID, principal: Principal) -> CourtReadinessRun:
    """Load a readiness run the caller may see."""
    run = await session.get(CourtReadinessRun, run_id)
    if run is None or not principal.may_access(run.organisation_id):
        raise errors.NotFoundError(f"Readiness run {run_id} not found.")
    return run


async def list_results(
    *,
    session: AsyncSession,
    run_id: uuid.UUID,
    ready: bool | None = None,
    rule: str | None = None,
    after_seq: int = 0,
    limit: int = 100,
) -> list[CourtReadinessResult]:
    """Return a run's verdicts in order, keyset-paginated by sequence number."""
    stmt = (
        select(CourtReadinessResult)
        .where(CourtReadinessResult.run_id == run_id, CourtReadinessResult.seq > after_seq)
        .order_by(CourtReadinessResult.seq)
    )
    if ready is not None:
        stmt = stmt.where(CourtReadinessResult.ready.is_(ready))
    if rule is None:
        rows = (await session.scalars(stmt.limit(limit))).all()
        return list(rows)
    # Filtering inside the JSON verdict is not portable across SQLite and PostgreSQL; scan in pages instead.
    out: list[CourtReadinessResult] = []
    last = after_seq
    while len(out) < limit:
        page = (await session.scalars(stmt.where(CourtReadinessResult.seq > last).limit(500))).all()
        if not page:
            break
        for row in page:
            if any(b["rule"] == rule for b in row.verdict.get("blockers", [])):
                out.append(row)
                if len(out) == limit:
                    break
        last = page[-1].seq
    return out


READINESS_JOB = "court-readiness"


async def request_readiness(
    *,
    session: AsyncSession,
    principal: Principal,
    organisation_id: uuid.UUID,
    account_ids: Sequence[uuid.UUID] | None,
    on_date: date,
    group_by: str,
    rules: CourtRules,
    inline_limit: int,
    chunk: int,
) -> tuple[CourtReadinessRun, Operation | None]:
    """Check readiness: small sets at once (in the caller's transaction), large ones as an operation."""
    await require_organisation(session=session, principal=principal, organisation_id=organisation_id)
    if account_ids is not None:
        account_ids = list(dict.fromkeys(account_ids))
        count = len(account_ids)
    else:
        count = int(
            await session.scalar(
                select(func.count()).select_from(Account).where(Account.organisation_id == organisation_id)
            )
            or 0
        )
    run = await create_run(
        session=session,
        organisation_id=organisation_id,
        on_date=on_date,
        group_by=group_by,
        account_ids=account_ids,
    )
    await audit.record(
        session=session,
        principal=principal,
        action="court_readiness.run",
        resource_type="court_readiness_run",
        resource_id=run.id,
        organisation_id=organisation_id,
        details={"accounts": count, "on_date": on_date.isoformat(), "group_by": group_by},
    )
    if count <= inline_limit:
        await execute_run(session=session, run=run, rules=rules, chunk=chunk)
        return run, None
    op = await ops.create(
        session=session,
        principal=principal,
        kind=READINESS_JOB,
        organisation_id=organisation_id,
        params={"run_id": str(run.id)},
        total=count,
    )
    run.operation_id = op.id
    return run, op


async def run_readiness_job(op: Operation, progress: ops.Progress, ctx: Any) -> dict[str, Any]:
    """Compute a large readiness run chunk by chunk, committing and reporting progress after each."""
    run_id = uuid.UUID((op.params or {})["run_id"])
    rules = court_rules(ctx.settings)
    async with ctx.sessionmaker() as session:
        run = await session.get(CourtReadinessRun, run_id)
        if run is None:
            raise errors.NotFoundError(f"Readiness run {run_id} not found.")

        async def on_chunk(done: int, total: int) -> None:
            await session.commit()
            await progress(done, total)

        await execute_run(
            session=session, run=run, rules=rules, chunk=ctx.settings.court.readiness_chunk, on_chunk=on_chunk
        )
        await session.commit()
        return {
            "run_id": str(run.id),
            "total": run.total,
            "ready": run.ready,
            "blocked": run.blocked,
            "blockers": run.blockers,
        }
