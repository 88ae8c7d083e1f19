"""Residential premises placed in GIS per month (the experiment's premises criterion), counted from GIS.

The criterion (domain-rules §7) is the monthly maximum, over the year, of the residential premises for which
the organisation's data is placed in GIS ZhKKh. GIS publishes no such figure and no "every document of an
organisation" export, so the `court-premises-count` operation derives it from GIS's own data:

1. the accounts in GIS: `exportAccountData` per house of the organisation (billing's houses with a FIAS
   GUID and the houses synced from GIS, or the houses the caller names), each account with the premises it
   covers (`Accommodation`: premises, room, or a whole living house);
2. the payment documents placed per month: `exportPaymentDocumentData` for the month with the accounts in
   blocks of 1000 (the only way GIS reads a month);
3. a residential premises counts in a month when an account covering it has a document for that month.
   Premises GIS lists as non-residential (the house-data sync) are left out.

Every exchange goes through the exchange engine with an idempotency key made of the operation id and the
house, or the month and block, so a resumed operation reuses what GIS already answered; a month is stored
(`court_premises_counts`, with the billing count of the month beside it) in its own transaction once all
its blocks are read, and a resumed operation skips the months it stored. At most
`court.premises_count_concurrency` exchanges are in flight.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, TypeVar

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.context import AppContext
from app.db.base import utcnow
from app.db.models.core import Operation
from app.db.models.court import CourtPremisesCount
from app.db.models.houses import GisPremises
from app.domain.accounts.registry import premises_stats
from app.domain.houses.sync import organisation_houses
from app.domain.kernel import audit
from app.domain.kernel import errors as d
from app.domain.kernel import operations as ops
from app.domain.kernel.access import Principal
from app.domain.kernel.gis_port import BillsGis, HouseManagementGis
from app.gis_client.messages import (
    MAX_PAYMENT_DOCUMENT_ACCOUNTS,
    ExportAccountQuery,
    ExportPaymentDocumentQuery,
)
from app.gis_client.outcome import GisError

log = logging.getLogger(__name__)

COUNT_JOB = "court-premises-count"
#: ref_kind of the exchanges a count runs.
REF_KIND = "court-premises-count"
#: Source named by the premises criterion when the figure comes from this count.
SOURCE = "gis_payment_documents"

T = TypeVar("T")


class PremisesGis(HouseManagementGis, BillsGis, Protocol):
    """What the count needs from GIS: the accounts per house and the payment documents per month."""


@dataclass(frozen=True)
class MonthCount:
    """One stored month: premises placed in GIS, accounts and documents behind it, and billing's figure."""

    year: int
    month: int
    gis_premises: int
    gis_accounts: int
    payment_documents: int
    billing_premises: int | None
    houses: int
    counted_at: datetime
    operation_id: uuid.UUID | None

    @property
    def difference(self) -> int | None:
        """Billing minus GIS: premises billed but not placed in GIS (positive) or the reverse (negative)."""
        return None if self.billing_premises is None else self.billing_premises - self.gis_premises


def _months(year: int, months: Sequence[int] | None) -> list[int]:
    chosen = sorted(set(months or range(1, 13)))
    bad = [m for m in chosen if not 1 <= m <= 12]
    if bad:
        raise d.RuleViolation(
            f"Months {bad} are not months of the year: use 1 to 12.",
            errors=[d.FieldProblem("months", "range", "each month 1..12")],
            rule="month_range",
        )
    if not 2000 <= year <= 2100:
        raise d.RuleViolation(
            f"Year {year} is out of range.",
            errors=[d.FieldProblem("year", "range", "2000..2100")],
            rule="year_range",
        )
    return chosen


async def queue_count(
    *,
    session: AsyncSession,
    principal: Principal,
    organisation_id: uuid.UUID,
    year: int,
    months: Sequence[int] | None = None,
    fias_house_guids: Sequence[uuid.UUID] = (),
) -> Operation:
    """Queue a count of the organisation's residential premises placed in GIS per month of `year`."""
    principal.require_org(organisation_id)
    chosen = _months(year, months)
    op = await ops.create(
        session=session,
        principal=principal,
        kind=COUNT_JOB,
        organisation_id=organisation_id,
        params={"year": year, "months": chosen, "fias_house_guids": [str(g) for g in fias_house_guids]},
    )
    await audit.record(
        session=session,
        principal=principal,
        action="court.premises_count.queue",
        resource_type="operation",
        resource_id=op.id,
        organisation_id=organisation_id,
        details={"year": year, "months": len(chosen), "houses": len(fias_house_guids) or "all"},
    )
    return op


