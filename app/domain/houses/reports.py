"""The house characteristics report (XLSX): per house, and per organisation with every house and premises.

openpyxl's write-only workbook streams rows to a temporary file, so the organisation report does not hold a
settlement centre's 200,000 premises as cells in memory; the database is read in batches.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models.houses import GisHouse, GisPremises
from app.domain.houses.queries import get_house, latest_month
from app.domain.kernel.access import Principal

MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
BATCH = 2000

KIND_NAMES = {
    "apartment_building": "Многоквартирный дом",
    "living_house": "Жилой дом",
    "residential": "Жилое",
    "non_residential": "Нежилое",
    "house_block": "Блок",
}

HOUSE_FIELDS: tuple[tuple[str, str], ...] = (
    ("fias_house_guid", "ФИАС (ГАР) дома"),
    ("house_guid", "Идентификатор дома в ГИС ЖКХ"),
    ("unique_number", "Уникальный номер дома"),
    ("kind", "Вид дома"),
    ("cadastral_number", "Кадастровый номер"),
    ("used_year", "Год ввода в эксплуатацию"),
    ("floor_count", "Этажность"),
    ("underground_floor_count", "Подземных этажей"),
    ("entrances", "Подъездов"),
    ("total_area", "Общая площадь, м²"),
    ("residential_area", "Площадь жилых помещений, м²"),
    ("non_residential_area", "Площадь нежилых помещений, м²"),
    ("premises_count", "Помещений"),
    ("accounts_count", "Лицевых счетов в ГИС ЖКХ"),
    ("gis_modified_at", "Изменён в ГИС ЖКХ"),
    ("month", "Месяц снимка"),
    ("seen_at", "Получен из ГИС ЖКХ"),
)
PREMISES_FIELDS: tuple[tuple[str, str], ...] = (
    ("number_raw", "Номер помещения"),
    ("kind", "Вид"),
    ("cadastral_number", "Кадастровый номер"),
    ("total_area", "Общая площадь, м²"),
    ("gross_area", "Жилая площадь, м²"),
    ("account_area", "Площадь по лицевым счетам, м²"),
    ("entrance", "Подъезд"),
    ("floor", "Этаж"),
    ("premises_guid", "Идентификатор помещения в ГИС ЖКХ"),
    ("unique_number", "Уникальный номер помещения"),
    ("billing_premises_id", "Помещение в биллинге"),
)


def _cell(name: str, value: Any) -> Any:
    """Return a value openpyxl writes: numbers as numbers, dates as dates, the rest as text."""
    if value is None:
        return None
    if name == "kind":
        return KIND_NAMES.get(value, value)
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)  # Excel has no time zones: UTC, as stored
    if isinstance(value, date | int | float | str):
        return value
    return str(value)


def _house_row(house: GisHouse) -> list[Any]:
    return [_cell(name, getattr(house, name)) for name, _ in HOUSE_FIELDS]


def _premises_row(p: GisPremises) -> list[Any]:
    return [_cell(name, getattr(p, name)) for name, _ in PREMISES_FIELDS]


def _sheet(book: Workbook, title: str, header: Iterable[str]) -> WriteOnlyWorksheet:
    sheet = book.create_sheet(title)
    assert isinstance(sheet, WriteOnlyWorksheet)
    sheet.append(list(header))
    return sheet


def _save(book: Workbook) -> bytes:
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def house_workbook(house: GisHouse, premises: Sequence[GisPremises]) -> bytes:
    """Return the report of one house: its characteristics, then the premises table."""
    book = Workbook(write_only=True)
    info = _sheet(book, "Дом", ("Характеристика", "Значение"))
    for (name, title), value in zip(HOUSE_FIELDS, _house_row(house), strict=True):
        del name
        info.append([title, value])
    table = _sheet(book, "Помещения", (title for _, title in PREMISES_FIELDS))
    for p in premises:
        table.append(_premises_row(p))
    return _save(book)


async def house_report(
    session: AsyncSession,
    *,
    principal: Principal,
    organisation_id: uuid.UUID,
    fias_house_guid: uuid.UUID,
    month: date | None,
) -> bytes:
    """Build the XLSX report of one house (404 when it was never synced)."""
    house, premises = await get_house(
        session, principal=principal, organisation_id=organisation_id, fias_house_guid=fias_house_guid,
        month=month,
    )  # fmt: skip
    return house_workbook(house, premises)


async def organisation_report(
    session: AsyncSession, *, principal: Principal, organisation_id: uuid.UUID, month: date | None
) -> bytes:
    """Build the XLSX report of the organisation's houses in a month: a houses sheet and a premises sheet."""
    principal.require_org(organisation_id)
    month = month or await latest_month(session, organisation_id)
    book = Workbook(write_only=True)
    houses = _sheet(book, "Дома", (title for _, title in HOUSE_FIELDS))
    table = _sheet(book, "Помещения", ["ФИАС (ГАР) дома", *(title for _, title in PREMISES_FIELDS)])
    if month is not None:
        house_rows = await session.stream_scalars(
            select(GisHouse)
            .where(GisHouse.organisation_id == organisation_id, GisHouse.month == month)
            .order_by(GisHouse.fias_house_guid)
            .execution_options(yield_per=BATCH)
        )
        async for house in house_rows:
            houses.append(_house_row(house))
        # Plain rows, not ORM objects: the session's identity map would keep every premises alive.
        names = [name for name, _ in PREMISES_FIELDS]
        premises_rows = await session.stream(
            select(GisPremises.fias_house_guid, *(getattr(GisPremises, n) for n in names))
            .where(GisPremises.organisation_id == organisation_id, GisPremises.month == month)
            .order_by(
                GisPremises.fias_house_guid,
                GisPremises.kind.desc(),
                func.length(GisPremises.number_norm),
                GisPremises.number_norm,
            )
            .execution_options(yield_per=BATCH)
        )
        async for row in premises_rows:
            table.append([str(row[0]), *(_cell(n, v) for n, v in zip(names, row[1:], strict=True))])
    return _save(book)
