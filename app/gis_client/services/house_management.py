"""House management service (hm, HomeManagementAsync): exportAccountData, declared once."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal, cast

from lxml import etree

from app.gis_client.errors import GisProtocolError
from app.gis_client.operations import Operation, Service, declare
from app.gis_client.services.common import Day, Guid, NsiRef, _at_most, _exactly_one, parse_nsi_ref
from app.gis_client.wire.envelope import new_body, sub_many, sub_opt
from app.gis_client.xmlread import (
    _all,
    _find,
    _guid,
    _map,
    _need,
    _req,
    _text,
    element_path,
    to_bool,
    to_date,
    to_datetime,
)

MAX_ACCOUNT_IDS = 1000

AccountKind = Literal[
    "isUOAccount", "isRSOAccount", "isCRAccount", "isRCAccount", "isOGVorOMSAccount", "isTKOAccount"
]
ACCOUNT_KINDS: tuple[str, ...] = (
    "isUOAccount",
    "isRSOAccount",
    "isCRAccount",
    "isRCAccount",
    "isOGVorOMSAccount",
    "isTKOAccount",
)
AccommodationKind = Literal["PremisesGUID", "FIASHouseGuid", "LivingRoomGUID"]


@dataclass(frozen=True, slots=True)
class ExportAccountQuery:
    """exportAccountRequest: exactly one of FIAS house, AccountGUIDs, unified numbers, ServiceIDs."""

    fias_house_guid: Guid | None = None
    account_guids: tuple[Guid, ...] = ()
    unified_account_numbers: tuple[str, ...] = ()
    service_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class AccountClosed:
    """Closing attributes of an account (reason from NSI 22)."""

    reason: NsiRef
    date: Day
    description: str | None = None


@dataclass(frozen=True, slots=True)
class Accommodation:
    """Premises (or house, or room) the account covers, with the payer's share."""

    kind: AccommodationKind
    guid: Guid
    share_percent: Decimal | None = None


@dataclass(frozen=True, slots=True)
class PayerDocument:
    """Identity document of an individual payer (every field optional on export)."""

    type: NsiRef | None = None
    series: str | None = field(default=None, repr=False)
    number: str | None = field(default=None, repr=False)
    issue_date: date | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class IndividualPayer:
    """Individual payer of an account. Personal data: excluded from repr."""

    surname: str | None = field(default=None, repr=False)
    first_name: str | None = field(default=None, repr=False)
    patronymic: str | None = field(default=None, repr=False)
    sex: Literal["M", "F"] | None = field(default=None, repr=False)
    date_of_birth: date | None = field(default=None, repr=False)
    snils: str | None = field(default=None, repr=False)
    document: PayerDocument | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class Payer:
    """PayerInfo: individual, organisation (version GUID) or unknown."""

    is_renter: bool = False
    is_accounts_divided: bool = False
    individual: IndividualPayer | None = None
    org_version_guid: Guid | None = None


@dataclass(frozen=True, slots=True)
class Account:
    """exportAccountResult: one personal account (no owners, only the payer)."""

    kind: AccountKind
    account_guid: Guid
    unified_account_number: str
    payer: Payer
    account_number: str | None = None
    service_id: str | None = None
    creation_date: datetime | None = None
    living_persons_number: int | None = None
    total_square: Decimal | None = None
    residential_square: Decimal | None = None
    heated_area: Decimal | None = None
    closed: AccountClosed | None = None
    accommodations: tuple[Accommodation, ...] = ()


# ------------------------------------------------------------------------------------------ request builder


def build_export_account(query: ExportAccountQuery) -> etree._Element:
    """Build hm:exportAccountRequest (exactly one selector, ≤1000 ids)."""
    _exactly_one(
        [
            query.fias_house_guid is not None,
            bool(query.account_guids),
            bool(query.unified_account_numbers),
            bool(query.service_ids),
        ],
        "exportAccount: one selector",
        "exportAccountRequest needs exactly one of FIASHouseGuid, AccountGUID, UnifiedAccountNumber,"
        " ServiceID",
    )
    _at_most(query.account_guids, MAX_ACCOUNT_IDS, "AccountGUID")
    _at_most(query.unified_account_numbers, MAX_ACCOUNT_IDS, "UnifiedAccountNumber")
    _at_most(query.service_ids, MAX_ACCOUNT_IDS, "ServiceID")
    body = new_body(EXPORT_ACCOUNT_DATA, extra_prefixes=("account-base",))
    sub_opt(body, "hm", "FIASHouseGuid", query.fias_house_guid)
    sub_many(body, "hm", "AccountGUID", query.account_guids)
    sub_many(body, "account-base", "UnifiedAccountNumber", query.unified_account_numbers)
    sub_many(body, "account-base", "ServiceID", query.service_ids)
    return body


