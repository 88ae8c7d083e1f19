"""house-management `exportHouseData`: one house's characteristics and premises by FIAS house GUID.

Declared here in one place — the typed query and result, the request builder and the result parser — so the
operation can move whole into the per-service layout (`OPERATION` below is its entry in the operations
table, the one line kept there).

The request is `hm:exportHouseRequest` (FIASHouseGuid only; `base:version` is required but not fixed by the
16.3.0.0 XSD, which lists 11.1.0.1 … 15.10.0.0; GIS rejects 12.2.0.1 (gis-protocol.md §4) and fills
`HouseGUID` from 15.6.0.1 on, so 15.6.0.1 is sent). The result is one `hm:exportHouseResult` inside
getStateResult: an apartment building (`ApartmentHouse`: entrances, residential and non-residential premises)
or an individual house (`LivingHouse`: blocks of a terraced house). Wall material and the house's cadastral
number beyond `BasicCharacteristicts` are not part of this export.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from lxml import etree

from app.gis_client.envelope import new_body, sub
from app.gis_client.errors import GisLimitError, GisProtocolError
from app.gis_client.operations import NS_HM, OPERATIONS

NAME = "exportHouseData"
#: Its entry in the operations table (endpoint, SOAPAction, elements, base:version 15.6.0.1).
OPERATION = OPERATIONS[NAME]

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


# ------------------------------------------------------------------------------------------------ request


def build_request(query: ExportHouseQuery) -> etree._Element:
    """Build hm:exportHouseRequest."""
    if not query.fias_house_guid:
        raise GisLimitError("exportHouseRequest needs the FIAS house GUID", limit="FIASHouseGuid required")
    body = new_body(OPERATION)
    sub(body, "hm", "FIASHouseGuid", query.fias_house_guid)
    return body


# ------------------------------------------------------------------------------------------------- result


def _hm(local: str) -> str:
    return f"{{{NS_HM}}}{local}"


def _child(el: etree._Element, local: str) -> etree._Element | None:
    return next(el.iterchildren(_hm(local)), None)


def _text(el: etree._Element, local: str) -> str | None:
    found = _child(el, local)
    return None if found is None else (found.text or "").strip()


def _required(el: etree._Element, local: str) -> str:
    value = _text(el, local)
    if value is None:
        raise GisProtocolError(f"missing hm:{local} in {etree.QName(el).localname}")
    return value


def _decimal(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def _int(value: str | None) -> int | None:
    return None if value is None else int(value)


def _bool(value: str | None) -> bool | None:
    return None if value is None else value in ("true", "1")


def _date(value: str | None) -> date | None:
    # GIS sometimes appends a timezone to xs:date (`2025-01-31+03:00`).
    return None if value is None else date.fromisoformat(value[:10])


def _datetime(value: str | None) -> datetime | None:
    if value is None:
        return None
    # .NET's 7-digit fractions appear in production answers; Python takes six.
    head, dot, rest = value.partition(".")
    if dot:
        digits = "".join(c for c in rest if c.isdigit())
        value = f"{head}.{digits[:6]}{rest[len(digits) :]}"
    return datetime.fromisoformat(value)


def _premises(el: etree._Element, kind: PremisesKind) -> HousePremises:
    number_tag = "BlockNum" if kind == "house_block" else "PremisesNum"
    unique_tag = "BlockUniqueNumber" if kind == "house_block" else "PremisesUniqueNumber"
    guid_tag = "BlockGUID" if kind == "house_block" else "PremisesGUID"
    return HousePremises(
        guid=_required(el, guid_tag).lower(),
        unique_number=_required(el, unique_tag),
        kind=kind,
        number=_text(el, number_tag),
        cadastral_number=_text(el, "CadastralNumber"),
        total_area=_decimal(_text(el, "TotalArea")),
        gross_area=_decimal(_text(el, "GrossArea")),
        entrance=_text(el, "EntranceNum"),
        floor=_text(el, "Floor"),
        common_property=_bool(_text(el, "IsCommonProperty")),
        termination_date=_date(_text(el, "TerminationDate")),
        modified=_datetime(_text(el, "ModificationDate")),
    )


def parse_result(el: etree._Element) -> HouseData:
    """Parse one hm:exportHouseResult."""
    building = _child(el, "ApartmentHouse")
    kind: HouseKind = "apartment_building"
    if building is None:
        building = _child(el, "LivingHouse")
        kind = "living_house"
    if building is None:
        raise GisProtocolError("exportHouseResult has neither ApartmentHouse nor LivingHouse")
    basic = _child(building, "BasicCharacteristicts")
    if basic is None:
        raise GisProtocolError("missing hm:BasicCharacteristicts in exportHouseResult")
    oktmo = _child(basic, "OKTMO")
    premises: list[HousePremises] = []
    entrances: list[HouseEntrance] = []
    for child in building:
        if not isinstance(child.tag, str):
            continue
        local = etree.QName(child).localname
        if local == "ResidentialPremises":
            premises.append(_premises(child, "residential"))
        elif local == "NonResidentialPremises":
            premises.append(_premises(child, "non_residential"))
        elif local == "Block":
            premises.append(_premises(child, "house_block"))
        elif local == "Entrance":
            entrances.append(
                HouseEntrance(
                    guid=_required(child, "EntranceGUID").lower(),
                    number=_text(child, "EntranceNum"),
                    storeys=_int(_text(child, "StoreysCount")),
                    creation_year=_int(_text(child, "CreationYear")),
                )
            )
    house_guid = _text(el, "HouseGUID") or _text(building, "HouseGUID")
    modified = _datetime(_required(el, "ModificationDate"))
    assert modified is not None
    return HouseData(
        unique_number=_required(el, "HouseUniqueNumber"),
        modified=modified,
        kind=kind,
        fias_house_guid=_required(basic, "FIASHouseGuid").lower(),
        house_guid=house_guid.lower() if house_guid else None,
        cadastral_number=_text(basic, "CadastralNumber"),
        total_area=_decimal(_text(basic, "TotalSquare")),
        used_year=_int(_text(basic, "UsedYear")),
        floor_count=_text(basic, "FloorCount"),
        underground_floor_count=_text(building, "UndergroundFloorCount"),
        oktmo=None if oktmo is None else oktmo.findtext("{*}code"),
        cultural_heritage=_bool(_text(basic, "CulturalHeritage")),
        termination_date=_date(_text(basic, "TerminationDate")),
        entrances=tuple(entrances),
        premises=tuple(premises),
    )


def parse_state_payload(body: etree._Element) -> HouseData:
    """Parse the exportHouseResult of a getStateResult body."""
    el = _child(body, "exportHouseResult")
    if el is None:
        raise GisProtocolError("getStateResult has no hm:exportHouseResult")
    return parse_result(el)
