"""house-management exportHouseData on the stand: a house's characteristics and premises from the seed.

The seed gives every house characteristics and gaps GIS really has (`characterise`): premises without a
cadastral number, premises whose area in the registry differs from the area the supplier placed with its
account, non-residential premises no account covers. Premises removed from GIS carry `terminated_on` and are
no longer exported. Tests change the seeded rows (area, cadastral number, a new or a removed premises, a new
payer) to play "next month".
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from lxml import etree
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.kernel.calendar import MOSCOW
from app.gis_client.messages import ErrorInfo, HouseData, HouseEntrance, HousePremises, PremisesKind
from app.gis_stand import codes
from app.gis_stand.models import House, Message, Org, Premises
from app.gis_stand.results_builder import build_house
from app.gis_stand.runtime import StandRuntime
from app.gis_stand.soap import Outcome, Processor, element_text

#: Shares of the realistic gaps the seed leaves (in GIS the cadastral number is often missing).
NO_CADASTRAL_SHARE = 0.15
AREA_MISMATCH_SHARE = 0.05
NON_RESIDENTIAL_SHARE = 0.5
FLATS_PER_ENTRANCE = 20
FLATS_PER_FLOOR = 4


def _cadastral(rng: random.Random, region: str) -> str:
    return f"{region}:{rng.randint(1, 99):02d}:{rng.randint(1, 9_999_999):07d}:{rng.randint(1, 9999)}"


def characterise(
    houses: Sequence[dict[str, Any]],
    premises: list[dict[str, Any]],
    *,
    rng: random.Random,
    next_premises_id: int,
    now: datetime,
) -> list[dict[str, Any]]:
    """Fill seeded house and premises rows with characteristics and gaps; return added non-residential rows.

    `rng` is its own generator so that the rest of the seed draws the same values as before.
    """
    flats_by_house: dict[int, list[dict[str, Any]]] = {}
    for p in premises:
        flats_by_house.setdefault(p["house_id"], []).append(p)
    added: list[dict[str, Any]] = []
    for house in houses:
        flats = flats_by_house.get(house["id"], [])
        region = f"{rng.randint(1, 99):02d}"
        entrances = max(1, -(-len(flats) // FLATS_PER_ENTRANCE))
        per_entrance = max(1, -(-len(flats) // entrances))
        floors = max(2, min(99, -(-per_entrance // FLATS_PER_FLOOR)))
        for i, flat in enumerate(flats):
            billing_area = Decimal(flat["total_area"])
            if rng.random() < AREA_MISMATCH_SHARE:
                flat["total_area"] = billing_area + Decimal(rng.randint(300, 1500)) / 100
            flat["kind"] = "residential"
            flat["gross_area"] = (billing_area * Decimal("0.62")).quantize(Decimal("0.01"))
            flat["entrance"] = i // per_entrance + 1
            flat["floor"] = (i % per_entrance) // FLATS_PER_FLOOR + 1
            flat["cadastral_number"] = None if rng.random() < NO_CADASTRAL_SHARE else _cadastral(rng, region)
            flat["terminated_on"] = None
        if flats and rng.random() < NON_RESIDENTIAL_SHARE:
            added.append(
                {
                    "id": next_premises_id + len(added), "guid": _guid(rng), "house_id": house["id"],
                    "number": "1Н", "total_area": Decimal(rng.randint(4000, 25000)) / 100,
                    "kind": "non_residential", "gross_area": None, "entrance": None, "floor": 1,
                    "cadastral_number": _cadastral(rng, region), "terminated_on": None,
                }
            )  # fmt: skip
            if rng.random() < NO_CADASTRAL_SHARE:
                added[-1]["cadastral_number"] = None
        living = sum((Decimal(f["total_area"]) for f in flats), Decimal(0))
        house.update(
            unique_number=f"{rng.randint(10**9, 10**10 - 1)}",
            cadastral_number=_cadastral(rng, region),
            used_year=rng.randint(1955, 2022),
            floor_count=floors,
            underground_floors=rng.choice((0, 1)),
            total_area=(living * Decimal("1.28")).quantize(Decimal("0.01")),
            entrances=entrances,
            modified_at=now,
        )
    return added


def _guid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def to_house_data(house: House, premises: Sequence[Premises]) -> HouseData:
    """Convert the stand's rows into the exportHouseResult dataclass (premises removed from GIS left out)."""
    modified = (house.modified_at or datetime(2020, 1, 1, tzinfo=UTC)).astimezone(MOSCOW)
    entrances = house.entrances or 0
    unique = house.unique_number or f"{house.id:010d}"
    return HouseData(
        unique_number=unique,
        modified=modified,
        kind="living_house" if house.kind == "living_house" else "apartment_building",
        fias_house_guid=house.fias_guid,
        house_guid=house.guid,
        cadastral_number=house.cadastral_number,
        total_area=house.total_area,
        used_year=house.used_year,
        floor_count=None if house.floor_count is None else str(house.floor_count),
        underground_floor_count=None if house.underground_floors is None else str(house.underground_floors),
        entrances=tuple(
            HouseEntrance(
                guid=uuid_for(house.guid, f"entrance-{n}"), number=str(n), storeys=house.floor_count
            )
            for n in range(1, entrances + 1)
        ),
        premises=tuple(
            HousePremises(
                guid=p.guid,
                unique_number=f"{unique}-{p.id}",
                kind=_premises_kind(p.kind),
                number=p.number,
                cadastral_number=p.cadastral_number,
                total_area=p.total_area,
                gross_area=p.gross_area,
                entrance=None if p.entrance is None else str(p.entrance),
                floor=None if p.floor is None else str(p.floor),
                modified=modified,
            )
            for p in premises
            if p.terminated_on is None
        ),
    )


def _premises_kind(kind: str) -> PremisesKind:
    if kind in ("non_residential", "house_block"):
        return kind  # type: ignore[return-value]
    return "residential"


def uuid_for(base: str, name: str) -> str:
    """Return a stable GUID for a sub-object of a house (entrances are not stored rows)."""
    return str(uuid.uuid5(uuid.UUID(base), name))


async def export_house(
    rt: StandRuntime, session: AsyncSession, message: Message, org: Org, body: etree._Element
) -> Outcome:
    """Export one house by FIAS GUID with its premises; INT002012 when the stand knows no such house."""
    del rt, message, org  # GIS shows any house of the registry to any information provider
    fias = (element_text(body, "hm:FIASHouseGuid") or "").lower()
    house = await session.scalar(select(House).where(House.fias_guid == fias).order_by(House.id).limit(1))
    if house is None:
        return ErrorInfo(codes.NOTHING_FOUND, "Нет объектов для экспорта")
    premises = (
        await session.scalars(select(Premises).where(Premises.house_id == house.id).order_by(Premises.id))
    ).all()
    return [build_house(to_house_data(house, premises))]


#: The operations this module answers; the stand app lists them.
PROCESSORS: dict[str, Processor] = {"exportHouseData": export_house}