# ------------------------------------------------------------------------------------------- result parsers


def _payer(el: etree._Element) -> Payer:
    ind_el = _find(el, "hm:Ind")
    individual = None
    if ind_el is not None:
        id_el = _find(ind_el, "hm:ID")
        type_el = None if id_el is None else _find(id_el, "hm:Type")
        individual = IndividualPayer(
            surname=_text(ind_el, "ind:Surname"),
            first_name=_text(ind_el, "ind:FirstName"),
            patronymic=_text(ind_el, "ind:Patronymic"),
            sex=cast(Any, _text(ind_el, "hm:Sex")),
            date_of_birth=_map(_text(ind_el, "hm:DateOfBirth"), to_date),
            snils=_text(ind_el, "ind:SNILS"),
            document=None
            if id_el is None
            else PayerDocument(
                type=None if type_el is None else parse_nsi_ref(type_el),
                series=_text(id_el, "hm:Series"),
                number=_text(id_el, "hm:Number"),
                issue_date=_map(_text(id_el, "hm:IssueDate"), to_date),
            ),
        )
    return Payer(
        is_renter=to_bool(_text(el, "hm:IsRenter") or "false"),
        is_accounts_divided=to_bool(_text(el, "hm:isAccountsDivided") or "false"),
        individual=individual,
        org_version_guid=_map(_text(el, "hm:Org/org:orgVersionGUID"), _guid),
    )


def _accommodation(el: etree._Element) -> Accommodation:
    for kind in ("PremisesGUID", "FIASHouseGuid", "LivingRoomGUID"):
        value = _text(el, f"hm:{kind}")
        if value is not None:
            return Accommodation(cast(Any, kind), _guid(value), _map(_text(el, "hm:SharePercent"), Decimal))
    raise GisProtocolError(f"Accommodation without an object GUID at {element_path(el)}")


def parse_account(el: etree._Element) -> Account:
    """Parse hm:exportAccountResult (one account)."""
    kind = next((k for k in ACCOUNT_KINDS if _find(el, f"hm:{k}") is not None), None)
    if kind is None:
        raise GisProtocolError(f"account kind missing at {element_path(el)}")
    closed = _find(el, "hm:Closed")
    return Account(
        kind=cast(Any, kind),
        account_guid=_guid(_req(el, "hm:AccountGUID")),
        unified_account_number=_req(el, "account-base:UnifiedAccountNumber"),
        payer=_payer(_need(el, "hm:PayerInfo")),
        account_number=_text(el, "hm:AccountNumber"),
        service_id=_text(el, "account-base:ServiceID"),
        creation_date=_map(_text(el, "hm:CreationDate"), to_datetime),
        living_persons_number=_map(_text(el, "hm:LivingPersonsNumber"), int),
        total_square=_map(_text(el, "hm:TotalSquare"), Decimal),
        residential_square=_map(_text(el, "hm:ResidentialSquare"), Decimal),
        heated_area=_map(_text(el, "hm:HeatedArea"), Decimal),
        closed=None
        if closed is None
        else AccountClosed(
            parse_nsi_ref(_need(closed, "hm:CloseReason")),
            to_date(_req(closed, "hm:CloseDate")),
            _text(closed, "hm:Description"),
        ),
        accommodations=tuple(_accommodation(a) for a in _all(el, "hm:Accommodation")),
    )


# --------------------------------------------------------------------------------------------- declarations


EXPORT_ACCOUNT_DATA = declare(
    "exportAccountData",
    Service.HOUSE_MANAGEMENT,
    "exportAccountRequest",
    "exportAccountResult",
    version="10.0.1.1",
    fixed=True,
    kind="export",
    request_type=ExportAccountQuery,
    build=build_export_account,
    parse=lambda body: tuple(parse_account(a) for a in _all(body, "hm:exportAccountResult")),
    result_type=tuple[Account, ...],
)
OPERATIONS: tuple[Operation, ...] = (EXPORT_ACCOUNT_DATA,)
