"""The house-data sync: per house, exportHouseData + exportAccountData → this month's snapshot → changes.

An operation (`houses-sync`) walks the organisation's houses (billing's houses with a FIAS GUID, plus houses
synced before) with at most `settings.houses.sync_concurrency` houses in flight. Each house is stored in its
own transaction together with its changes and their webhook deliveries, so nothing is held in memory beyond
the houses in flight, a crash loses at most those, and a resumed operation skips the houses it has stored
(`gis_houses.operation_id`) and reuses the finished exchanges of the others (idempotency keys). Incremental:
houses already synced this month by another operation are skipped unless `full` is asked.

Two exchanges a house is the least GIS allows (house-management XSD 16.3.0.0): exportHouseRequest and
exportAccountRequest each take exactly one FIASHouseGuid and neither pages; exportAccountRequest's other
selectors (≤ 1000 AccountGUID, ЕЛС or ЖКУ ids) find only accounts already known, never a house's new ones.
A month whose house snapshot has the digest of the previous month's is compared without reading rows back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Table, delete, insert, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.context import AppContext
from app.db.base import utcnow
from app.db.models.accounts import Account, AccountPremises, House, Premises
from app.db.models.core import Operation, Organisation
from app.db.models.houses import GisHouse, GisHouseAccount, GisPremises, HouseChange, WebhookDelivery
from app.domain.houses import subscriptions
from app.domain.houses.snapshot import (
    AccountRow,
    Change,
    PremisesRow,
    account_rows,
    diff_house,
    month_start,
    premises_rows,
    snapshot_hash,
)
from app.domain.kernel import audit
from app.domain.kernel import errors as d
from app.domain.kernel import operations as ops
from app.domain.kernel.access import SYSTEM, Principal
from app.domain.kernel.calendar import MOSCOW, moscow_today
from app.domain.kernel.gis_port import HouseManagementGis
from app.gis_client.messages import Account as GisAccount
from app.gis_client.messages import ExportAccountQuery, ExportHouseQuery, HouseData
from app.gis_client.outcome import GisError

log = logging.getLogger(__name__)

#: Seconds between two progress writes of a sync (the operation row, with its lease renewed each time).
PROGRESS_EVERY = 0.5

SYNC_JOB = "houses-sync"
#: ref_kind of the exchanges a house-data sync runs.
REF_KIND = "houses-sync"
#: The snapshot tables, written with Core inserts: no unit of work for rows nobody reads back in the sync.
GIS_HOUSES: Table = GisHouse.__table__  # type: ignore[assignment]
GIS_PREMISES: Table = GisPremises.__table__  # type: ignore[assignment]
GIS_HOUSE_ACCOUNTS: Table = GisHouseAccount.__table__  # type: ignore[assignment]


def parse_month(value: str | None) -> date:
    """Return the first day of a `YYYY-MM` month (the current Moscow month when None)."""
    if value is None:
        return month_start(moscow_today())
    try:
        year, month = value.split("-")
        return date(int(year), int(month), 1)
    except ValueError:
        raise d.RuleViolation(
            f"Month {value!r} is not a month: write it as YYYY-MM.",
            errors=[d.FieldProblem("month", "format", "YYYY-MM")],
        ) from None


async def queue_sync(
    *,
    session: AsyncSession,
    principal: Principal,
    organisation_id: uuid.UUID,
    month: str | None = None,
    fias_house_guids: Sequence[uuid.UUID] = (),
    full: bool = False,
) -> Operation:
    """Queue a sync of the organisation's houses with GIS for a month (all its houses, or the ones given)."""
    principal.require_org(organisation_id)
    day = parse_month(month)
    op = await ops.create(
        session=session,
        principal=principal,
        kind=SYNC_JOB,
        organisation_id=organisation_id,
        params={
            "month": day.isoformat(),
            "fias_house_guids": [str(g) for g in fias_house_guids],
            "full": full,
        },
    )
    await audit.record(
        session=session,
        principal=principal,
        action="houses.sync.queue",
        resource_type="operation",
        resource_id=op.id,
        organisation_id=organisation_id,
        details={"month": day.isoformat()[:7], "houses": len(fias_house_guids) or "all", "full": full},
    )
    return op


