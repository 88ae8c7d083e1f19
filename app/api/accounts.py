"""Personal-account registry: search, account details, bulk import from billing, premises statistics."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, File, Form, Path, Query, UploadFile
from pydantic import BaseModel, ConfigDict, Field

from app.api.deps import Answerer, Reader, Sender, SessionDep, SettingsDep, query_model, query_parameters
from app.api.errors import error_responses
from app.api.operations import OperationRead
from app.db.models.accounts import Account
from app.domain import accounts as importer
from app.domain.accounts import registry as service
from app.domain.accounts import sync as syncer
from app.domain.kernel.access import Principal
from app.domain.kernel.calendar import moscow_today
from app.domain.kernel.masking import mask

router = APIRouter(prefix="/api/v1", tags=["accounts"])

AccountId = Annotated[uuid.UUID, Path(description="account id")]
OrgId = Annotated[uuid.UUID, Path(description="organisation id")]


class DocumentRead(BaseModel):
    """Identity document of a person payer (type: НСИ 95 code)."""

    type: str | None
    series: str | None
    number: str | None


class PayerRead(BaseModel):
    """The payer. Without the `pii` scope names are cut to initials and identifiers are withheld."""

    kind: str
    masked: bool = Field(description="true when personal data was withheld (the key lacks scope `pii`)")
    last_name: str | None = None
    first_name: str | None = None
    middle_name: str | None = None
    birth_date: date | None = None
    birth_place: str | None = None
    snils: str | None = None
    document: DocumentRead | None = None
    inn: str | None = None
    name: str | None = Field(None, description="organisation payer's name")
    ogrn: str | None = None
    phone: str | None = Field(None, description="mobile for notices, +7XXXXXXXXXX (*** without scope `pii`)")
    email: str | None = Field(None, description="e-mail for notices (*** without scope `pii`)")


class HouseRead(BaseModel):
    """A house: FIAS GUID, GIS house-management object GUID, address."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    fias_house_guid: uuid.UUID | None
    hm_object_guid: uuid.UUID | None
    address: str | None
    region: str | None


class PremisesRead(BaseModel):
    """Premises covered by the account, with the payer's share."""

    id: uuid.UUID
    house: HouseRead
    number: str = Field(description="as billing writes it")
    number_norm: str = Field(description="matching key, e.g. 12А, 3Н, 12К5")
    kind: str
    residential: bool
    cadastral_number: str | None
    gis_premises_guid: uuid.UUID | None
    share_percent: Decimal | None


class DebtRead(BaseModel):
    """Debt on the date asked: overdue unpaid total, months in debt, oldest unpaid month."""

    as_of: date
    debt: Decimal = Field(description="unpaid amounts past their due date")
    outstanding: Decimal = Field(description="all unpaid amounts, due or not")
    months_in_debt: int
    oldest_debt_period: date | None


class LedgerMonthRead(BaseModel):
    """One billing month and what is still unpaid of it."""

    model_config = ConfigDict(from_attributes=True)

    period: date
    charged: Decimal
    paid: Decimal
    due_date: date
    outstanding: Decimal
    days_overdue: int


class AccountRead(BaseModel):
    """A personal account with its payer and premises; debt when asked."""

    id: uuid.UUID
    organisation_id: uuid.UUID
    account_number: str
    els: str | None = Field(description="ЕЛС, unified account number (10 characters)")
    zhku_id: str | None = Field(description="ЖКУ identifier (13 characters)")
    gis_account_guid: uuid.UUID | None
    opened_on: date | None
    closed_on: date | None
    closed: bool
    dispute: bool
    bankruptcy: bool
    payer: PayerRead
    premises: list[PremisesRead]
    match_quality: Literal["exact", "normalised", "house_only"] | None = Field(
        None, description="how the premises matched a house/premises search"
    )
    debt: DebtRead | None = None


class AccountDetail(AccountRead):
    """An account with its full ledger."""

    ledger: list[LedgerMonthRead]


class AccountsPage(BaseModel):
    """A page of accounts; pass `next_cursor` as `cursor` for the next one."""

    items: list[AccountRead]
    next_cursor: str | None


class AccountSyncCreate(BaseModel):
    """What to compare with GIS: one house, or lists of ЕЛС or ЖКУ ids (sent in batches of 1000)."""

    model_config = ConfigDict(extra="forbid")

    organisation_id: uuid.UUID
    fias_house_guid: uuid.UUID | None = None
    els: list[Annotated[str, Field(min_length=10, max_length=10)]] | None = Field(None, max_length=100_000)
    zhku_ids: list[Annotated[str, Field(min_length=13, max_length=13)]] | None = Field(
        None, max_length=100_000
    )


class MonthCount(BaseModel):
    """Residential premises with open accounts in one month."""

    month: int
    premises: int


class PremisesStatistics(BaseModel):
    """Residential premises with accounts per month (court-order experiment threshold)."""

    organisation_id: uuid.UUID
    year: int
    months: list[MonthCount]
    maximum: int = Field(description="the largest monthly count: the experiment's threshold compares this")


