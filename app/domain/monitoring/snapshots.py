"""Monthly snapshots: computed from the ledgers chunk by chunk, stored, recomputed only when asked."""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, String, cast, delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models.accounts import Account, AccountLedger, AccountPremises, Premises
from app.db.models.core import Operation
from app.db.models.monitoring import MonitoringSnapshot, MonitoringSnapshotRow
from app.domain.accounts.ledger import decode_months
from app.domain.kernel import audit, errors
from app.domain.kernel import operations as ops
from app.domain.kernel.access import Principal, require_organisation
from app.domain.monitoring.effect import EffectCounter, load_measures, month_index
from app.domain.monitoring.figures import BUCKET_NAMES, stored_month
from app.settings import MonitoringSettings

SNAPSHOT_JOB = "monitoring-snapshot"
CHUNK = 5000
#: The house of an account whose premises are unknown (cannot happen through the import; kept total-safe).
NO_HOUSE = uuid.UUID(int=0)
_CENT = Decimal("0.01")

#: A row's summed kopeck figures, in this order.
FIGURES = ("charged", "paid", "debt", *BUCKET_NAMES)


@dataclass
class Tally:
    """Running sums of one house and category (or of the whole organisation), in kopecks."""

    accounts: int = 0
    debtors: int = 0
    #: Kopecks in `FIGURES` order (a list: the pass adds to it a million times).
    sums: list[int] = field(default_factory=lambda: [0] * len(FIGURES))

    def add(self, other: Tally) -> None:
        """Add another tally's figures to this one."""
        self.accounts += other.accounts
        self.debtors += other.debtors
        self.sums = [a + b for a, b in zip(self.sums, other.sums, strict=True)]

    def amounts(self) -> dict[str, Decimal]:
        """Return the summed figures in roubles by name."""
        return {k: rub(v) for k, v in zip(FIGURES, self.sums, strict=True)}

    def as_row(self) -> dict[str, Any]:
        """Return the figures in roubles with the derived rates."""
        out: dict[str, Any] = {"accounts": self.accounts, "debtors": self.debtors}
        out.update(self.amounts())
        out.update(rates(self.accounts, self.debtors, self.sums[0], self.sums[1]))
        return out


def rub(kopecks: int) -> Decimal:
    """Return kopecks as roubles with two decimals."""
    return (Decimal(kopecks) / 100).quantize(_CENT)


def rates(
    accounts: int, debtors: int, charged: int | Decimal, paid: int | Decimal
) -> dict[str, Decimal | None]:
    """Return the debtor share and the collection rate (paid ÷ charged; none without charges)."""
    return {
        "debtor_share": (Decimal(debtors) / accounts).quantize(Decimal("0.0001")) if accounts else None,
        "collection_rate": (Decimal(paid) / Decimal(charged)).quantize(Decimal("0.0001"))
        if charged > 0
        else None,
    }


def first_of_month(day: date) -> date:
    """Return the first day of the month of `day`."""
    return day.replace(day=1)


def _pass_query(organisation_id: uuid.UUID) -> Select[Any]:
    """Return the snapshot's one query: every account of the organisation, its stored ledger and house."""
    # An account over premises of several houses counts in one: the smallest id as text, the same every time
    # (and on both backends: SQLite keeps UUIDs as 32 hex digits, PostgreSQL prints them with hyphens; the
    # hyphens stand at the same places, so both order alike).
    house = func.min(cast(Premises.house_id, String))
    houses = (
        select(AccountPremises.account_id, house.label("house"))
        .join(Premises, Premises.id == AccountPremises.premises_id)
        .join(Account, Account.id == AccountPremises.account_id)
        .where(Account.organisation_id == organisation_id)
        .group_by(AccountPremises.account_id)
        .subquery()
    )
    return (
        select(
            Account.id,
            Account.account_number,
            Account.consumer_category,
            AccountLedger.months,
            houses.c.house,
        )
        .outerjoin(AccountLedger, AccountLedger.account_id == Account.id)
        .outerjoin(houses, houses.c.account_id == Account.id)
        .where(Account.organisation_id == organisation_id)
    )


