"""exportHouseData on the client side: the request per the XSD, and results of both kinds of house parsed."""

from __future__ import annotations

from decimal import Decimal

import pytest
from lxml import etree

from app.gis_client.errors import GisLimitError
from app.gis_client.messages import ExportHouseQuery, build_export_house
from app.gis_client.operations import BASE_VERSION_ATTR, NS_HM, NS_SOAP, Service
from app.gis_client.services.house_management import EXPORT_HOUSE_DATA, parse_house_state_payload
from app.gis_client.wire.envelope import build_envelope, new_guid
from app.gis_client.wire.schemas import SchemaSet
from app.gis_stand.results_builder import build_state_result
from tests.conftest import SCHEMA_DIR

FIAS = "0c5b2444-70a0-4932-980c-b4dc0d3f02b5"
HM = f'xmlns:hm="{NS_HM}"'

# An individual terraced house (LivingHouse with blocks), in the XSD's element order.
LIVING_HOUSE = f"""
<hm:exportHouseResult {HM}>
  <hm:HouseUniqueNumber>7700000001</hm:HouseUniqueNumber>
  <hm:ModificationDate>2026-11-20T12:00:00.1234567+03:00</hm:ModificationDate>
  <hm:LivingHouse>
    <hm:BasicCharacteristicts>
      <hm:CadastralNumber>50:21:0110101:55</hm:CadastralNumber>
      <hm:FIASHouseGuid>{FIAS.upper()}</hm:FIASHouseGuid>
      <hm:TotalSquare>180.5</hm:TotalSquare>
      <hm:UsedYear>2004</hm:UsedYear>
      <hm:FloorCount>2</hm:FloorCount>
    </hm:BasicCharacteristicts>
    <hm:HasBlocks>true</hm:HasBlocks>
    <hm:Block>
      <hm:No_RSO_GKN_EGRP_Data>true</hm:No_RSO_GKN_EGRP_Data>
      <hm:BlockNum>1</hm:BlockNum>
      <hm:TotalArea>90.25</hm:TotalArea>
      <hm:BlockUniqueNumber>7700000001-1</hm:BlockUniqueNumber>
      <hm:ModificationDate>2026-11-20T12:00:00+03:00</hm:ModificationDate>
      <hm:BlockGUID>5d6c7b8a-1b2c-4d3e-8f4a-5b6c7d8e9f0a</hm:BlockGUID>
    </hm:Block>
    <hm:HouseGUID>9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d</hm:HouseGUID>
  </hm:LivingHouse>
</hm:exportHouseResult>
"""


@pytest.fixture(scope="module")
def schemas() -> SchemaSet:
    """The official 16.3.0.0 schemas."""
    return SchemaSet.load(SCHEMA_DIR)


def test_build_request_is_valid_per_xsd(schemas: SchemaSet) -> None:
    body = build_export_house(ExportHouseQuery(FIAS))
    build_envelope(EXPORT_HOUSE_DATA, body, org_ppa_guid=FIAS)  # sets base:version
    assert body.get(BASE_VERSION_ATTR) == "15.6.0.1"
    schemas.validate(body)


def test_build_request_needs_a_house() -> None:
    with pytest.raises(GisLimitError):
        build_export_house(ExportHouseQuery(""))


def test_parse_living_house_with_blocks(schemas: SchemaSet) -> None:
    el = etree.fromstring(LIVING_HOUSE.encode())
    # exportHouseResult is declared inside hm:getStateResult: validate it there.
    document = build_state_result(Service.HOUSE_MANAGEMENT, 3, new_guid(), [el])
    body = document.find(f"{{{NS_SOAP}}}Body")
    assert body is not None
    schemas.validate(body[0])
    house = parse_house_state_payload(body[0])
    assert house.kind == "living_house" and house.fias_house_guid == FIAS
    assert house.house_guid == "9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d"
    assert house.cadastral_number == "50:21:0110101:55" and house.total_area == Decimal("180.5")
    assert house.used_year == 2004 and house.floor_count == "2"
    assert house.modified.microsecond == 123456
    (block,) = house.premises
    assert block.kind == "house_block" and block.number == "1" and block.cadastral_number is None
    assert block.total_area == Decimal("90.25") and block.unique_number == "7700000001-1"
