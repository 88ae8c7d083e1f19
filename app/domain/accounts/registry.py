"""The accounts registry: search, account details, ledger summaries (debt, months in debt, ages), statistics.

Functions other areas call (keep their signatures stable):
`find_accounts_for_premises`, `ledger_for_accounts`, `summarise_ledger`, `premises_stats`.

A little over 600 lines on purpose: the search's cached statements, its keyset cursor and the ledger
summaries it returns are one family tuned together (docs/benchmarks.md "## Accounts").
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any, Literal

from sqlalchemy import Select, and_, bindparam, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.db.models.accounts import Account, AccountLedger, AccountPremises, House, Premises
from app.db.raw_pool import RawReader
from app.db.rows import fetch_rows
from app.domain.accounts.ledger import LedgerRecord, decode_months
from app.domain.accounts.premises import normalize_premises
from app.domain.accounts.rows import fold, name_key
from app.domain.kernel import errors as d
from app.domain.kernel.access import Principal
from app.domain.kernel.calendar import moscow_today
from app.domain.kernel.snils import is_valid_snils, normalize_snils

MatchQuality = Literal["exact", "normalised", "house_only"]
_ZERO = Decimal("0.00")
MAX_PAGE = 500


#: What the read functions below accept: a session, or a connection (the search fast path reads with an
#: autocommit connection, without a session's bookkeeping; on PostgreSQL one of the raw asyncpg pool).
DbReader = AsyncSession | AsyncConnection | RawReader


# --- ledger ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LedgerMonth:
    """One billing month with what is still unpaid of it and how long it has been overdue."""

    period: date
    charged: Decimal
    paid: Decimal
    due_date: date
    #: Unpaid part of this month's charge after credits were applied to the oldest months first.
    outstanding: Decimal
    #: Days since the due date while something is outstanding (0 when paid or not yet due).
    days_overdue: int


@dataclass(frozen=True, slots=True)
class LedgerSummary:
    """Debt of an account on a date: overdue total, months in debt, oldest debt, per-month detail."""

    debt: Decimal
    outstanding: Decimal
    months_in_debt: int
    oldest_debt_period: date | None
    months: tuple[LedgerMonth, ...]


def summarise_ledger(entries: Iterable[LedgerRecord | LedgerMonth], as_of: date) -> LedgerSummary:
    """Compute outstanding amounts per month and the debt on `as_of` from charged/paid months.

    Each month's payment goes to that month first (the ledger records payments by billing period); any
    surplus and any negative charge (a recalculation credit) pays the oldest unpaid months (ГК РФ ст. 319.1).
    """
    rows = sorted(entries, key=lambda e: e.period)
    remaining: list[Decimal] = []
    credit = _ZERO
    for e in rows:
        charged = Decimal(e.charged)
        paid = Decimal(e.paid)
        if charged < 0:
            credit += -charged
            charged = _ZERO
        left = charged - paid
        if left < 0:
            credit += -left
            left = _ZERO
        remaining.append(left)
    for i, left in enumerate(remaining):
        if credit <= 0:
            break
        take = min(left, credit)
        remaining[i] = left - take
        credit -= take
    months: list[LedgerMonth] = []
    debt = outstanding = _ZERO
    in_debt = 0
    oldest: date | None = None
    for e, left in zip(rows, remaining, strict=True):
        overdue = (as_of - e.due_date).days if left > 0 and as_of > e.due_date else 0
        months.append(
            LedgerMonth(
                period=e.period,
                charged=Decimal(e.charged),
                paid=Decimal(e.paid),
                due_date=e.due_date,
                outstanding=left,
                days_overdue=overdue,
            )
        )
        outstanding += left
        if overdue > 0:
            debt += left
            in_debt += 1
            oldest = oldest or e.period
    return LedgerSummary(
        debt=debt,
        outstanding=outstanding,
        months_in_debt=in_debt,
        oldest_debt_period=oldest,
        months=tuple(months),
    )


#: The ledgers of a list of accounts, for `fetch_rows` (a cached statement; the list expands per length).
_LEDGERS: Select[Any] = select(*AccountLedger.__table__.c["account_id", "months"]).where(
    AccountLedger.account_id.in_(bindparam("ids", expanding=True))
)


async def ledger_for_accounts(
    account_ids: Sequence[uuid.UUID], *, session: DbReader, as_of: date | None = None
) -> dict[uuid.UUID, list[LedgerMonth]]:
    """Return each account's ledger months, oldest first, with outstanding amounts and ages on `as_of`."""
    as_of = as_of or moscow_today()
    grouped: dict[uuid.UUID, list[LedgerRecord]] = {a: [] for a in account_ids}
    ids = list(grouped)
    for start in range(0, len(ids), 500):
        if isinstance(session, RawReader):
            rows: Iterable[Any] = await fetch_rows(
                session, _LEDGERS, {"ids": ids[start : start + 500]}, autocommit=True
            )
        else:
            stmt = select(AccountLedger.account_id, AccountLedger.months).where(
                AccountLedger.account_id.in_(ids[start : start + 500])
            )
            rows = await session.execute(stmt)
        for account_id, months in rows:
            grouped[account_id] = decode_months(months)
    return {a: list(summarise_ledger(rows, as_of).months) for a, rows in grouped.items()}


