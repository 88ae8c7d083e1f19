"""exportHouseData over real HTTP: characteristics and premises with the seed's gaps, valid per the XSD."""

from __future__ import annotations

from lxml import etree
from sqlalchemy import select, update

from app.gis_client.messages import (
    ExportAccountQuery,
    ExportHouseQuery,
    HouseData,
    build_export_account,
    build_export_house,
)
from app.gis_client.operations import NS
from app.gis_client.parse import parse_state
from app.gis_client.wire.envelope import new_guid
from app.gis_stand.models import House, Premises
from app.gis_stand.runtime import StandRuntime
from tests.gis_stand.conftest import GisCaller


async def _house(caller: GisCaller, fias: str) -> HouseData:
    state = parse_state(await caller.call("exportHouseData", build_export_house(ExportHouseQuery(fias))))
    assert state.error is None, state.error
    assert isinstance(state.payload, HouseData)
    return state.payload


async def test_export_house_data_serves_seeded_house_with_gaps(
    caller: GisCaller, stand: tuple[str, StandRuntime]
) -> None:
    runtime = stand[1]
    async with runtime.sessionmaker() as session:
        houses = (await session.scalars(select(House).order_by(House.id))).all()
        assert len(houses) == 2  # 120 accounts, 60 flats a house
        first = houses[0]
        rows = (await session.scalars(select(Premises).where(Premises.house_id == first.id))).all()
    data = await _house(caller, first.fias_guid)
    assert data.kind == "apartment_building"
    assert data.fias_house_guid == first.fias_guid and data.house_guid == first.guid
    assert data.used_year == first.used_year and data.total_area == first.total_area
    assert data.floor_count == str(first.floor_count) and len(data.entrances) == first.entrances
    assert len(data.premises) == len(rows)
    by_guid = {p.guid: p for p in data.premises}
    for row in rows:
        got = by_guid[row.guid]
        assert got.number == row.number and got.total_area == row.total_area
        assert got.cadastral_number == row.cadastral_number
        assert got.kind == row.kind
    all_rows = []
    async with runtime.sessionmaker() as session:
        all_rows = list((await session.scalars(select(Premises))).all())
    # The seed leaves the gaps GIS has: premises without a cadastral number, non-residential premises.
    assert any(p.cadastral_number is None for p in all_rows)
    assert any(p.kind == "non_residential" for p in all_rows)


async def test_export_house_data_leaves_out_removed_premises(
    caller: GisCaller, stand: tuple[str, StandRuntime]
) -> None:
    runtime = stand[1]
    async with runtime.sessionmaker() as session, session.begin():
        house = await session.scalar(select(House).order_by(House.id).limit(1))
        assert house is not None
        premises = await session.scalar(select(Premises).where(Premises.house_id == house.id).limit(1))
        assert premises is not None
        await session.execute(
            update(Premises).where(Premises.id == premises.id).values(terminated_on=house.modified_at)
        )
        fias, gone = house.fias_guid, premises.guid
    data = await _house(caller, fias)
    assert gone not in {p.guid for p in data.premises}


async def test_export_house_data_unknown_house_is_nothing_found(caller: GisCaller) -> None:
    body = build_export_house(ExportHouseQuery(new_guid()))
    state = parse_state(await caller.call("exportHouseData", body))
    assert state.error is not None and state.error.code == "INT002012"


async def test_one_house_a_request_as_the_xsd_allows(caller: GisCaller) -> None:
    # exportHouseRequest and exportAccountRequest take exactly one FIASHouseGuid (16.3.0.0): the stand, like
    # GIS, refuses a second one, so a sync cannot ask for the accounts of several houses in one exchange.
    house = build_export_house(ExportHouseQuery(new_guid()))
    etree.SubElement(house, f"{{{NS['hm']}}}FIASHouseGuid").text = new_guid()
    reply = await caller.send("exportHouseData", house)
    assert reply.status == 400 and reply.fault_code == "FMT001300"
    accounts = build_export_account(ExportAccountQuery(fias_house_guid=new_guid()))
    etree.SubElement(accounts, f"{{{NS['hm']}}}FIASHouseGuid").text = new_guid()
    reply = await caller.send("exportAccountData", accounts)
    assert reply.status == 400 and reply.fault_code == "FMT001300"
