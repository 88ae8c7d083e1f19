"""Data-quality figures of an organisation's houses and accounts, each with the rows behind it.

A figure is a count (and, where it has one, the base it is a share of). The GIS side is a month's snapshot;
the billing side is billing's data as it is now. Rows name objects by number and GUID, never a payer.

Figures:

* `premises_with_cadastral_number` of `premises_in_gis`: GIS premises with a cadastral number;
* `accounts_with_els`, `accounts_with_zhku_id` of `open_accounts`: billing accounts with the identifiers GIS
  assigns (ЕЛС, ЖКУ id);
* `premises_in_billing_not_in_gis`: billing's premises of the organisation, in synced houses, that no GIS
  premises matched; `premises_in_gis_not_in_billing`: the other way round;
* `area_differences`: GIS premises whose area differs from the area placed with their open accounts by more
  than `settings.houses.area_tolerance` m²;
* `debtors_missing_court_data` of `debtors`: person payers owing money who lack what a court application
  needs (ГПК ст. 124: an identifier — SNILS, passport or INN — and the birth date and place).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import ColumnElement, Select, and_, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models.accounts import Account, AccountLedger, AccountPremises, House, Premises
from app.db.models.houses import GisHouse, GisPremises
from app.domain.accounts.ledger import decode_months, kopecks
from app.domain.houses.queries import latest_month, months
from app.domain.kernel.access import Principal

#: A SELECT of any columns (SQLAlchemy 2.1 types a Select by its column tuple).
Rows = Select[*tuple[Any, ...]]

Figure = Literal[
    "premises_without_cadastral_number",
    "accounts_without_els",
    "accounts_without_zhku_id",
    "premises_in_billing_not_in_gis",
    "premises_in_gis_not_in_billing",
    "area_differences",
    "debtors_missing_court_data",
]
FIGURES: tuple[Figure, ...] = (
    "premises_without_cadastral_number",
    "accounts_without_els",
    "accounts_without_zhku_id",
    "premises_in_billing_not_in_gis",
    "premises_in_gis_not_in_billing",
    "area_differences",
    "debtors_missing_court_data",
)


@dataclass
class Quality:
    """The figures of one organisation and month."""

    month: date | None
    premises_in_gis: int = 0
    premises_with_cadastral_number: int = 0
    open_accounts: int = 0
    accounts_with_els: int = 0
    accounts_with_zhku_id: int = 0
    premises_in_billing_not_in_gis: int = 0
    premises_in_gis_not_in_billing: int = 0
    area_differences: int = 0
    debtors: int = 0
    debtors_missing_court_data: int = 0
    trend: list[dict[str, Any]] = field(default_factory=list)


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def shares(q: Quality) -> dict[str, float | None]:
    """Return the figures that are shares of a base."""
    return {
        "premises_with_cadastral_number": _share(q.premises_with_cadastral_number, q.premises_in_gis),
        "accounts_with_els": _share(q.accounts_with_els, q.open_accounts),
        "accounts_with_zhku_id": _share(q.accounts_with_zhku_id, q.open_accounts),
        "debtors_missing_court_data": _share(q.debtors_missing_court_data, q.debtors),
    }


# --- the row queries (one per figure; counts are counts of these) ----------------------------------------


def _gis_premises(org: uuid.UUID, month: date, *conditions: ColumnElement[bool]) -> Rows:
    return select(
        GisPremises.fias_house_guid,
        GisPremises.premises_guid,
        GisPremises.number_raw,
        GisPremises.kind,
        GisPremises.cadastral_number,
        GisPremises.total_area,
        GisPremises.account_area,
    ).where(GisPremises.organisation_id == org, GisPremises.month == month, *conditions)


def _area_difference(tolerance: Decimal) -> ColumnElement[bool]:
    diff = GisPremises.total_area - GisPremises.account_area
    return and_(
        GisPremises.total_area.is_not(None),
        GisPremises.account_area.is_not(None),
        (diff > tolerance) | (diff < -tolerance),
    )


def _open_accounts(org: uuid.UUID, *conditions: ColumnElement[bool]) -> Rows:
    return select(Account.id, Account.account_number, Account.els, Account.zhku_id).where(
        Account.organisation_id == org, Account.closed.is_(False), *conditions
    )


def _billing_premises_not_in_gis(org: uuid.UUID, month: date) -> Rows:
    synced = select(GisHouse.billing_house_id).where(
        GisHouse.organisation_id == org, GisHouse.month == month, GisHouse.billing_house_id.is_not(None)
    )
    matched = select(GisPremises.billing_premises_id).where(
        GisPremises.organisation_id == org,
        GisPremises.month == month,
        GisPremises.billing_premises_id.is_not(None),
    )
    of_org = exists().where(
        AccountPremises.premises_id == Premises.id,
        Account.id == AccountPremises.account_id,
        Account.organisation_id == org,
    )
    return (
        select(House.fias_house_guid, Premises.id, Premises.number_raw, Premises.kind)
        .join(House, House.id == Premises.house_id)
        .where(Premises.house_id.in_(synced), Premises.id.not_in(matched), of_org)
    )


def row_query(figure: Figure, org: uuid.UUID, month: date, tolerance: Decimal) -> Rows | None:
    """Return the SELECT of the rows behind a figure (None for the debtors, computed from ledgers)."""
    if figure == "premises_without_cadastral_number":
        return _gis_premises(org, month, GisPremises.cadastral_number.is_(None))
    if figure == "premises_in_gis_not_in_billing":
        return _gis_premises(org, month, GisPremises.billing_premises_id.is_(None))
    if figure == "area_differences":
        return _gis_premises(org, month, _area_difference(tolerance))
    if figure == "accounts_without_els":
        return _open_accounts(org, Account.els.is_(None))
    if figure == "accounts_without_zhku_id":
        return _open_accounts(org, Account.zhku_id.is_(None))
    if figure == "premises_in_billing_not_in_gis":
        return _billing_premises_not_in_gis(org, month)
    return None


async def _count(session: AsyncSession, query: Rows) -> int:
    return int(await session.scalar(select(func.count()).select_from(query.subquery())) or 0)


@dataclass(frozen=True, slots=True)
class Debtor:
    """What the court-data figure needs of a debtor's account (no names)."""

    id: uuid.UUID
    account_number: str
    has_identifier: bool
    has_birth_date: bool
    has_birth_place: bool


