"""House management service (hm, HomeManagementAsync): exportAccountData, exportHouseData and
importNotificationData, each declared once."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal, cast

from lxml import etree

from app.gis_client.errors import GisLimitError, GisProtocolError
from app.gis_client.operations import NS_HM, Operation, Service, declare
from app.gis_client.services.common import (
    CommonResult,
    Day,
    Guid,
    NsiRef,
    _at_most,
    _exactly_one,
    _limit,
    _unique,
    parse_common_result,
    parse_nsi_ref,
)
from app.gis_client.wire.envelope import new_body, sub, sub_many, sub_opt
from app.gis_client.xmlread import (
    _all,
    _guid,
    _Kids,
    _map,
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


# The account parsers index each element's children once (_Kids) and read fields from the index: a house's
# 100-account answer is ~2,500 field reads, and one lxml child search per read was most of its parse time.


def _payer(el: etree._Element) -> Payer:
    k = _Kids(el)
    ind_el = k.find("hm:Ind")
    individual = None
    if ind_el is not None:
        ind = _Kids(ind_el)
        id_el = ind.find("hm:ID")
        doc = None if id_el is None else _Kids(id_el)
        type_el = None if doc is None else doc.find("hm:Type")
        individual = IndividualPayer(
            surname=ind.text("ind:Surname"),
            first_name=ind.text("ind:FirstName"),
            patronymic=ind.text("ind:Patronymic"),
            sex=cast(Any, ind.text("hm:Sex")),
            date_of_birth=_map(ind.text("hm:DateOfBirth"), to_date),
            snils=ind.text("ind:SNILS"),
            document=None
            if doc is None
            else PayerDocument(
                type=None if type_el is None else parse_nsi_ref(type_el),
                series=doc.text("hm:Series"),
                number=doc.text("hm:Number"),
                issue_date=_map(doc.text("hm:IssueDate"), to_date),
            ),
        )
    return Payer(
        is_renter=to_bool(k.text("hm:IsRenter") or "false"),
        is_accounts_divided=to_bool(k.text("hm:isAccountsDivided") or "false"),
        individual=individual,
        org_version_guid=_map(k.text("hm:Org/org:orgVersionGUID"), _guid),
    )


def _accommodation(el: etree._Element) -> Accommodation:
    k = _Kids(el)
    for kind in ("PremisesGUID", "FIASHouseGuid", "LivingRoomGUID"):
        value = k.text(f"hm:{kind}")
        if value is not None:
            return Accommodation(cast(Any, kind), _guid(value), _map(k.text("hm:SharePercent"), Decimal))
    raise GisProtocolError(f"Accommodation without an object GUID at {element_path(el)}")


_KIND_PATHS = tuple((kind, f"hm:{kind}") for kind in ACCOUNT_KINDS)


def parse_account(el: etree._Element) -> Account:
    """Parse hm:exportAccountResult (one account)."""
    k = _Kids(el)
    kind = next((kind for kind, path in _KIND_PATHS if k.find(path) is not None), None)
    if kind is None:
        raise GisProtocolError(f"account kind missing at {element_path(el)}")
    closed_el = k.find("hm:Closed")
    closed = None if closed_el is None else _Kids(closed_el)
    return Account(
        kind=cast(Any, kind),
        account_guid=_guid(k.req("hm:AccountGUID")),
        unified_account_number=k.req("account-base:UnifiedAccountNumber"),
        payer=_payer(k.need("hm:PayerInfo")),
        account_number=k.text("hm:AccountNumber"),
        service_id=k.text("account-base:ServiceID"),
        creation_date=_map(k.text("hm:CreationDate"), to_datetime),
        living_persons_number=_map(k.text("hm:LivingPersonsNumber"), int),
        total_square=_map(k.text("hm:TotalSquare"), Decimal),
        residential_square=_map(k.text("hm:ResidentialSquare"), Decimal),
        heated_area=_map(k.text("hm:HeatedArea"), Decimal),
        closed=None
        if closed is None
        else AccountClosed(
            parse_nsi_ref(closed.need("hm:CloseReason")),
            to_date(closed.req("hm:CloseDate")),
            closed.text("hm:Description"),
        ),
        accommodations=tuple(_accommodation(a) for a in k.all("hm:Accommodation")),
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


# ------------------------------------------------------------------------------------------ exportHouseData
# One house's characteristics and premises by FIAS house GUID. The result is one hm:exportHouseResult inside
# getStateResult: an apartment building (ApartmentHouse: entrances, residential and non-residential premises)
# or an individual house (LivingHouse: blocks of a terraced house). Wall material and the house's cadastral
# number beyond BasicCharacteristicts are not part of this export.

HouseKind = Literal["apartment_building", "living_house"]
PremisesKind = Literal["residential", "non_residential", "house_block"]


@dataclass(frozen=True, slots=True)
class ExportHouseQuery:
    """exportHouseRequest: one house by its FIAS GUID."""

    fias_house_guid: str


@dataclass(frozen=True, slots=True)
class HouseEntrance:
    """An entrance (подъезд) of an apartment building."""

    guid: str
    number: str | None = None
    storeys: int | None = None
    creation_year: int | None = None


@dataclass(frozen=True, slots=True)
class HousePremises:
    """A residential or non-residential premises, or a block of a terraced house."""

    guid: str
    unique_number: str
    kind: PremisesKind
    number: str | None = None
    cadastral_number: str | None = None
    total_area: Decimal | None = None
    gross_area: Decimal | None = None
    entrance: str | None = None
    floor: str | None = None
    common_property: bool | None = None
    termination_date: date | None = None
    modified: datetime | None = None


@dataclass(frozen=True, slots=True)
class HouseData:
    """exportHouseResult: a house with its basic characteristics, entrances and premises."""

    unique_number: str
    modified: datetime
    kind: HouseKind
    fias_house_guid: str
    house_guid: str | None = None
    cadastral_number: str | None = None
    total_area: Decimal | None = None
    used_year: int | None = None
    floor_count: str | None = None
    underground_floor_count: str | None = None
    oktmo: str | None = None
    cultural_heritage: bool | None = None
    termination_date: date | None = None
    entrances: tuple[HouseEntrance, ...] = ()
    premises: tuple[HousePremises, ...] = ()


# ---------------------------------------------------------------------------------- exportHouseData request


def build_export_house(query: ExportHouseQuery) -> etree._Element:
    """Build hm:exportHouseRequest."""
    if not query.fias_house_guid:
        raise GisLimitError("exportHouseRequest needs the FIAS house GUID", limit="FIASHouseGuid required")
    body = new_body(EXPORT_HOUSE_DATA)
    sub(body, "hm", "FIASHouseGuid", query.fias_house_guid)
    return body


# ----------------------------------------------------------------------------------- exportHouseData result


def _hd_hm(local: str) -> str:
    return f"{{{NS_HM}}}{local}"


def _hd_child(el: etree._Element, local: str) -> etree._Element | None:
    return next(el.iterchildren(_hd_hm(local)), None)


def _hd_text(el: etree._Element, local: str) -> str | None:
    found = _hd_child(el, local)
    return None if found is None else (found.text or "").strip()


def _hd_required(el: etree._Element, local: str) -> str:
    value = _hd_text(el, local)
    if value is None:
        raise GisProtocolError(f"missing hm:{local} in {etree.QName(el).localname}")
    return value


def _hd_decimal(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def _hd_int(value: str | None) -> int | None:
    return None if value is None else int(value)


def _hd_bool(value: str | None) -> bool | None:
    return None if value is None else value in ("true", "1")


def _hd_date(value: str | None) -> date | None:
    # GIS sometimes appends a timezone to xs:date (`2025-01-31+03:00`).
    return None if value is None else date.fromisoformat(value[:10])


def _hd_datetime(value: str | None) -> datetime | None:
    if value is None:
        return None
    # .NET's 7-digit fractions appear in production answers; Python takes six.
    head, dot, rest = value.partition(".")
    if dot:
        digits = "".join(c for c in rest if c.isdigit())
        value = f"{head}.{digits[:6]}{rest[len(digits) :]}"
    return datetime.fromisoformat(value)


_HD_HM = f"{{{NS_HM}}}"
_HD_PREMISES: dict[str, PremisesKind] = {
    f"{_HD_HM}ResidentialPremises": "residential",
    f"{_HD_HM}NonResidentialPremises": "non_residential",
    f"{_HD_HM}Block": "house_block",
}
_HD_ENTRANCE = f"{_HD_HM}Entrance"


def _hd_fields(el: etree._Element) -> dict[str, str]:
    """Each hm child's stripped text by local name (the first of each tag), read in one pass.

    A premises record is a dozen flat fields and a house has ~100 of them: one pass over the children is
    cheaper than a child search per field.
    """
    cut = len(_HD_HM)
    return {
        child.tag[cut:]: (child.text or "").strip()
        for child in reversed(el)
        if isinstance(child.tag, str) and child.tag.startswith(_HD_HM)
    }


def _hd_premises(el: etree._Element, kind: PremisesKind) -> HousePremises:
    block = kind == "house_block"
    number_tag = "BlockNum" if block else "PremisesNum"
    unique_tag = "BlockUniqueNumber" if block else "PremisesUniqueNumber"
    guid_tag = "BlockGUID" if block else "PremisesGUID"
    fields = _hd_fields(el)
    for required in (guid_tag, unique_tag):
        if required not in fields:
            raise GisProtocolError(f"missing hm:{required} in {etree.QName(el).localname}")
    return HousePremises(
        guid=fields[guid_tag].lower(),
        unique_number=fields[unique_tag],
        kind=kind,
        number=fields.get(number_tag),
        cadastral_number=fields.get("CadastralNumber"),
        total_area=_hd_decimal(fields.get("TotalArea")),
        gross_area=_hd_decimal(fields.get("GrossArea")),
        entrance=fields.get("EntranceNum"),
        floor=fields.get("Floor"),
        common_property=_hd_bool(fields.get("IsCommonProperty")),
        termination_date=_hd_date(fields.get("TerminationDate")),
        modified=_hd_datetime(fields.get("ModificationDate")),
    )


def parse_house_result(el: etree._Element) -> HouseData:
    """Parse one hm:exportHouseResult."""
    building = _hd_child(el, "ApartmentHouse")
    kind: HouseKind = "apartment_building"
    if building is None:
        building = _hd_child(el, "LivingHouse")
        kind = "living_house"
    if building is None:
        raise GisProtocolError("exportHouseResult has neither ApartmentHouse nor LivingHouse")
    basic = _hd_child(building, "BasicCharacteristicts")
    if basic is None:
        raise GisProtocolError("missing hm:BasicCharacteristicts in exportHouseResult")
    oktmo = _hd_child(basic, "OKTMO")
    premises: list[HousePremises] = []
    entrances: list[HouseEntrance] = []
    for child in building:
        premises_kind = _HD_PREMISES.get(child.tag) if isinstance(child.tag, str) else None
        if premises_kind is not None:
            premises.append(_hd_premises(child, premises_kind))
        elif child.tag == _HD_ENTRANCE:
            entrances.append(
                HouseEntrance(
                    guid=_hd_required(child, "EntranceGUID").lower(),
                    number=_hd_text(child, "EntranceNum"),
                    storeys=_hd_int(_hd_text(child, "StoreysCount")),
                    creation_year=_hd_int(_hd_text(child, "CreationYear")),
                )
            )
    house_guid = _hd_text(el, "HouseGUID") or _hd_text(building, "HouseGUID")
    modified = _hd_datetime(_hd_required(el, "ModificationDate"))
    assert modified is not None
    return HouseData(
        unique_number=_hd_required(el, "HouseUniqueNumber"),
        modified=modified,
        kind=kind,
        fias_house_guid=_hd_required(basic, "FIASHouseGuid").lower(),
        house_guid=house_guid.lower() if house_guid else None,
        cadastral_number=_hd_text(basic, "CadastralNumber"),
        total_area=_hd_decimal(_hd_text(basic, "TotalSquare")),
        used_year=_hd_int(_hd_text(basic, "UsedYear")),
        floor_count=_hd_text(basic, "FloorCount"),
        underground_floor_count=_hd_text(building, "UndergroundFloorCount"),
        oktmo=None if oktmo is None else oktmo.findtext("{*}code"),
        cultural_heritage=_hd_bool(_hd_text(basic, "CulturalHeritage")),
        termination_date=_hd_date(_hd_text(basic, "TerminationDate")),
        entrances=tuple(entrances),
        premises=tuple(premises),
    )


def parse_house_state_payload(body: etree._Element) -> HouseData:
    """Parse the exportHouseResult of a getStateResult body."""
    el = _hd_child(body, "exportHouseResult")
    if el is None:
        raise GisProtocolError("getStateResult has no hm:exportHouseResult")
    return parse_house_result(el)


# exportHouseData: hm:exportHouseRequest (FIASHouseGuid only). base:version is required but not fixed by the
# 16.3.0.0 XSD (11.1.0.1 … 15.10.0.0); GIS rejects 12.2.0.1 (gis-protocol.md §4) and fills HouseGUID from
# 15.6.0.1 on, so 15.6.0.1 is sent.
EXPORT_HOUSE_DATA = declare(
    "exportHouseData",
    Service.HOUSE_MANAGEMENT,
    "exportHouseRequest",
    "exportHouseResult",
    version="15.6.0.1",
    fixed=False,
    kind="export",
    request_type=ExportHouseQuery,
    build=build_export_house,
    parse=parse_house_state_payload,
    result_type=HouseData,
)


# ----------------------------------------------------------------------------------- importNotificationData
# News for citizens (ВИ_ИО_И_1). gisgw uses one addressee: RoomOwners/DeptsInforming («Необходимость погашения
# задолженности»), the consumers of the accounts given by ЕЛС with their TotalDebt; the news reaches the
# consumer's GIS account and the Госуслуги.Дом app. Each hm:notification is one action with its TransportGUID:
# Create (a draft unless it carries IsShipOff), IsShipOff (send a draft, by NotificationGUID), or
# RecallNotification (by NotificationGUID). ≤ 100 notifications per request (XSD maxOccurs); the result is
# hm:ImportResult/hm:CommonResult per action, its base:GUID the NotificationGUID.

MAX_NOTIFICATIONS = 100
#: Free topic (hm:Topic) and news text (hm:content) limits of the XSD.
MAX_TOPIC = 200
MAX_CONTENT = 5000
NotificationAction = Literal["create", "ship", "recall"]


@dataclass(frozen=True, slots=True)
class DebtAccount:
    """One DeptsInforming account: the ЕЛС (10 characters) and its total debt (₽, two decimals)."""

    unified_account_number: str
    total_debt: Decimal


@dataclass(frozen=True, slots=True)
class NotificationItem:
    """One hm:notification: create a debt notice (draft, or shipped at once), ship a draft, or recall one."""

    transport_guid: Guid
    action: NotificationAction
    notification_guid: Guid | None = None
    topic: str | None = None
    content: str | None = None
    accounts: tuple[DebtAccount, ...] = ()
    important: bool = True
    ship_now: bool = False
    recall_reason: str | None = None


def _money(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01")))


def build_import_notifications(items: Sequence[NotificationItem]) -> etree._Element:
    """Build hm:importNotificationRequest (1..100 notifications, unique TransportGUIDs)."""
    _limit(len(items) >= 1, "notification ≥ 1", "importNotificationRequest needs at least one notification")
    _at_most(items, MAX_NOTIFICATIONS, "notification")
    _unique([i.transport_guid for i in items], "TransportGUID")
    body = new_body(IMPORT_NOTIFICATION_DATA, extra_prefixes=("account-base",))
    for item in items:
        el = sub(body, "hm", "notification")
        sub(el, "base", "TransportGUID", item.transport_guid)
        if item.action == "create":
            _limit(
                item.topic is not None and 1 <= len(item.topic) <= MAX_TOPIC,
                f"Topic 1..{MAX_TOPIC}",
                f"notification {item.transport_guid}: a topic of 1 to {MAX_TOPIC} characters is required",
            )
            _limit(
                item.content is None or 1 <= len(item.content) <= MAX_CONTENT,
                f"content 1..{MAX_CONTENT}",
                f"notification {item.transport_guid}: the text must have 1 to {MAX_CONTENT} characters",
            )
            _limit(
                bool(item.accounts),
                "DeptsInforming/Account ≥ 1",
                f"notification {item.transport_guid}: DeptsInforming needs at least one account",
            )
            for acc in item.accounts:
                _limit(
                    len(acc.unified_account_number) == 10,
                    "UnifiedAccountNumber length 10",
                    f"notification {item.transport_guid}: an ЕЛС has exactly 10 characters",
                )
                _limit(
                    acc.total_debt >= 0 and acc.total_debt == acc.total_debt.quantize(Decimal("0.01")),
                    "TotalDebt ≥ 0, 2 decimals",
                    f"notification {item.transport_guid}: TotalDebt must be ≥ 0 with at most 2 decimals",
                )
            sub_opt(el, "hm", "NotificationGUID", item.notification_guid)
            create = sub(el, "hm", "Create")
            sub(create, "hm", "Topic", item.topic)
            if item.important:
                sub(create, "hm", "IsImportant", True)
            sub_opt(create, "hm", "content", item.content)
            debts = sub(sub(create, "hm", "RoomOwners"), "hm", "DeptsInforming")
            for acc in item.accounts:
                account = sub(debts, "hm", "Account")
                sub(account, "hm", "TotalDebt", _money(acc.total_debt))
                sub(account, "account-base", "UnifiedAccountNumber", acc.unified_account_number)
            sub(create, "hm", "IsNotLimit", True)
            if item.ship_now:
                sub(create, "hm", "IsShipOff", True)
            continue
        _limit(
            item.notification_guid is not None,
            "NotificationGUID required",
            f"notification {item.transport_guid}: {item.action} needs the NotificationGUID",
        )
        sub(el, "hm", "NotificationGUID", item.notification_guid)
        if item.action == "ship":
            sub(el, "hm", "IsShipOff", True)
        else:
            recall = sub(el, "hm", "RecallNotification")
            if item.recall_reason:
                _limit(
                    len(item.recall_reason) <= 1000,
                    "RecallReason ≤ 1000",
                    f"notification {item.transport_guid}: the recall reason has at most 1000 characters",
                )
                sub(recall, "hm", "RecallReason", item.recall_reason)
    return body


def parse_notification_results(body: etree._Element) -> tuple[CommonResult, ...]:
    """Parse hm:ImportResult/hm:CommonResult of an importNotificationData result (GUID = NotificationGUID)."""
    return tuple(
        parse_common_result(c) for r in _all(body, "hm:ImportResult") for c in _all(r, "hm:CommonResult")
    )


# importNotificationData: base:version required, not fixed ("Доступны версии 11.6.0.2, 13.2.2.0"); 13.2.2.0 is
# the one with the NSI topic and the mobile-app block.
IMPORT_NOTIFICATION_DATA = declare(
    "importNotificationData",
    Service.HOUSE_MANAGEMENT,
    "importNotificationRequest",
    "ImportResult",
    version="13.2.2.0",
    fixed=False,
    kind="import",
    request_type=list[NotificationItem],
    build=build_import_notifications,
    parse=parse_notification_results,
    result_type=tuple[CommonResult, ...],
)
OPERATIONS: tuple[Operation, ...] = (EXPORT_ACCOUNT_DATA, EXPORT_HOUSE_DATA, IMPORT_NOTIFICATION_DATA)