async def organisation_houses(session: AsyncSession, organisation_id: uuid.UUID) -> list[uuid.UUID]:
    """Return the FIAS GUIDs of the organisation's houses: billing's (by its accounts) and synced ones."""
    billing = (
        select(House.fias_house_guid)
        .join(Premises, Premises.house_id == House.id)
        .join(AccountPremises, AccountPremises.premises_id == Premises.id)
        .join(Account, Account.id == AccountPremises.account_id)
        .where(Account.organisation_id == organisation_id, House.fias_house_guid.is_not(None))
    )
    synced = select(GisHouse.fias_house_guid).where(GisHouse.organisation_id == organisation_id)
    guids = set((await session.scalars(billing.distinct())).all())
    guids.update((await session.scalars(synced.distinct())).all())
    return sorted((g for g in guids if g is not None), key=str)


# --- storing one house -----------------------------------------------------------------------------------


@dataclass
class StoredHouse:
    """What storing one house did."""

    premises: int = 0
    accounts: int = 0
    changes: list[uuid.UUID] = field(default_factory=list)


def _aware(value: datetime) -> datetime:
    # xs:dateTime may come without an offset; GIS means Moscow time then.
    return value if value.tzinfo is not None else value.replace(tzinfo=MOSCOW)


def _sum(values: Sequence[Decimal | None]) -> Decimal | None:
    present = [v for v in values if v is not None]
    return sum(present, Decimal(0)) if present else None


async def _billing_matches(
    session: AsyncSession,
    organisation_id: uuid.UUID,
    fias: uuid.UUID,
    premises: Sequence[PremisesRow],
    accounts: Sequence[AccountRow],
) -> tuple[uuid.UUID | None, dict[uuid.UUID, uuid.UUID], dict[uuid.UUID, uuid.UUID]]:
    """Match GIS premises (GIS GUID, then normalised number) and accounts (GUID, ЕЛС, ЖКУ id) to billing."""
    house_id = await session.scalar(select(House.id).where(House.fias_house_guid == fias))
    premises_match: dict[uuid.UUID, uuid.UUID] = {}
    if house_id is not None:
        rows = (
            await session.execute(
                select(Premises.id, Premises.number_norm, Premises.gis_premises_guid).where(
                    Premises.house_id == house_id
                )
            )
        ).all()
        by_guid = {r.gis_premises_guid: r.id for r in rows if r.gis_premises_guid is not None}
        by_norm = {r.number_norm: r.id for r in rows}
        for p in premises:
            found = by_guid.get(p.premises_guid) or (by_norm.get(p.number_norm) if p.number_norm else None)
            if found is not None:
                premises_match[p.premises_guid] = found
    account_match: dict[uuid.UUID, uuid.UUID] = {}
    if accounts:
        guids = [a.account_guid for a in accounts]
        els = [a.els for a in accounts]
        zhku = [a.zhku_id for a in accounts if a.zhku_id]
        # The organisation is checked on the rows, not in the WHERE: with `organisation_id = ? AND (…)`
        # SQLite's planner walks the organisation's index, i.e. every account of the organisation for every
        # house (200,000 rows a house at 2,000 houses); the three IN lists alone use their own indexes. (An
        # ЕЛС may also be another supplier's account of the same payer: those rows are dropped here.)
        found_rows = await session.execute(
            select(
                Account.id, Account.organisation_id, Account.gis_account_guid, Account.els, Account.zhku_id
            ).where(or_(Account.gis_account_guid.in_(guids), Account.els.in_(els), Account.zhku_id.in_(zhku)))
        )
        rows_a = [r for r in found_rows if r.organisation_id == organisation_id]
        a_guid = {r.gis_account_guid: r.id for r in rows_a if r.gis_account_guid is not None}
        a_els = {r.els: r.id for r in rows_a if r.els}
        a_zhku = {r.zhku_id: r.id for r in rows_a if r.zhku_id}
        for a in accounts:
            found_a = (
                a_guid.get(a.account_guid)
                or a_els.get(a.els)
                or (a_zhku.get(a.zhku_id) if a.zhku_id else None)
            )
            if found_a is not None:
                account_match[a.account_guid] = found_a
    return house_id, premises_match, account_match