async def stored_counts(session: AsyncSession, organisation_id: uuid.UUID, year: int) -> list[MonthCount]:
    """Return the stored monthly counts of an organisation for a year, by month."""
    rows = (
        await session.scalars(
            select(CourtPremisesCount)
            .where(CourtPremisesCount.organisation_id == organisation_id, CourtPremisesCount.year == year)
            .order_by(CourtPremisesCount.month)
        )
    ).all()
    return [
        MonthCount(
            r.year, r.month, r.gis_premises, r.gis_accounts, r.payment_documents, r.billing_premises,
            r.houses, r.counted_at, r.operation_id,
        )
        for r in rows
    ]  # fmt: skip


@dataclass
class CountReport:
    """Counters of a count operation (no personal data)."""

    year: int
    houses_total: int = 0
    houses_not_in_gis: int = 0
    houses_failed: dict[str, str] = field(default_factory=dict)
    accounts: int = 0
    months: dict[str, dict[str, int]] = field(default_factory=dict)
    months_skipped: list[int] = field(default_factory=list)
    exchanges: int = 0

    def as_dict(self) -> dict[str, Any]:
        """Return the JSON result of the operation."""
        return {
            "year": self.year,
            "houses_total": self.houses_total,
            "houses_not_in_gis": self.houses_not_in_gis,
            "houses_failed": dict(list(self.houses_failed.items())[:1000]),
            "accounts": self.accounts,
            "months": self.months,
            "months_skipped": self.months_skipped,
            "exchanges": self.exchanges,
        }


async def _bounded(items: Sequence[T], concurrency: int, work: Callable[[T], Awaitable[None]]) -> None:
    """Run `work` over `items` with at most `concurrency` in flight (workers pull from one iterator)."""
    pending = iter(items)

    async def worker() -> None:
        for item in pending:
            await work(item)

    # A TaskGroup, not gather: one failure cancels the other workers instead of leaving them running; the
    # operation then fails with that first error itself (a GIS error names its cause), not a group.
    try:
        async with asyncio.TaskGroup() as group:
            for _ in range(max(1, min(concurrency, len(items) or 1))):
                group.create_task(worker())
    except BaseExceptionGroup as failed:
        raise failed.exceptions[0] from None


async def _accounts_in_gis(
    gis: PremisesGis,
    *,
    organisation_id: uuid.UUID,
    operation_id: uuid.UUID,
    houses: Sequence[uuid.UUID],
    non_residential: set[str],
    concurrency: int,
    report: CountReport,
) -> dict[str, tuple[str, ...]]:
    """Return account GUID → residential objects it covers, from exportAccountData per house."""
    covers: dict[str, tuple[str, ...]] = {}

    async def one(fias: uuid.UUID) -> None:
        try:
            accounts = await gis.export_accounts(
                organisation_id=organisation_id,
                query=ExportAccountQuery(fias_house_guid=str(fias)),
                ref_kind=REF_KIND,
                ref_id=None,
                idempotency_key=f"{operation_id}:accounts:{fias}",
            )
        except GisError as exc:
            log.warning("accounts of house %s not read: %s", fias, type(exc).__name__)
            report.houses_failed[str(fias)] = f"{type(exc).__name__}: {exc}"[:500]
            return
        report.exchanges += 1
        if not accounts:
            report.houses_not_in_gis += 1
        for account in accounts:
            # A premises, a room of a communal flat, or a whole living house; never non-residential premises.
            objects = tuple(
                a.guid.lower() for a in account.accommodations if a.guid.lower() not in non_residential
            )
            covers[account.account_guid.lower()] = objects

    await _bounded(houses, concurrency, one)
    return covers


async def _count_month(
    gis: PremisesGis,
    *,
    organisation_id: uuid.UUID,
    operation_id: uuid.UUID,
    year: int,
    month: int,
    covers: dict[str, tuple[str, ...]],
    concurrency: int,
    report: CountReport,
) -> tuple[int, int, int]:
    """Return (premises, accounts, documents) of a month from exportPaymentDocumentData in 1000-blocks."""
    guids = sorted(covers)
    blocks = [
        (i, tuple(guids[i : i + MAX_PAYMENT_DOCUMENT_ACCOUNTS]))
        for i in range(0, len(guids), MAX_PAYMENT_DOCUMENT_ACCOUNTS)
    ]
    premises: set[str] = set()
    billed: set[str] = set()
    documents = 0

    async def one(block: tuple[int, tuple[str, ...]]) -> None:
        nonlocal documents
        start, accounts = block
        found = await gis.export_payment_documents(
            organisation_id=organisation_id,
            query=ExportPaymentDocumentQuery(year=year, month=month, account_guids=accounts),
            ref_kind=REF_KIND,
            ref_id=None,
            idempotency_key=f"{operation_id}:documents:{year}-{month:02d}:{start}",
        )
        report.exchanges += 1
        for doc in found.documents:
            guid = doc.account_guid.lower()
            if guid in covers:
                documents += 1
                billed.add(guid)
                premises.update(covers[guid])

    await _bounded(blocks, concurrency, one)
    return len(premises), len(billed), documents