async def summaries_for_accounts(
    account_ids: Sequence[uuid.UUID], *, session: DbReader, as_of: date | None = None
) -> dict[uuid.UUID, LedgerSummary]:
    """Return the ledger summary (debt, months in debt) of each account."""
    as_of = as_of or moscow_today()
    months = await ledger_for_accounts(account_ids, session=session, as_of=as_of)
    return {a: summarise_ledger(m, as_of) for a, m in months.items()}


# --- premises matching (debt requests, court orders) -----------------------------------------------------


@dataclass(frozen=True, slots=True)
class AccountMatch:
    """An account found for a premises, how well it matched, and its debt."""

    account_id: uuid.UUID
    organisation_id: uuid.UUID
    account_number: str
    premises_id: uuid.UUID
    premises_number: str
    quality: MatchQuality
    share_percent: Decimal | None
    closed: bool
    debt: Decimal
    months_in_debt: int


async def find_accounts_for_premises(
    *,
    session: AsyncSession,
    organisation_id: uuid.UUID | None,
    fias_house_guid: uuid.UUID | None,
    hm_object_guid: uuid.UUID | None,
    premises: str | None,
    exact: bool,
    premises_guid: uuid.UUID | None = None,
    as_of: date | None = None,
) -> list[AccountMatch]:
    """Find accounts covering a premises of a house (by FIAS or GIS house GUID) with their debt.

    `premises` None: every account of the house ("house_only"). `exact`: the number must be written the same
    (quality "exact"); otherwise normalised numbers match too ("кв. 12а" = "12А", quality "normalised").
    A GIS premises GUID, when given, matches exactly regardless of the number. `organisation_id` None
    searches every organisation ("by address only"); access control is the caller's job.
    """
    if fias_house_guid is None and hm_object_guid is None and premises_guid is None:
        raise d.RuleViolation(
            "A house (FIAS or GIS GUID) or a premises GUID is needed to look up accounts.",
            rule="house_required",
        )
    stmt = (
        select(Account, Premises.id, Premises.number_raw, Premises.number_norm, AccountPremises.share_percent)
        .join(AccountPremises, AccountPremises.account_id == Account.id)
        .join(Premises, Premises.id == AccountPremises.premises_id)
        .order_by(Account.account_number, Account.id)
    )
    house_ids = await _house_ids(session, fias_house_guid, hm_object_guid)
    conditions: list[Any] = []
    raw = premises.strip() if premises is not None else None
    norm = normalize_premises(raw) if raw else None
    if premises_guid is not None:
        conditions.append(Premises.gis_premises_guid == premises_guid)
    if house_ids:
        in_house = Premises.house_id.in_(house_ids)
        if raw is None:
            conditions.append(in_house)
        elif exact:
            conditions.append(and_(in_house, Premises.number_raw == raw))
        else:
            conditions.append(and_(in_house, or_(Premises.number_norm == norm, Premises.number_raw == raw)))
    if not conditions:
        return []
    stmt = stmt.where(or_(*conditions))
    if organisation_id is not None:
        stmt = stmt.where(Account.organisation_id == organisation_id)
    rows = (await session.execute(stmt)).all()
    summaries = await summaries_for_accounts(
        list(dict.fromkeys(r[0].id for r in rows)), session=session, as_of=as_of
    )
    out: list[AccountMatch] = []
    for acc, pid, number_raw, _number_norm, share in rows:
        quality: MatchQuality
        if raw is None and premises_guid is None:
            quality = "house_only"
        elif number_raw == raw or premises_guid is not None:
            quality = "exact"
        else:
            quality = "normalised"
        summary = summaries[acc.id]
        out.append(
            AccountMatch(
                account_id=acc.id,
                organisation_id=acc.organisation_id,
                account_number=acc.account_number,
                premises_id=pid,
                premises_number=number_raw,
                quality=quality,
                share_percent=share,
                closed=acc.closed,
                debt=summary.debt,
                months_in_debt=summary.months_in_debt,
            )
        )
    return out