async def _snapshot_months(
    session: AsyncSession, organisation_id: uuid.UUID, fias: uuid.UUID, month: date
) -> tuple[bool, tuple[date, str | None] | None]:
    """Return whether the house has a snapshot of `month` already, and the latest earlier one (and digest)."""
    rows = (
        await session.execute(
            select(GisHouse.month, GisHouse.content_hash)
            .where(
                GisHouse.organisation_id == organisation_id,
                GisHouse.fias_house_guid == fias,
                GisHouse.month <= month,
            )
            .order_by(GisHouse.month.desc())
            .limit(2)
        )
    ).all()
    this_month = bool(rows) and rows[0].month == month
    earlier = [(r.month, r.content_hash) for r in rows if r.month < month]
    return this_month, (earlier[0] if earlier else None)


async def _previous_rows(
    session: AsyncSession, organisation_id: uuid.UUID, fias: uuid.UUID, previous: date
) -> tuple[list[PremisesRow], list[AccountRow]]:
    """Read a house's premises and account rows of an earlier month (the columns the diff needs, no ORM)."""
    where = (
        GisPremises.organisation_id == organisation_id,
        GisPremises.month == previous,
        GisPremises.fias_house_guid == fias,
    )
    prem = (
        await session.execute(
            select(GisPremises.premises_guid, GisPremises.unique_number, GisPremises.number_raw,
                   GisPremises.number_norm, GisPremises.kind, GisPremises.cadastral_number,
                   GisPremises.total_area, GisPremises.gross_area, GisPremises.entrance, GisPremises.floor,
                   GisPremises.account_area).where(*where)
        )
    ).all()  # fmt: skip
    accs = (
        await session.execute(
            select(GisHouseAccount.account_guid, GisHouseAccount.els, GisHouseAccount.zhku_id,
                   GisHouseAccount.account_number, GisHouseAccount.premises_guid, GisHouseAccount.closed,
                   GisHouseAccount.total_area, GisHouseAccount.payer_hash).where(
                GisHouseAccount.organisation_id == organisation_id,
                GisHouseAccount.month == previous,
                GisHouseAccount.fias_house_guid == fias,
            )
        )
    ).all()  # fmt: skip
    return [PremisesRow(*p) for p in prem], [AccountRow(*a) for a in accs]


async def _record_changes(
    session: AsyncSession,
    *,
    organisation_id: uuid.UUID,
    fias: uuid.UUID,
    month: date,
    previous: date,
    changes: Sequence[Change],
    webhook_urls: Sequence[str],
    now: datetime,
) -> list[uuid.UUID]:
    """Insert changes not recorded yet (stable ids) and one pending delivery per change and subscriber URL."""
    by_id = {c.event_id(organisation_id, month): c for c in changes}
    if not by_id:
        return []
    known = set((await session.scalars(select(HouseChange.id).where(HouseChange.id.in_(list(by_id))))).all())
    new = [(i, c) for i, c in by_id.items() if i not in known]
    if not new:
        return []
    await session.execute(
        insert(HouseChange),
        [
            {
                "id": i, "organisation_id": organisation_id, "month": month, "previous_month": previous,
                "fias_house_guid": fias, "kind": c.kind, "object_guid": c.object_guid,
                "premises_number": c.premises_number, "els": c.els, "account_number": c.account_number,
                "old_value": c.old_value, "new_value": c.new_value, "detected_at": now,
            }
            for i, c in new
        ],
    )  # fmt: skip
    if webhook_urls:
        await session.execute(
            insert(WebhookDelivery),
            [
                {
                    "id": uuid.uuid4(), "organisation_id": organisation_id, "event_id": i, "url": url,
                    "status": "pending", "attempts": 0, "next_attempt_at": now, "created_at": now,
                }
                for i, _ in new
                for url in webhook_urls
            ],
        )  # fmt: skip
    return [i for i, _ in new]