def missing_court_data(debtor: Debtor) -> list[str]:
    """Return what a court application lacks for a person payer (field names, never values)."""
    missing = []
    if not debtor.has_identifier:
        missing.append("identifier")
    if not debtor.has_birth_date:
        missing.append("birth_date")
    if not debtor.has_birth_place:
        missing.append("birth_place")
    return missing


async def debtors(session: AsyncSession, org: uuid.UUID) -> AsyncIterator[tuple[Debtor, int]]:
    """Yield the organisation's open person accounts that owe money, with the debt in kopecks (streamed)."""
    # Plain columns, not ORM objects: the session's identity map would keep every account alive.
    stream = await session.stream(
        select(
            Account.id,
            Account.account_number,
            Account.snils,
            Account.id_doc_number,
            Account.inn,
            Account.birth_date,
            Account.birth_place,
            AccountLedger.months,
        )
        .join(AccountLedger, AccountLedger.account_id == Account.id)
        .where(Account.organisation_id == org, Account.closed.is_(False), Account.payer_kind == "person")
        .order_by(Account.account_number)
        .execution_options(yield_per=2000)
    )
    async for row in stream:
        owed = sum(kopecks(m.charged) - kopecks(m.paid) for m in decode_months(row.months))
        if owed > 0:
            yield (
                Debtor(
                    id=row.id,
                    account_number=row.account_number,
                    has_identifier=bool(row.snils or row.id_doc_number or row.inn),
                    has_birth_date=row.birth_date is not None,
                    has_birth_place=bool(row.birth_place),
                ),
                owed,
            )