async def compute_snapshot(
    *,
    session: AsyncSession,
    organisation_id: uuid.UUID,
    month: date,
    settings: MonitoringSettings,
    operation_id: uuid.UUID | None = None,
    on_chunk: Callable[[int], Awaitable[None]] | None = None,
) -> MonitoringSnapshot:
    """Compute and store the organisation's snapshot of `month`, replacing a stored one (version + 1)."""
    month = first_of_month(month)
    minimum = int(settings.debtor_min * 100)
    #: By (house id as the query gives it, category).
    groups: dict[tuple[str, str], Tally] = defaultdict(Tally)
    top: list[tuple[int, str, uuid.UUID, int]] = []
    measures, by_account = await load_measures(session, organisation_id, month)
    effect = EffectCounter(measures, by_account)
    done = 0
    newest = ""
    # One pass: a server-side cursor over the organisation's accounts with their ledger and house, read in
    # chunks. (Keyset pages ordered by account id made PostgreSQL merge-join the ledger from its start for
    # every page: quadratic over a million accounts.)
    result = await session.stream(_pass_query(organisation_id), execution_options={"yield_per": CHUNK})
    async for rows in result.partitions(CHUNK):
        for account_id, number, category, months_text, house in rows:
            if not months_text:
                continue  # never billed
            stored = json.loads(months_text)
            if stored and stored[-1][0] > newest:
                newest = stored[-1][0]
            if account_id in by_account:
                effect.see(account_id, decode_months(months_text))
            figures = stored_month(stored, month)
            if figures is None:
                continue
            tally = groups[(house or "", category)]
            tally.accounts += 1
            if figures.debt > minimum:
                tally.debtors += 1
                top.append((figures.debt, number, account_id, figures.oldest_overdue))
            sums = tally.sums
            sums[0] += figures.charged
            sums[1] += figures.paid
            sums[2] += figures.debt
            for i, value in enumerate(figures.ages, 3):
                sums[i] += value
        top.sort(key=lambda t: (-t[0], t[1]))
        del top[settings.top_debtors :]
        done += len(rows)
        if on_chunk is not None:
            await on_chunk(done)
    if newest:
        effect.newest_month = month_index(date.fromisoformat(newest))
    total = Tally()
    for tally in groups.values():
        total.add(tally)

    snapshot = await session.scalar(
        select(MonitoringSnapshot).where(
            MonitoringSnapshot.organisation_id == organisation_id, MonitoringSnapshot.month == month
        )
    )
    totals = {
        k: (str(v) if v is not None and not isinstance(v, int) else v) for k, v in total.as_row().items()
    }
    totals["debtor_min"] = str(settings.debtor_min)
    top_debtors = [
        {"account_id": str(a), "account_number": n, "debt": str(rub(d)), "months_overdue": m}
        for d, n, a, m in top
    ]
    if snapshot is None:
        snapshot = MonitoringSnapshot(
            organisation_id=organisation_id,
            month=month,
            version=1,
            totals=totals,
            top_debtors=top_debtors,
            effect=effect.rows(),
        )
        session.add(snapshot)
    else:
        snapshot.version += 1
        snapshot.totals = totals
        snapshot.top_debtors = top_debtors
        snapshot.effect = effect.rows()
        await session.execute(
            delete(MonitoringSnapshotRow).where(MonitoringSnapshotRow.snapshot_id == snapshot.id)
        )
    snapshot.operation_id = operation_id
    await session.flush()
    values = []
    for (house, category), tally in groups.items():
        values.append(
            {
                "snapshot_id": snapshot.id,
                "house_id": uuid.UUID(house) if house else NO_HOUSE,
                "category": category,
                "accounts": tally.accounts,
                "debtors": tally.debtors,
                **tally.amounts(),
            }
        )
    for start in range(0, len(values), 1000):
        await session.execute(insert(MonitoringSnapshotRow), values[start : start + 1000])
    return snapshot


async def find_snapshot(
    *, session: AsyncSession, organisation_id: uuid.UUID, month: date
) -> MonitoringSnapshot | None:
    """Return the stored snapshot of an organisation's month, if any."""
    return await session.scalar(
        select(MonitoringSnapshot).where(
            MonitoringSnapshot.organisation_id == organisation_id,
            MonitoringSnapshot.month == first_of_month(month),
        )
    )