async def store_house(
    session: AsyncSession,
    *,
    organisation_id: uuid.UUID,
    month: date,
    house: HouseData,
    accounts: Sequence[GisAccount],
    operation_id: uuid.UUID | None,
    webhook_urls: Sequence[str] = (),
) -> StoredHouse:
    """Store a house's snapshot for the month (replacing an earlier one of the month) and its changes."""
    fias = uuid.UUID(house.fias_house_guid)
    now = utcnow()
    acc = account_rows(organisation_id, accounts)
    prem = premises_rows(house, acc)
    house_id, premises_match, account_match = await _billing_matches(
        session, organisation_id, fias, prem, acc
    )
    digest = snapshot_hash(prem, acc)
    this_month, previous = await _snapshot_months(session, organisation_id, fias, month)
    where = {"organisation_id": organisation_id, "month": month, "fias_house_guid": fias}
    if this_month:
        # A second sync within the month replaces the month's snapshot.
        for model in (GisPremises, GisHouseAccount, GisHouse):
            await session.execute(delete(model).filter_by(**where))
    await session.execute(
        insert(GIS_HOUSES).values(
            id=uuid.uuid4(), **where,
            house_guid=uuid.UUID(house.house_guid) if house.house_guid else None,
            unique_number=house.unique_number, kind=house.kind, cadastral_number=house.cadastral_number,
            total_area=house.total_area,
            residential_area=_sum([p.total_area for p in prem if p.kind != "non_residential"]),
            non_residential_area=_sum([p.total_area for p in prem if p.kind == "non_residential"]),
            used_year=house.used_year, floor_count=house.floor_count,
            underground_floor_count=house.underground_floor_count, entrances=len(house.entrances),
            premises_count=len(prem), accounts_count=len(acc), gis_modified_at=_aware(house.modified),
            seen_at=now, operation_id=operation_id, billing_house_id=house_id, content_hash=digest,
        )
    )  # fmt: skip
    if prem:
        await session.execute(
            insert(GIS_PREMISES),
            [
                {
                    "id": uuid.uuid4(), **where, "premises_guid": p.premises_guid,
                    "unique_number": p.unique_number, "number_raw": p.number_raw,
                    "number_norm": p.number_norm,
                    "kind": p.kind, "cadastral_number": p.cadastral_number, "total_area": p.total_area,
                    "gross_area": p.gross_area, "entrance": p.entrance, "floor": p.floor,
                    "account_area": p.account_area, "seen_at": now,
                    "billing_premises_id": premises_match.get(p.premises_guid),
                }
                for p in prem
            ],
        )  # fmt: skip
    if acc:
        await session.execute(
            insert(GIS_HOUSE_ACCOUNTS),
            [
                {
                    "id": uuid.uuid4(), **where, "account_guid": a.account_guid, "els": a.els,
                    "zhku_id": a.zhku_id, "account_number": a.account_number,
                    "premises_guid": a.premises_guid,
                    "closed": a.closed, "total_area": a.total_area, "payer_hash": a.payer_hash,
                    "seen_at": now, "billing_account_id": account_match.get(a.account_guid),
                }
                for a in acc
            ],
        )  # fmt: skip
    stored = StoredHouse(premises=len(prem), accounts=len(acc))
    # Same digest as the previous month: the same rows, so no change (nothing to read back).
    if previous is not None and previous[1] != digest:
        old_prem, old_acc = await _previous_rows(session, organisation_id, fias, previous[0])
        stored.changes = await _record_changes(
            session,
            organisation_id=organisation_id,
            fias=fias,
            month=month,
            previous=previous[0],
            changes=diff_house(old_prem, prem, old_acc, acc),
            webhook_urls=webhook_urls,
            now=now,
        )
    return stored


