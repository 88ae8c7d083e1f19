"""Match subrequests to billing accounts (house, then premises) and cache debt sum and months in debt.

Months written off by a posted act (app/domain/writeoff) are left out of the debt sum and months.

Works on whole chunks of subrequests with a handful of queries per chunk (not one query per request), so
10,000 requests match in seconds. It reads the account registry's tables (app.db.models.accounts) directly
for that reason; the per-request lookup of the Accounts issue would cost one round trip per request.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.base import utcnow
from app.db.models.accounts import Account, AccountLedger, AccountPremises, House, Premises
from app.db.models.debt_requests import DebtSubrequest
from app.domain.accounts.ledger import decode_months, kopecks
from app.domain.accounts.premises import normalize_premises
from app.domain.debt_requests.common import OPEN
from app.domain.writeoff import written_off_months

Quality = Literal["exact", "normalised", "house_only", "review", "none"]
Scope = Literal["organisation", "address"]
CHUNK = 500

# HM object types whose GUID is the premises itself (exportDSRs 14.0.0.0 exportHMObjectGUID/adressType).
_PREMISES_TYPES = {"Apartment", "Room"}
# An individual house or house block: the house is the premises.
_HOUSE_TYPES = {"House", "HouseBlock"}


@dataclass(frozen=True)
class MatchResult:
    """Accounts matched to one subrequest, the match quality and the debt over the period asked."""

    account_ids: tuple[uuid.UUID, ...]
    quality: Quality
    debt_sum: Decimal | None
    debt_months: int | None


@dataclass(frozen=True, slots=True)
class OpenSubrequest:
    """The columns of an open subrequest that matching and pre-filling read (no ORM object per row)."""

    id: uuid.UUID
    organisation_id: uuid.UUID
    request_number: str
    status: str
    send_batch_id: uuid.UUID | None
    hm_object_guid: uuid.UUID | None
    house_guid: uuid.UUID | None
    fias_house_guid: uuid.UUID | None
    address_type: str | None
    premises: str | None
    period_from: date
    period_to: date


_OPEN_COLUMNS = (
    DebtSubrequest.id,
    DebtSubrequest.organisation_id,
    DebtSubrequest.request_number,
    DebtSubrequest.status,
    DebtSubrequest.send_batch_id,
    DebtSubrequest.hm_object_guid,
    DebtSubrequest.house_guid,
    DebtSubrequest.fias_house_guid,
    DebtSubrequest.address_type,
    DebtSubrequest.premises,
    DebtSubrequest.period_from,
    DebtSubrequest.period_to,
)


@dataclass(frozen=True)
class _PremisesRow:
    premises_id: uuid.UUID
    house_id: uuid.UUID
    number_raw: str
    number_norm: str
    gis_guid: uuid.UUID | None
    account_id: uuid.UUID


def _fold(text: str) -> str:
    return " ".join(text.casefold().replace("ё", "е").split())


def _strip_marker(text: str) -> str:
    # "кв. 12" in the request vs "12" in the registry: an exact match compares the designation itself.
    words = _fold(text).replace(".", " ").split()
    markers = {"кв", "квартира", "пом", "помещение", "комн", "комната", "офис"}
    return " ".join(w for w in words if w not in markers)


def match_one(
    sub: OpenSubrequest,
    *,
    house_id: uuid.UUID | None,
    by_house: dict[uuid.UUID, list[_PremisesRow]],
    by_gis_guid: dict[uuid.UUID, list[_PremisesRow]],
    exact_only: bool,
) -> tuple[tuple[uuid.UUID, ...], Quality]:
    """Match one subrequest against the premises rows loaded for its chunk."""
    if sub.hm_object_guid is not None and sub.hm_object_guid in by_gis_guid:
        rows = by_gis_guid[sub.hm_object_guid]
        return tuple(dict.fromkeys(r.account_id for r in rows)), "exact"
    if house_id is None:
        return (), "none"
    rows = by_house.get(house_id, [])
    if sub.address_type in _HOUSE_TYPES and rows:
        return tuple(dict.fromkeys(r.account_id for r in rows)), "exact"
    if sub.premises:
        wanted = _strip_marker(sub.premises)
        exact = [r for r in rows if _fold(r.number_raw) == wanted]
        if exact:
            return tuple(dict.fromkeys(r.account_id for r in exact)), "exact"
        norm = normalize_premises(sub.premises)
        normalised = [r for r in rows if r.number_norm == norm]
        if normalised:
            if exact_only:
                return (), "review"
            return tuple(dict.fromkeys(r.account_id for r in normalised)), "normalised"
    return (), "house_only"


async def _houses(session: AsyncSession, subs: Sequence[OpenSubrequest]) -> dict[uuid.UUID, uuid.UUID]:
    """Map subrequest id → house id (by FIAS house GUID, else by the GIS HM object GUID of the house)."""
    fias = {s.fias_house_guid for s in subs if s.fias_house_guid}
    hm = {g for s in subs for g in (s.hm_object_guid, s.house_guid) if g}
    if not fias and not hm:
        return {}
    conditions = []
    if fias:
        conditions.append(House.fias_house_guid.in_(fias))
    if hm:
        conditions.append(House.hm_object_guid.in_(hm))
    rows = (
        await session.execute(
            select(House.id, House.fias_house_guid, House.hm_object_guid).where(or_(*conditions))
        )
    ).all()
    by_fias = {r.fias_house_guid: r.id for r in rows if r.fias_house_guid}
    by_hm = {r.hm_object_guid: r.id for r in rows if r.hm_object_guid}
    result: dict[uuid.UUID, uuid.UUID] = {}
    for s in subs:
        found = (
            (s.fias_house_guid and by_fias.get(s.fias_house_guid))
            or (s.house_guid and by_hm.get(s.house_guid))
            or (s.hm_object_guid and by_hm.get(s.hm_object_guid))
        )
        if found:
            result[s.id] = found
    return result


async def _premises_rows(
    session: AsyncSession,
    *,
    organisation_id: uuid.UUID,
    scope: Scope,
    house_ids: set[uuid.UUID],
    gis_guids: set[uuid.UUID],
) -> list[_PremisesRow]:
    if not house_ids and not gis_guids:
        return []
    conditions = []
    if house_ids:
        conditions.append(Premises.house_id.in_(house_ids))
    if gis_guids:
        conditions.append(Premises.gis_premises_guid.in_(gis_guids))
    stmt = (
        select(
            Premises.id,
            Premises.house_id,
            Premises.number_raw,
            Premises.number_norm,
            Premises.gis_premises_guid,
            AccountPremises.account_id,
        )
        .join(AccountPremises, AccountPremises.premises_id == Premises.id)
        .join(Account, Account.id == AccountPremises.account_id)
        .where(or_(*conditions), Account.closed.is_(False))
    )
    if scope == "organisation":
        stmt = stmt.where(Account.organisation_id == organisation_id)
    return [_PremisesRow(r[0], r[1], r[2], r[3], r[4], r[5]) for r in (await session.execute(stmt)).all()]


async def _debts(
    session: AsyncSession, pairs: dict[uuid.UUID, tuple[tuple[uuid.UUID, ...], date, date]], on: date
) -> dict[uuid.UUID, tuple[Decimal, int]]:
    """Debt (charged − paid, months already due) per subrequest over the period it asks about."""
    accounts = {a for ids, _, _ in pairs.values() for a in ids}
    if not accounts:
        return {}
    start = min(p[1] for p in pairs.values())
    end = max(p[2] for p in pairs.values())
    first_period = date(start.year, start.month, 1)
    ledgers = select(AccountLedger.account_id, AccountLedger.months)
    stmt = ledgers.where(AccountLedger.account_id.in_(accounts))
    # Months written off by a posted act are no longer owed (issue #16): the answer does not count them.
    gone = await written_off_months(session=session, organisation_id=None, account_ids=accounts)
    by_account: dict[uuid.UUID, list[tuple[date, Decimal]]] = defaultdict(list)
    for account_id, stored in await session.execute(stmt):
        # Months of the asked periods already due with something unpaid.
        by_account[account_id] = [
            (m.period, Decimal(m.charged) - Decimal(m.paid))
            for m in decode_months(stored)
            if first_period <= m.period <= end
            and m.due_date < on
            and kopecks(m.charged) > kopecks(m.paid)
            and (account_id, m.period) not in gone
        ]
    result: dict[uuid.UUID, tuple[Decimal, int]] = {}
    for sub_id, (ids, p_from, p_to) in pairs.items():
        total = Decimal("0.00")
        months: set[date] = set()
        first = date(p_from.year, p_from.month, 1)
        for account_id in ids:
            for period, amount in by_account.get(account_id, ()):
                if first <= period <= p_to:
                    total += amount
                    months.add(period)
        result[sub_id] = (total.quantize(Decimal("0.01")), len(months))
    return result


async def match_chunk(
    *,
    session: AsyncSession,
    organisation_id: uuid.UUID,
    subs: Sequence[OpenSubrequest],
    scope: Scope,
    exact_only: bool,
    on: date,
) -> dict[uuid.UUID, MatchResult]:
    """Match a chunk of subrequests with a few queries; return results by subrequest id."""
    houses = await _houses(session, subs)
    gis_guids = {s.hm_object_guid for s in subs if s.hm_object_guid and s.address_type in _PREMISES_TYPES}
    rows = await _premises_rows(
        session,
        organisation_id=organisation_id,
        scope=scope,
        house_ids=set(houses.values()),
        gis_guids=gis_guids,
    )
    by_house: dict[uuid.UUID, list[_PremisesRow]] = defaultdict(list)
    by_gis: dict[uuid.UUID, list[_PremisesRow]] = defaultdict(list)
    for r in rows:
        by_house[r.house_id].append(r)
        if r.gis_guid is not None:
            by_gis[r.gis_guid].append(r)
    matched: dict[uuid.UUID, tuple[tuple[uuid.UUID, ...], Quality]] = {
        s.id: match_one(
            s, house_id=houses.get(s.id), by_house=by_house, by_gis_guid=by_gis, exact_only=exact_only
        )
        for s in subs
    }
    periods = {s.id: (matched[s.id][0], s.period_from, s.period_to) for s in subs if matched[s.id][0]}
    debts = await _debts(session, periods, on)
    return {
        s.id: MatchResult(
            account_ids=matched[s.id][0],
            quality=matched[s.id][1],
            debt_sum=debts[s.id][0] if s.id in debts else None,
            debt_months=debts[s.id][1] if s.id in debts else None,
        )
        for s in subs
    }


async def store_matches(results: dict[uuid.UUID, MatchResult], *, session: AsyncSession) -> None:
    """Write match results onto the subrequests (one executemany)."""
    if not results:
        return
    now = utcnow()
    params: list[dict[str, Any]] = [
        {
            "b_id": sid,
            "b_accounts": [str(a) for a in r.account_ids],
            "b_quality": r.quality,
            "b_at": now,
            "b_sum": r.debt_sum,
            "b_months": r.debt_months,
        }
        for sid, r in results.items()
    ]
    # Core executemany (not the ORM's bulk path): one statement for the whole chunk.
    stmt = (
        update(DebtSubrequest.__table__)  # type: ignore[arg-type]
        .where(DebtSubrequest.__table__.c.id == bindparam("b_id", type_=DebtSubrequest.id.type))
        .values(
            matched_account_ids=bindparam("b_accounts", type_=DebtSubrequest.matched_account_ids.type),
            match_quality=bindparam("b_quality"),
            matched_at=bindparam("b_at", type_=DebtSubrequest.matched_at.type),
            debt_sum=bindparam("b_sum", type_=DebtSubrequest.debt_sum.type),
            debt_months=bindparam("b_months"),
        )
    )
    conn = await session.connection()
    await conn.execute(stmt, params)


async def open_subrequests(
    *,
    session: AsyncSession,
    organisation_id: uuid.UUID,
    ids: Sequence[uuid.UUID] | None = None,
    after: uuid.UUID | None = None,
    limit: int = CHUNK,
) -> list[OpenSubrequest]:
    """Load the next chunk (by id) of open subrequests of an organisation, optionally restricted to ids.

    One SELECT of the columns matching needs (no ORM objects: a chunk is read, matched and written back
    with Core statements).
    """
    stmt = (
        select(*_OPEN_COLUMNS)
        .where(DebtSubrequest.organisation_id == organisation_id, DebtSubrequest.status.in_(OPEN))
        .order_by(DebtSubrequest.id)
        .limit(limit)
    )
    if ids is not None:
        stmt = stmt.where(DebtSubrequest.id.in_(ids))
    if after is not None:
        stmt = stmt.where(DebtSubrequest.id > after)
    return [OpenSubrequest(*tuple(row)) for row in await session.execute(stmt)]
