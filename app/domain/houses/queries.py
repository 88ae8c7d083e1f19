"""Reading the house data: houses and premises of a month, the change feed (and its CSV), the delivery log."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models.houses import GisHouse, GisPremises, HouseChange, WebhookDelivery
from app.domain.houses.snapshot import ChangeKind
from app.domain.kernel import errors as d
from app.domain.kernel.access import Principal


async def latest_month(session: AsyncSession, organisation_id: uuid.UUID) -> date | None:
    """Return the latest month the organisation has a snapshot of."""
    value: date | None = await session.scalar(
        select(func.max(GisHouse.month)).where(GisHouse.organisation_id == organisation_id)
    )
    return value


async def months(session: AsyncSession, organisation_id: uuid.UUID) -> list[date]:
    """Return the months with snapshots, oldest first."""
    rows = await session.scalars(
        select(GisHouse.month)
        .where(GisHouse.organisation_id == organisation_id)
        .distinct()
        .order_by(GisHouse.month)
    )
    return list(rows.all())


async def list_houses(
    session: AsyncSession,
    *,
    principal: Principal,
    organisation_id: uuid.UUID,
    month: date | None,
    limit: int,
    offset: int,
) -> tuple[date | None, int, list[GisHouse]]:
    """Return a page of the organisation's houses in a month (the latest by default) and their count."""
    principal.require_org(organisation_id)
    month = month or await latest_month(session, organisation_id)
    if month is None:
        return None, 0, []
    where = (GisHouse.organisation_id == organisation_id, GisHouse.month == month)
    total = await session.scalar(select(func.count()).select_from(GisHouse).where(*where)) or 0
    rows = await session.scalars(
        select(GisHouse).where(*where).order_by(GisHouse.fias_house_guid).limit(limit).offset(offset)
    )
    return month, total, list(rows.all())


async def get_house(
    session: AsyncSession,
    *,
    principal: Principal,
    organisation_id: uuid.UUID,
    fias_house_guid: uuid.UUID,
    month: date | None,
) -> tuple[GisHouse, list[GisPremises]]:
    """Return a house of a month (default: the latest it was seen) with its premises; 404 if never synced."""
    principal.require_org(organisation_id)
    query = select(GisHouse).where(
        GisHouse.organisation_id == organisation_id, GisHouse.fias_house_guid == fias_house_guid
    )
    if month is not None:
        query = query.where(GisHouse.month == month)
    house = await session.scalar(query.order_by(GisHouse.month.desc()).limit(1))
    if house is None:
        raise d.NotFoundError(f"House {fias_house_guid} has not been synced from GIS for this organisation.")
    premises = await session.scalars(
        select(GisPremises)
        .where(
            GisPremises.organisation_id == organisation_id,
            GisPremises.month == house.month,
            GisPremises.fias_house_guid == fias_house_guid,
        )
        .order_by(GisPremises.kind.desc(), func.length(GisPremises.number_norm), GisPremises.number_norm)
    )
    return house, list(premises.all())


@dataclass(frozen=True)
class ChangeFilter:
    """Filters of the change feed."""

    month: date | None = None
    fias_house_guid: uuid.UUID | None = None
    kind: ChangeKind | None = None


def _change_query(organisation_id: uuid.UUID, f: ChangeFilter) -> Select[HouseChange]:
    query = select(HouseChange).where(HouseChange.organisation_id == organisation_id)
    if f.month is not None:
        query = query.where(HouseChange.month == f.month)
    if f.fias_house_guid is not None:
        query = query.where(HouseChange.fias_house_guid == f.fias_house_guid)
    if f.kind is not None:
        query = query.where(HouseChange.kind == f.kind)
    return query


async def list_changes(
    session: AsyncSession,
    *,
    principal: Principal,
    organisation_id: uuid.UUID,
    filters: ChangeFilter,
    limit: int,
    offset: int,
) -> tuple[int, list[HouseChange]]:
    """Return a page of the change feed and the number of matching changes."""
    principal.require_org(organisation_id)
    query = _change_query(organisation_id, filters)
    total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = await session.scalars(
        query.order_by(HouseChange.month, HouseChange.fias_house_guid, HouseChange.kind, HouseChange.id)
        .limit(limit)
        .offset(offset)
    )
    return total, list(rows.all())


CHANGE_COLUMNS = (
    "id", "month", "previous_month", "fias_house_guid", "kind", "object_guid", "premises_number", "els",
    "account_number", "old_value", "new_value", "detected_at",
)  # fmt: skip


def changes_csv_rows(changes: Sequence[HouseChange]) -> str:
    """Return CSV lines (no header) for changes."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for c in changes:
        writer.writerow(
            [
                c.id, c.month.isoformat()[:7], c.previous_month.isoformat()[:7], c.fias_house_guid, c.kind,
                c.object_guid, c.premises_number or "", c.els or "", c.account_number or "",
                c.old_value or "", c.new_value or "", c.detected_at.isoformat(),
            ]
        )  # fmt: skip
    return out.getvalue()


def csv_lines(rows: Sequence[Sequence[object]]) -> str:
    """Return CSV lines (no header) for plain rows; None is an empty cell."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerows([["" if v is None else v for v in row] for row in rows])
    return out.getvalue()


def csv_header(columns: Sequence[str]) -> str:
    """Return a CSV header line."""
    return ",".join(columns) + "\n"


async def changes_batches(
    session: AsyncSession, *, organisation_id: uuid.UUID, filters: ChangeFilter, after: uuid.UUID | None
) -> list[HouseChange]:
    """Return the next batch of changes by id (keyset paging for the CSV stream)."""
    query = _change_query(organisation_id, filters)
    if after is not None:
        query = query.where(HouseChange.id > after)
    return list((await session.scalars(query.order_by(HouseChange.id).limit(1000))).all())


async def list_deliveries(
    session: AsyncSession,
    *,
    principal: Principal,
    organisation_id: uuid.UUID,
    event_id: uuid.UUID | None,
    status: str | None,
    limit: int,
    offset: int,
) -> tuple[int, list[WebhookDelivery]]:
    """Return a page of the webhook delivery log."""
    principal.require_org(organisation_id)
    query = select(WebhookDelivery).where(WebhookDelivery.organisation_id == organisation_id)
    if event_id is not None:
        query = query.where(WebhookDelivery.event_id == event_id)
    if status is not None:
        query = query.where(WebhookDelivery.status == status)
    total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = await session.scalars(
        query.order_by(WebhookDelivery.created_at, WebhookDelivery.id).limit(limit).offset(offset)
    )
    return total, list(rows.all())