# --- the operation ---------------------------------------------------------------------------------------


@dataclass
class SyncReport:
    """Counters of a sync operation (no personal data)."""

    month: str
    houses_total: int = 0
    houses_synced: int = 0
    houses_skipped: int = 0
    houses_not_in_gis: list[str] = field(default_factory=list)
    houses_failed: dict[str, str] = field(default_factory=dict)
    premises: int = 0
    accounts: int = 0
    changes: int = 0

    def as_dict(self) -> dict[str, Any]:
        """Return the JSON result of the operation."""
        return {
            "month": self.month,
            "houses_total": self.houses_total,
            "houses_synced": self.houses_synced,
            "houses_skipped": self.houses_skipped,
            "houses_not_in_gis": self.houses_not_in_gis[:1000],
            "houses_failed": dict(list(self.houses_failed.items())[:1000]),
            "premises": self.premises,
            "accounts": self.accounts,
            "changes": self.changes,
        }


async def _houses_to_sync(
    session: AsyncSession,
    *,
    organisation_id: uuid.UUID,
    month: date,
    wanted: Sequence[str],
    full: bool,
    operation_id: uuid.UUID,
) -> tuple[list[uuid.UUID], int]:
    houses = [uuid.UUID(g) for g in wanted] if wanted else await organisation_houses(session, organisation_id)
    done_query = select(GisHouse.fias_house_guid).where(
        GisHouse.organisation_id == organisation_id, GisHouse.month == month
    )
    if full:
        # Resuming a full sync: only what this operation stored already is done.
        done_query = done_query.where(GisHouse.operation_id == operation_id)
    done = set((await session.scalars(done_query)).all())
    todo = [h for h in houses if h not in done]
    return todo, len(houses)


async def sync_houses(
    *,
    sessionmaker: async_sessionmaker[AsyncSession],
    gis: HouseManagementGis,
    organisation_id: uuid.UUID,
    month: date,
    operation_id: uuid.UUID,
    fias_house_guids: Sequence[str] = (),
    full: bool = False,
    concurrency: int = 4,
    webhook_urls: Sequence[str] = (),
    progress: ops.Progress | None = None,
) -> SyncReport:
    """Sync the organisation's houses for a month, `concurrency` houses at a time; return the counters."""
    async with sessionmaker() as session:
        todo, total = await _houses_to_sync(
            session,
            organisation_id=organisation_id,
            month=month,
            wanted=fias_house_guids,
            full=full,
            operation_id=operation_id,
        )
    report = SyncReport(month=month.isoformat()[:7], houses_total=total, houses_skipped=total - len(todo))
    if progress is not None:
        await progress(report.houses_skipped, total)
    pending = iter(todo)
    loop = asyncio.get_running_loop()
    reported_at = loop.time()

    async def one(fias: uuid.UUID) -> None:
        # The same key on a resumed operation reuses the finished exchange instead of asking GIS again.
        key = f"{operation_id}:{fias}"
        house = await gis.export_house(
            organisation_id=organisation_id,
            query=ExportHouseQuery(str(fias)),
            ref_kind=REF_KIND,
            ref_id=None,
            idempotency_key=f"{key}:house",
        )
        if house is None:
            report.houses_not_in_gis.append(str(fias))
            return
        accounts = list(
            await gis.export_accounts(
                organisation_id=organisation_id,
                query=ExportAccountQuery(fias_house_guid=str(fias)),
                ref_kind=REF_KIND,
                ref_id=None,
                idempotency_key=f"{key}:accounts",
            )
        )
        async with sessionmaker() as session, session.begin():
            stored = await store_house(
                session,
                organisation_id=organisation_id,
                month=month,
                house=house,
                accounts=accounts,
                operation_id=operation_id,
                webhook_urls=webhook_urls,
            )
        report.houses_synced += 1
        report.premises += stored.premises
        report.accounts += stored.accounts
        report.changes += len(stored.changes)

    async def worker() -> None:
        nonlocal reported_at
        # Workers pull from one iterator: at most `concurrency` houses in flight, none held once stored.
        for fias in pending:
            try:
                await one(fias)
            except (GisError, IntegrityError) as exc:
                # IntegrityError: another sync of the same month stored the house at the same moment.
                log.warning("house %s not synced: %s", fias, type(exc).__name__)
                # A database error's text carries the statement's parameters: keep only its type.
                text = f"{type(exc).__name__}: {exc}" if isinstance(exc, GisError) else type(exc).__name__
                report.houses_failed[str(fias)] = text[:500]
            done = report.houses_skipped + report.houses_synced + len(report.houses_not_in_gis)
            done += len(report.houses_failed)
            # At most one progress write a PROGRESS_EVERY (each is a transaction of its own), and the last.
            if progress is not None and (done >= total or loop.time() - reported_at >= PROGRESS_EVERY):
                reported_at = loop.time()
                await progress(done, total)

    await asyncio.gather(*(worker() for _ in range(max(1, min(concurrency, len(todo) or 1)))))
    if todo and len(report.houses_failed) == len(todo):
        raise d.UpstreamUnavailable(
            f"GIS answered no house of {len(todo)}: {next(iter(report.houses_failed.values()))}"
        )
    return report