async def count_premises(
    *,
    sessionmaker: async_sessionmaker[AsyncSession],
    gis: PremisesGis,
    organisation_id: uuid.UUID,
    year: int,
    months: Sequence[int],
    operation_id: uuid.UUID,
    fias_house_guids: Sequence[str] = (),
    concurrency: int = 4,
    progress: ops.Progress | None = None,
) -> CountReport:
    """Count the residential premises placed in GIS per month and store each month; return the counters."""
    report = CountReport(year=year)
    async with sessionmaker() as session:
        houses = (
            [uuid.UUID(g) for g in fias_house_guids]
            if fias_house_guids
            else await organisation_houses(session, organisation_id)
        )
        done = set(
            (
                await session.scalars(
                    select(CourtPremisesCount.month).where(
                        CourtPremisesCount.organisation_id == organisation_id,
                        CourtPremisesCount.year == year,
                        CourtPremisesCount.operation_id == operation_id,
                    )
                )
            ).all()
        )
        non_residential = {
            str(g).lower()
            for g in (
                await session.scalars(
                    select(GisPremises.premises_guid)
                    .where(
                        GisPremises.organisation_id == organisation_id, GisPremises.kind == "non_residential"
                    )
                    .distinct()
                )
            ).all()
        }
        billing = await premises_stats(organisation_id, year, session=session)
    report.houses_total = len(houses)
    report.months_skipped = sorted(m for m in months if m in done)
    todo = [m for m in months if m not in done]
    total = len(todo) + 1
    if progress is not None:
        await progress(0, total)
    if not todo:
        return report
    covers = await _accounts_in_gis(
        gis,
        organisation_id=organisation_id,
        operation_id=operation_id,
        houses=houses,
        non_residential=non_residential,
        concurrency=concurrency,
        report=report,
    )
    report.accounts = len(covers)
    if houses and len(report.houses_failed) == len(houses):
        raise d.UpstreamUnavailable(
            f"GIS answered no house of {len(houses)}: {next(iter(report.houses_failed.values()))}"
        )
    if progress is not None:
        await progress(1, total)
    for step, month in enumerate(todo, start=2):
        gis_premises, accounts, documents = await _count_month(
            gis,
            organisation_id=organisation_id,
            operation_id=operation_id,
            year=year,
            month=month,
            covers=covers,
            concurrency=concurrency,
            report=report,
        )
        async with sessionmaker() as session, session.begin():
            key = {"organisation_id": organisation_id, "year": year, "month": month}
            await session.execute(delete(CourtPremisesCount).filter_by(**key))
            session.add(
                CourtPremisesCount(
                    **key,
                    gis_premises=gis_premises,
                    gis_accounts=accounts,
                    payment_documents=documents,
                    billing_premises=billing.get(month),
                    houses=len(houses),
                    operation_id=operation_id,
                    counted_at=utcnow(),
                )
            )
        report.months[f"{year:04d}-{month:02d}"] = {
            "gis_premises": gis_premises,
            "gis_accounts": accounts,
            "payment_documents": documents,
            "billing_premises": billing.get(month, 0),
        }
        if progress is not None:
            await progress(step, total)
    return report


async def run_count_job(op: Operation, progress: ops.Progress, ctx: AppContext) -> dict[str, Any]:
    """Run a queued premises count (resumable: stored months are skipped, exchanges are keyed)."""
    assert op.organisation_id is not None
    if ctx.gis is None:
        raise d.UpstreamUnavailable("The GIS client is not running.")
    params = op.params or {}
    report = await count_premises(
        sessionmaker=ctx.sessionmaker,
        gis=ctx.gis,
        organisation_id=op.organisation_id,
        year=int(params["year"]),
        months=[int(m) for m in params.get("months") or range(1, 13)],
        operation_id=op.id,
        fias_house_guids=params.get("fias_house_guids") or (),
        concurrency=ctx.settings.court.premises_count_concurrency,
        progress=progress,
    )
    return report.as_dict()