async def _house_ids(
    session: AsyncSession, fias_house_guid: uuid.UUID | None, hm_object_guid: uuid.UUID | None
) -> list[uuid.UUID]:
    conds = []
    if fias_house_guid is not None:
        conds.append(House.fias_house_guid == fias_house_guid)
    if hm_object_guid is not None:
        conds.append(House.hm_object_guid == hm_object_guid)
    if not conds:
        return []
    return list((await session.scalars(select(House.id).where(or_(*conds)))).all())


# --- search (the API) ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AccountQuery:
    """Search criteria of GET /api/v1/accounts; at least one criterion is required."""

    fias_house_guid: uuid.UUID | None = None
    premises: str | None = None
    exact: bool = False
    account_number: str | None = None
    els: str | None = None
    zhku_id: str | None = None
    gis_account_guid: uuid.UUID | None = None
    snils: str | None = None
    last_name: str | None = None
    first_name: str | None = None
    middle_name: str | None = None
    birth_date: date | None = None
    organisation_id: uuid.UUID | None = None
    scope: Literal["organisation", "address"] = "address"


@dataclass
class AccountHit:
    """One account in a search result, with the premises that matched and (when asked) its debt.

    `account` has the attributes of an `Account` (an ORM object, or a Core row of the accounts table);
    premises and houses likewise (ORM objects or plain namespaces).
    """

    account: Any
    premises: list[tuple[Any, Any, Decimal | None]] = field(default_factory=list)
    quality: MatchQuality | None = None
    summary: LedgerSummary | None = None


@dataclass
class AccountPage:
    """A page of hits and the cursor of the next page (None at the end)."""

    items: list[AccountHit]
    next_cursor: str | None


def encode_cursor(account_id: uuid.UUID) -> str:
    """Return an opaque cursor after the given account."""
    return base64.urlsafe_b64encode(account_id.bytes).decode().rstrip("=")


def decode_cursor(cursor: str) -> uuid.UUID:
    """Decode a cursor from `encode_cursor`; raise RuleViolation when it is not one."""
    try:
        return uuid.UUID(bytes=base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, binascii.Error):
        raise d.RuleViolation(
            "The cursor is not valid; use next_cursor from the previous page.",
            errors=[d.FieldProblem("query.cursor", "cursor", "not a cursor issued by this API")],
        ) from None