async def _gis_figures(
    session: AsyncSession, org: uuid.UUID, month: date, tolerance: Decimal
) -> dict[str, int]:
    total = await _count(session, _gis_premises(org, month))
    without = await _count(session, _gis_premises(org, month, GisPremises.cadastral_number.is_(None)))
    return {
        "premises_in_gis": total,
        "premises_with_cadastral_number": total - without,
        "premises_in_gis_not_in_billing": await _count(
            session, _gis_premises(org, month, GisPremises.billing_premises_id.is_(None))
        ),
        "area_differences": await _count(session, _gis_premises(org, month, _area_difference(tolerance))),
    }


async def compute(
    session: AsyncSession,
    *,
    principal: Principal,
    organisation_id: uuid.UUID,
    month: date | None,
    tolerance: Decimal,
) -> Quality:
    """Compute the organisation's data-quality figures for a month (default: the latest synced)."""
    principal.require_org(organisation_id)
    org = organisation_id
    month = month or await latest_month(session, org)
    q = Quality(month=month)
    open_total = await _count(session, _open_accounts(org))
    q.open_accounts = open_total
    q.accounts_with_els = open_total - await _count(session, _open_accounts(org, Account.els.is_(None)))
    q.accounts_with_zhku_id = open_total - await _count(
        session, _open_accounts(org, Account.zhku_id.is_(None))
    )
    async for account, _owed in debtors(session, org):
        q.debtors += 1
        if missing_court_data(account):
            q.debtors_missing_court_data += 1
    if month is None:
        return q
    gis = await _gis_figures(session, org, month, tolerance)
    q.premises_in_gis = gis["premises_in_gis"]
    q.premises_with_cadastral_number = gis["premises_with_cadastral_number"]
    q.premises_in_gis_not_in_billing = gis["premises_in_gis_not_in_billing"]
    q.area_differences = gis["area_differences"]
    q.premises_in_billing_not_in_gis = await _count(session, _billing_premises_not_in_gis(org, month))
    for m in await months(session, org):
        q.trend.append({"month": m, **await _gis_figures(session, org, m, tolerance)})
    return q


_GIS_PREMISES_COLUMNS = (
    "fias_house_guid", "premises_guid", "number", "kind", "cadastral_number", "total_area", "account_area",
)  # fmt: skip
ROW_COLUMNS: dict[Figure, tuple[str, ...]] = {
    "premises_without_cadastral_number": _GIS_PREMISES_COLUMNS,
    "premises_in_gis_not_in_billing": _GIS_PREMISES_COLUMNS,
    "area_differences": _GIS_PREMISES_COLUMNS,
    "accounts_without_els": ("account_id", "account_number", "els", "zhku_id"),
    "accounts_without_zhku_id": ("account_id", "account_number", "els", "zhku_id"),
    "premises_in_billing_not_in_gis": ("fias_house_guid", "premises_id", "number", "kind"),
    "debtors_missing_court_data": ("account_id", "account_number", "debt", "missing"),
}  # fmt: skip


async def rows(
    session: AsyncSession,
    *,
    principal: Principal,
    organisation_id: uuid.UUID,
    figure: Figure,
    month: date | None,
    tolerance: Decimal,
) -> AsyncIterator[tuple[Any, ...]]:
    """Yield the rows behind a figure, in ROW_COLUMNS[figure] order (streamed)."""
    principal.require_org(organisation_id)
    if figure == "debtors_missing_court_data":
        async for account, owed in debtors(session, organisation_id):
            missing = missing_court_data(account)
            if missing:
                debt = Decimal(owed) / 100
                yield account.id, account.account_number, f"{debt:.2f}", " ".join(missing)
        return
    month = month or await latest_month(session, organisation_id)
    if month is None:
        return
    query = row_query(figure, organisation_id, month, tolerance)
    assert query is not None
    stream = await session.stream(query.execution_options(yield_per=2000))
    async for row in stream:
        yield tuple(row)