def _payer(account: Account, principal: Principal) -> PayerRead:
    payer = _payer_data(account, principal)
    # Contacts are personal data for any payer (an organisation's may be its contact person's).
    payer.phone = mask(account.phone, pii=principal.can_see_pii, form="stars")
    payer.email = mask(account.email, pii=principal.can_see_pii, form="stars")
    return payer


def _payer_data(account: Account, principal: Principal) -> PayerRead:
    if account.payer_kind != "person":
        return PayerRead(
            kind=account.payer_kind,
            masked=False,
            name=account.org_name,
            inn=account.inn,
            ogrn=account.org_ogrn,
        )
    if not principal.can_see_pii:
        return PayerRead(
            kind="person",
            masked=True,
            last_name=mask(account.last_name, pii=False, form="initial"),
            first_name=mask(account.first_name, pii=False, form="initial"),
            middle_name=mask(account.middle_name, pii=False, form="initial"),
        )
    document = (
        DocumentRead(type=account.id_doc_type, series=account.id_doc_series, number=account.id_doc_number)
        if account.id_doc_number
        else None
    )
    return PayerRead(
        kind="person",
        masked=False,
        last_name=account.last_name,
        first_name=account.first_name,
        middle_name=account.middle_name,
        birth_date=account.birth_date,
        birth_place=account.birth_place,
        snils=account.snils,
        document=document,
        inn=account.inn,
    )


def _read(hit: service.AccountHit, principal: Principal, as_of: date) -> AccountRead:
    a = hit.account
    summary = hit.summary
    return AccountRead(
        id=a.id,
        organisation_id=a.organisation_id,
        account_number=a.account_number,
        els=a.els,
        zhku_id=a.zhku_id,
        gis_account_guid=a.gis_account_guid,
        opened_on=a.opened_on,
        closed_on=a.closed_on,
        closed=a.closed,
        dispute=a.dispute,
        bankruptcy=a.bankruptcy,
        payer=_payer(a, principal),
        premises=[
            PremisesRead(
                id=p.id,
                house=HouseRead.model_validate(h),
                number=p.number_raw,
                number_norm=p.number_norm,
                kind=p.kind,
                residential=p.residential,
                cadastral_number=p.cadastral_number,
                gis_premises_guid=p.gis_premises_guid,
                share_percent=share,
            )
            for p, h, share in hit.premises
        ],
        match_quality=hit.quality,
        debt=(
            DebtRead(
                as_of=as_of,
                debt=summary.debt,
                outstanding=summary.outstanding,
                months_in_debt=summary.months_in_debt,
                oldest_debt_period=summary.oldest_debt_period,
            )
            if summary is not None
            else None
        ),
    )


class AccountSearchParams(BaseModel):
    """Query parameters of the account search; at least one criterion (house, number, ЕЛС, …) is required."""

    fias_house_guid: uuid.UUID | None = Field(None, description="FIAS house GUID")
    premises: str | None = Field(
        None, max_length=100, description='premises number, e.g. "кв. 12а" (needs the house)'
    )
    exact: bool = Field(False, description="premises written exactly the same (else normalised)")
    account_number: str | None = Field(None, max_length=30)
    els: str | None = Field(None, min_length=10, max_length=10, description="ЕЛС")
    zhku_id: str | None = Field(None, min_length=13, max_length=13, description="ЖКУ id")
    gis_account_guid: uuid.UUID | None = None
    snils: str | None = Field(None, max_length=20, description="payer's SNILS (needs scope pii)")
    last_name: str | None = Field(None, max_length=100)
    first_name: str | None = Field(None, max_length=100)
    middle_name: str | None = Field(None, max_length=100)
    birth_date: date | None = None
    organisation_id: uuid.UUID | None = None
    scope: Literal["organisation", "address"] = Field(
        "address",
        description="organisation: only organisation_id's accounts; address: any of the key's organisations",
    )
    with_debt: bool = Field(False, description="add debt totals")
    as_of: date | None = Field(None, description="debt on this date (default today)")
    limit: int = Field(50, ge=1, le=service.MAX_PAGE)
    cursor: str | None = Field(None, max_length=64)


@router.get(
    "/accounts",
    response_model=AccountsPage,
    status_code=200,
    responses=error_responses(401, 403, 404, 422),
    openapi_extra=query_parameters(AccountSearchParams),
)
async def search_accounts(
    session: SessionDep,
    principal: Reader,
    params: Annotated[AccountSearchParams, Depends(query_model(AccountSearchParams))],
) -> AccountsPage:
    """Search accounts by house and premises, number, ЕЛС, ЖКУ id, GIS GUID or payer (scope `read`)."""
    return await _search(session, principal, params)


async def _search(
    session: service.DbReader, principal: Principal, params: AccountSearchParams
) -> AccountsPage:
    """The route's search: `_find` and the page's response model."""
    page, day = await _find(session, principal, params)
    return AccountsPage(items=[_read(h, principal, day) for h in page.items], next_cursor=page.next_cursor)