def _criteria_problems(q: AccountQuery) -> list[d.FieldProblem]:
    problems = []
    if q.premises is not None and q.fias_house_guid is None:
        problems.append(d.FieldProblem("query.premises", "requires", "premises needs fias_house_guid"))
    person_name = any(v is not None for v in (q.last_name, q.first_name, q.middle_name))
    if person_name and (q.last_name is None or q.first_name is None or q.birth_date is None):
        problems.append(
            d.FieldProblem(
                "query.last_name", "requires", "a name search needs last_name, first_name and birth_date"
            )
        )
    if q.snils is not None and not is_valid_snils(q.snils):
        problems.append(d.FieldProblem("query.snils", "snils_checksum", "not a valid SNILS"))
    if q.scope == "organisation" and q.organisation_id is None:
        problems.append(
            d.FieldProblem("query.organisation_id", "requires", "scope=organisation needs organisation_id")
        )
    keys = (
        q.fias_house_guid,
        q.account_number,
        q.els,
        q.zhku_id,
        q.gis_account_guid,
        q.snils,
        q.birth_date if person_name else None,
    )
    if all(k is None for k in keys):
        problems.append(
            d.FieldProblem(
                "query",
                "criterion_required",
                "give a house, an account number, ЕЛС, ЖКУ id, GIS GUID or a person",
            )
        )
    return problems


async def search_accounts(
    *,
    session: DbReader,
    principal: Principal,
    query: AccountQuery,
    with_debt: bool = False,
    limit: int = 50,
    cursor: str | None = None,
    as_of: date | None = None,
) -> AccountPage:
    """Search accounts visible to the caller; keyset-paginated by account id."""
    problems = _criteria_problems(query)
    if problems:
        raise d.RuleViolation("The search criteria are incomplete or invalid.", errors=problems)
    limit = max(1, min(limit, MAX_PAGE))
    orgs = principal.visible_orgs(query.organisation_id if query.scope == "organisation" else None)
    if query.scope == "address" and query.organisation_id is not None:
        principal.require_org(query.organisation_id)
    if orgs is not None and not orgs:
        return AccountPage(items=[], next_cursor=None)
    params: dict[str, Any] = {"limit": limit + 1}
    if orgs is not None:
        params["orgs"] = list(orgs)
    if cursor:
        params["cursor"] = decode_cursor(cursor)
    params.update(_filter_params(query))
    raw: str | None = None
    premises_mode: str | None = None
    if query.fias_house_guid is not None:
        params["fias_house_guid"] = query.fias_house_guid
        raw = query.premises.strip() if query.premises is not None else None
        if raw is not None:
            params["raw"] = raw
            premises_mode = "exact" if query.exact else "normalised"
            if not query.exact:
                params["norm"] = normalize_premises(raw)
    shape = (
        orgs is not None,
        bool(cursor),
        query.fias_house_guid is not None,
        premises_mode,
        *sorted(k for k in params if k in _FILTER_PARAMS),
    )
    stmt = _SEARCH_STATEMENTS.get(shape)
    if stmt is None:
        stmt = _SEARCH_STATEMENTS[shape] = _search_statement(shape)
    conn, autocommit = await _read_connection(session)
    rows = await fetch_rows(conn, stmt, params, autocommit=autocommit)
    hits: dict[uuid.UUID, AccountHit] = {}
    for row in rows:
        hit = hits.get(row.id)
        if hit is None:
            hit = hits[row.id] = AccountHit(account=row)
        if row.p_id is not None:
            hit.premises.append(_premises_of(row))
    next_cursor = None
    if len(hits) > limit:
        last = list(hits)[limit - 1]
        next_cursor = encode_cursor(last)
        hits = dict(list(hits.items())[:limit])
    if query.fias_house_guid is not None:
        for hit in hits.values():
            if raw is None:
                hit.quality = "house_only"
            elif any(p.number_raw == raw for p, _h, _s in hit.premises):
                hit.quality = "exact"
            else:
                hit.quality = "normalised"
    if with_debt and hits:
        for account_id, summary in (
            await summaries_for_accounts(list(hits), session=session, as_of=as_of)
        ).items():
            hits[account_id].summary = summary
    return AccountPage(items=list(hits.values()), next_cursor=next_cursor)