async def request_snapshot(
    *,
    session: AsyncSession,
    principal: Principal,
    organisation_id: uuid.UUID,
    month: date,
    recompute: bool,
    settings: MonitoringSettings,
) -> tuple[MonitoringSnapshot | None, Operation | None]:
    """Compute a month's snapshot: small organisations at once, large ones as an operation; journaled."""
    await require_organisation(session=session, principal=principal, organisation_id=organisation_id)
    month = first_of_month(month)
    existing = await find_snapshot(session=session, organisation_id=organisation_id, month=month)
    if existing is not None and not recompute:
        raise errors.ConflictError(
            f"The snapshot of {month:%Y-%m} exists (version {existing.version}); snapshots keep history. "
            "Ask for a re-computation explicitly with recompute=true.",
            errors=[errors.FieldProblem("body.recompute", "snapshot_exists", "set recompute to true")],
            rule="snapshot_exists",
        )
    count = int(
        await session.scalar(
            select(func.count()).select_from(Account).where(Account.organisation_id == organisation_id)
        )
        or 0
    )
    action = "monitoring_snapshot.recompute" if existing is not None else "monitoring_snapshot.compute"
    details = {"month": month.isoformat(), "accounts": count}
    if existing is not None:
        details["previous_version"] = existing.version
        details["previous_totals"] = existing.totals
    if count <= settings.inline_limit:
        snapshot = await compute_snapshot(
            session=session, organisation_id=organisation_id, month=month, settings=settings
        )
        details["version"] = snapshot.version
        await audit.record(
            session=session,
            principal=principal,
            action=action,
            resource_type="monitoring_snapshot",
            resource_id=snapshot.id,
            organisation_id=organisation_id,
            details=details,
        )
        return snapshot, None
    op = await ops.create(
        session=session,
        principal=principal,
        kind=SNAPSHOT_JOB,
        organisation_id=organisation_id,
        params={"organisation_id": str(organisation_id), "month": month.isoformat()},
        total=count,
    )
    await audit.record(
        session=session,
        principal=principal,
        action=action,
        resource_type="operation",
        resource_id=op.id,
        organisation_id=organisation_id,
        details=details,
    )
    return None, op


async def run_snapshot_job(op: Operation, progress: ops.Progress, ctx: Any) -> dict[str, Any]:
    """Compute a large organisation's snapshot in one transaction (a crash leaves the old one intact)."""
    params = op.params or {}
    async with ctx.sessionmaker() as session, session.begin():
        snapshot = await compute_snapshot(
            session=session,
            organisation_id=uuid.UUID(params["organisation_id"]),
            month=date.fromisoformat(params["month"]),
            settings=ctx.settings.monitoring,
            operation_id=op.id,
            on_chunk=progress,
        )
        return {"snapshot_id": str(snapshot.id), "version": snapshot.version, "totals": snapshot.totals}


async def get_snapshot(
    *, session: AsyncSession, principal: Principal, snapshot_id: uuid.UUID
) -> tuple[MonitoringSnapshot, list[MonitoringSnapshotRow]]:
    """Load a snapshot the caller may see, with its rows by house and category."""
    snapshot = await session.get(MonitoringSnapshot, snapshot_id)
    if snapshot is None or not principal.may_access(snapshot.organisation_id):
        raise errors.NotFoundError(f"Snapshot {snapshot_id} not found.")
    rows = (
        await session.scalars(
            select(MonitoringSnapshotRow)
            .where(MonitoringSnapshotRow.snapshot_id == snapshot.id)
            .order_by(MonitoringSnapshotRow.house_id, MonitoringSnapshotRow.category)
        )
    ).all()
    return snapshot, list(rows)


async def list_snapshots(
    *, session: AsyncSession, principal: Principal, organisation_id: uuid.UUID, months: int
) -> list[MonitoringSnapshot]:
    """Return the organisation's latest `months` snapshots, oldest first (the trend)."""
    await require_organisation(session=session, principal=principal, organisation_id=organisation_id)
    found = (
        await session.scalars(
            select(MonitoringSnapshot)
            .where(MonitoringSnapshot.organisation_id == organisation_id)
            .order_by(MonitoringSnapshot.month.desc())
            .limit(months)
        )
    ).all()
    return list(reversed(found))