async def run_sync_job(op: Operation, progress: ops.Progress, ctx: AppContext) -> dict[str, Any]:
    """Run a queued house-data sync (resumable: stored houses are skipped, exchanges are keyed)."""
    assert op.organisation_id is not None
    if ctx.gis is None:
        raise d.UpstreamUnavailable("The GIS client is not running.")
    params = op.params or {}
    settings = ctx.settings
    async with ctx.sessionmaker() as session:
        targets = await subscriptions.targets(session, settings=settings, organisation_id=op.organisation_id)
    report = await sync_houses(
        sessionmaker=ctx.sessionmaker,
        gis=ctx.gis,
        organisation_id=op.organisation_id,
        month=date.fromisoformat(params["month"]),
        operation_id=op.id,
        fias_house_guids=params.get("fias_house_guids") or (),
        full=bool(params.get("full")),
        concurrency=settings.houses.sync_concurrency,
        webhook_urls=sorted(targets),
        progress=progress,
    )
    return report.as_dict()


# --- the schedule ----------------------------------------------------------------------------------------


async def queue_scheduled_syncs(session: AsyncSession) -> int:
    """Queue an incremental sync of the current month for each organisation without one pending or running."""
    busy = set(
        (
            await session.scalars(
                select(Operation.organisation_id).where(
                    Operation.kind == SYNC_JOB, Operation.status.in_((ops.PENDING, ops.RUNNING))
                )
            )
        ).all()
    )
    queued = 0
    for org_id in (await session.scalars(select(Organisation.id))).all():
        if org_id in busy:
            continue
        await ops.create(
            session=session,
            principal=SYSTEM,
            kind=SYNC_JOB,
            organisation_id=org_id,
            params={"month": month_start(moscow_today()).isoformat(), "fias_house_guids": [], "full": False},
        )
        queued += 1
    return queued


async def sync_loop(ctx: Any, stop: asyncio.Event) -> None:
    """Queue house-data syncs every `settings.houses.sync_interval_seconds` (0 = off).

    A sync is incremental within its month, so a daily schedule syncs each house once a month (on the first
    run of the month) and picks up houses billing adds later in the month.
    """
    interval = ctx.settings.houses.sync_interval_seconds
    if interval <= 0:
        return
    while not stop.is_set():
        try:
            async with ctx.sessionmaker() as session, session.begin():
                queued = await queue_scheduled_syncs(session)
            if queued:
                log.info("scheduled house-data sync queued for %d organisation(s)", queued)
        except Exception:
            log.exception("scheduled house-data sync failed; retrying next interval")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)