async def _find(
    session: service.DbReader, principal: Principal, params: AccountSearchParams
) -> tuple[service.AccountPage, date]:
    """The search itself, shared by the route and `accounts_fast.AccountSearchFastPath`; and the debt date."""
    if params.snils is not None or params.last_name is not None:
        # Searching by a person is itself a disclosure of personal data.
        principal.require("pii")
    query = service.AccountQuery(
        fias_house_guid=params.fias_house_guid,
        premises=params.premises,
        exact=params.exact,
        account_number=params.account_number,
        els=params.els,
        zhku_id=params.zhku_id,
        gis_account_guid=params.gis_account_guid,
        snils=params.snils,
        last_name=params.last_name,
        first_name=params.first_name,
        middle_name=params.middle_name,
        birth_date=params.birth_date,
        organisation_id=params.organisation_id,
        scope=params.scope,
    )
    day = params.as_of or moscow_today()
    page = await service.search_accounts(
        session=session,
        principal=principal,
        query=query,
        with_debt=params.with_debt,
        limit=params.limit,
        cursor=params.cursor,
        as_of=day,
    )
    return page, day


@router.get(
    "/accounts/{account_id}",
    response_model=AccountDetail,
    status_code=200,
    responses=error_responses(401, 403, 404),
)
async def get_account(
    account_id: AccountId,
    session: SessionDep,
    principal: Reader,
    as_of: Annotated[date | None, Query(description="debt on this date (default today)")] = None,
) -> AccountDetail:
    """Show an account with premises, ledger, debt, months in debt and per-month ages (scope `read`)."""
    day = as_of or moscow_today()
    hit = await service.get_account(session=session, principal=principal, account_id=account_id, as_of=day)
    base = _read(hit, principal, day)
    months = hit.summary.months if hit.summary is not None else ()
    return AccountDetail(**base.model_dump(), ledger=[LedgerMonthRead.model_validate(m) for m in months])


@router.post(
    "/accounts/imports",
    response_model=OperationRead,
    status_code=202,
    responses=error_responses(401, 403, 404, 422, 429),
)
async def import_accounts(
    session: SessionDep,
    principal: Answerer,
    settings: SettingsDep,
    file: Annotated[UploadFile, File(description="JSON Lines or CSV, see docs/accounts-import.md")],
    organisation_id: Annotated[uuid.UUID, Form(description="whose accounts these are")],
    format: Annotated[
        Literal["jsonl", "csv"] | None, Form(description="file format (default: by file name)")
    ] = None,
) -> OperationRead:
    """Upload accounts and ledgers from billing; poll the operation for the report (scope `answer`)."""
    principal.require_org(organisation_id)
    fmt = format or importer.sniff_format(file.filename, file.content_type)
    path = await asyncio.to_thread(
        importer.store_upload,
        file.file,
        settings.accounts.upload_dir,
        fmt,
        max_bytes=settings.accounts.import_max_bytes,
    )
    try:
        op = await importer.queue_import(
            session=session,
            principal=principal,
            organisation_id=organisation_id,
            path=path,
            fmt=fmt,
            filename=file.filename,
        )
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return OperationRead.model_validate(op)


@router.get(
    "/organisations/{organisation_id}/statistics/premises",
    response_model=PremisesStatistics,
    status_code=200,
    responses=error_responses(401, 403, 404, 422),
)
async def premises_statistics(
    organisation_id: OrgId,
    session: SessionDep,
    principal: Reader,
    year: Annotated[int, Query(ge=2000, le=2100)] = 2025,
) -> PremisesStatistics:
    """Count residential premises with open accounts per month of a year (scope `read`)."""
    principal.require_org(organisation_id)
    counts = await service.premises_stats(organisation_id, year, session=session)
    return PremisesStatistics(
        organisation_id=organisation_id,
        year=year,
        months=[MonthCount(month=m, premises=n) for m, n in sorted(counts.items())],
        maximum=max(counts.values(), default=0),
    )


@router.post(
    "/accounts/syncs",
    response_model=OperationRead,
    status_code=202,
    responses=error_responses(401, 403, 404, 422, 429),
)
async def sync_accounts(body: AccountSyncCreate, session: SessionDep, principal: Sender) -> OperationRead:
    """Compare accounts with GIS (exportAccountData) and fill in GIS identifiers (scope `send`)."""
    candidates: list[tuple[syncer.Selector, list[str]]] = [
        ("fias_house_guid", [str(body.fias_house_guid)] if body.fias_house_guid else []),
        ("els", body.els or []),
        ("zhku_id", body.zhku_ids or []),
    ]
    selectors = [(sel, vals) for sel, vals in candidates if vals]
    if len(selectors) != 1:
        selectors = [("fias_house_guid", [])]  # queue_sync explains what is expected
    selector, values = selectors[0]
    op = await syncer.queue_sync(
        session=session,
        principal=principal,
        organisation_id=body.organisation_id,
        selector=selector,
        values=values,
    )
    return OperationRead.model_validate(op)