_PREMISES_COLS = (
    Premises.id.label("p_id"),
    Premises.number_raw.label("p_number_raw"),
    Premises.number_norm.label("p_number_norm"),
    Premises.kind.label("p_kind"),
    Premises.residential.label("p_residential"),
    Premises.cadastral_number.label("p_cadastral_number"),
    Premises.gis_premises_guid.label("p_gis_premises_guid"),
    House.id.label("h_id"),
    House.fias_house_guid.label("h_fias_house_guid"),
    House.hm_object_guid.label("h_hm_object_guid"),
    House.address.label("h_address"),
    House.region.label("h_region"),
)


def _premises_of(row: Any) -> tuple[Any, Any, Decimal | None]:
    premises = SimpleNamespace(
        id=row.p_id,
        number_raw=row.p_number_raw,
        number_norm=row.p_number_norm,
        kind=row.p_kind,
        residential=row.p_residential,
        cadastral_number=row.p_cadastral_number,
        gis_premises_guid=row.p_gis_premises_guid,
    )
    house = SimpleNamespace(
        id=row.h_id,
        fias_house_guid=row.h_fias_house_guid,
        hm_object_guid=row.h_hm_object_guid,
        address=row.h_address,
        region=row.h_region,
    )
    return premises, house, row.p_share


async def _read_connection(session: DbReader) -> tuple[AsyncConnection | RawReader, bool]:
    """Return the session's connection, on PostgreSQL in autocommit when no transaction has begun yet, and
    whether it is in autocommit (a connection given instead of a session is used as it is)."""
    if isinstance(session, RawReader):
        return session, True
    if isinstance(session, AsyncConnection):
        assert session.sync_connection is not None
        options = session.sync_connection.get_execution_options()
        return session, options.get("isolation_level") == "AUTOCOMMIT"
    # A search is one SELECT (two with debts): under READ COMMITTED each statement takes its own snapshot even
    # inside a transaction, so autocommit reads the same data and saves the BEGIN and COMMIT round trips
    # (two of a search request's three). A request that has already written or read keeps its transaction.
    if session.in_transaction() or session.get_bind().dialect.name != "postgresql":
        return await session.connection(), False
    return await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"}), True


#: Bound parameter → the accounts column it filters on (equality).
_FILTER_PARAMS = {
    "account_number": Account.account_number,
    "els": Account.els,
    "zhku_id": Account.zhku_id,
    "gis_account_guid": Account.gis_account_guid,
    "snils": Account.snils,
    "payer_name_key": Account.payer_name_key,
    "birth_date": Account.birth_date,
    "payer_middle_key": Account.payer_middle_key,
}


def _filter_params(q: AccountQuery) -> dict[str, Any]:
    params: dict[str, Any] = {}
    if q.account_number is not None:
        params["account_number"] = q.account_number.strip()
    if q.els is not None:
        params["els"] = q.els.strip().upper()
    if q.zhku_id is not None:
        params["zhku_id"] = q.zhku_id.strip().upper()
    if q.gis_account_guid is not None:
        params["gis_account_guid"] = q.gis_account_guid
    if q.snils is not None:
        params["snils"] = normalize_snils(q.snils)
    if q.last_name is not None and q.first_name is not None:
        params["payer_name_key"] = name_key(q.last_name, q.first_name)
        params["birth_date"] = q.birth_date
        if q.middle_name:
            params["payer_middle_key"] = fold(q.middle_name)
    return params


# Building the search statement (a subquery of 26 columns joined to premises and houses) cost about half of
# a search request's CPU in SQLAlchemy's column proxies (py-spy, docs/benchmarks.md "## Accounts"). Its
# structure depends only on which criteria are present, so it is built once per shape with bound parameters
# and reused; SQLAlchemy's compiled cache then hits too. A few dozen shapes at most.
_SEARCH_STATEMENTS: dict[tuple[Any, ...], Select[Any]] = {}


def _search_statement(shape: tuple[Any, ...]) -> Select[Any]:
    has_orgs, has_cursor, has_house, premises_mode, *filters = shape
    stmt: Select[Any] = select(*Account.__table__.c).order_by(Account.id).limit(bindparam("limit"))
    if has_orgs:
        stmt = stmt.where(Account.organisation_id.in_(bindparam("orgs", expanding=True)))
    if has_cursor:
        stmt = stmt.where(Account.id > bindparam("cursor", type_=Account.id.type))
    for name in filters:
        column = _FILTER_PARAMS[name]
        stmt = stmt.where(column == bindparam(name, type_=column.type))
    if has_house:
        house = (
            select(House.id)
            .where(House.fias_house_guid == bindparam("fias_house_guid", type_=House.fias_house_guid.type))
            .scalar_subquery()
        )
        pcond: Any = Premises.house_id == house
        raw = bindparam("raw", type_=Premises.number_raw.type)
        if premises_mode == "exact":
            pcond = and_(pcond, Premises.number_raw == raw)
        elif premises_mode == "normalised":
            norm = bindparam("norm", type_=Premises.number_norm.type)
            pcond = and_(pcond, or_(Premises.number_norm == norm, Premises.number_raw == raw))
        matching = (
            select(AccountPremises.account_id)
            .join(Premises, Premises.id == AccountPremises.premises_id)
            .where(pcond)
        )
        stmt = stmt.where(Account.id.in_(matching))
    # One round trip: the page of accounts joined to all their premises and houses (Core rows, no ORM
    # identity map: a search request is mostly this query's cost).
    page = stmt.subquery("page")
    return (
        select(page, *_PREMISES_COLS, AccountPremises.share_percent.label("p_share"))
        .select_from(page)
        .outerjoin(AccountPremises, AccountPremises.account_id == page.c.id)
        .outerjoin(Premises, Premises.id == AccountPremises.premises_id)
        .outerjoin(House, House.id == Premises.house_id)
        .order_by(page.c.id, Premises.number_norm)
    )


async def get_account(
    *, session: AsyncSession, principal: Principal, account_id: uuid.UUID, as_of: date | None = None
) -> AccountHit:
    """Load one account with its premises and ledger summary (404 for accounts of other organisations)."""
    account = await session.get(Account, account_id)
    if account is None or not principal.may_access(account.organisation_id):
        raise d.NotFoundError(f"Account {account_id} not found.")
    hit = AccountHit(account=account)
    link_stmt = (
        select(Premises, House, AccountPremises.share_percent)
        .join(Premises, Premises.id == AccountPremises.premises_id)
        .join(House, House.id == Premises.house_id)
        .where(AccountPremises.account_id == account_id)
        .order_by(Premises.number_norm)
    )
    hit.premises = [(p, h, s) for p, h, s in (await session.execute(link_stmt)).all()]
    hit.summary = (await summaries_for_accounts([account_id], session=session, as_of=as_of))[account_id]
    return hit


# --- statistics ------------------------------------------------------------------------------------------


def _month_bounds(year: int, month: int) -> tuple[date, date]:
    start = date(year, month, 1)
    end = (date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)) - timedelta(days=1)
    return start, end


async def premises_stats(organisation_id: uuid.UUID, year: int, *, session: AsyncSession) -> dict[int, int]:
    """Count, per month of `year`, the residential premises covered by the organisation's open accounts.

    The 2025 court-order experiment admits organisations by the residential premises placed in GIS ZhKKh for
    any month of 2025 (Минстрой, 2025-11-06): callers take the maximum over the months.
    """
    out: dict[int, int] = {}
    for month in range(1, 13):
        start, end = _month_bounds(year, month)
        stmt = (
            select(func.count(func.distinct(AccountPremises.premises_id)))
            .join(Account, Account.id == AccountPremises.account_id)
            .join(Premises, Premises.id == AccountPremises.premises_id)
            .where(
                Account.organisation_id == organisation_id,
                Premises.residential.is_(True),
                or_(Account.opened_on.is_(None), Account.opened_on <= end),
                or_(Account.closed_on.is_(None), Account.closed_on >= start),
            )
        )
        out[month] = int(await session.scalar(stmt) or 0)
    return out
