"""The house-data port (what the area needs of GIS) and its implementation over the GIS exchange engine."""

from __future__ import annotations

import uuid
from typing import Protocol

from app.context import AppContext
from app.gis_client.house_data import ExportHouseQuery, HouseData
from app.gis_client.messages import Account, ExportAccountQuery
from app.gis_client.port import GisPort

#: ref_kind of the exchanges a house-data sync runs.
REF_KIND = "houses-sync"


class HouseDataGateway(Protocol):
    """GIS as the house-data sync sees it: one house's data and its accounts, each by FIAS house GUID."""

    async def export_house(
        self, *, organisation_id: uuid.UUID, fias_house_guid: str, key: str | None
    ) -> HouseData | None:
        """Return the house's characteristics and premises, or None when GIS has no such house."""

    async def export_accounts(
        self, *, organisation_id: uuid.UUID, fias_house_guid: str, key: str | None
    ) -> list[Account]:
        """Return the organisation's accounts in the house (empty when there are none)."""


class EngineHouseDataGateway:
    """HouseDataGateway over the exchange engine: durable exchanges keyed by operation and house."""

    def __init__(self, gis: GisPort) -> None:
        self.gis = gis

    async def export_house(
        self, *, organisation_id: uuid.UUID, fias_house_guid: str, key: str | None
    ) -> HouseData | None:
        """Run exportHouseData; INT002012 (no such house) is None."""
        outcome = await self.gis.run(
            organisation_id=organisation_id,
            operation="exportHouseData",
            payload=ExportHouseQuery(fias_house_guid),
            ref_kind=REF_KIND,
            # The same key on a resumed operation reuses the finished exchange instead of asking again.
            idempotency_key=f"{key}:house" if key else None,
        )
        return outcome.payload if isinstance(outcome.payload, HouseData) else None

    async def export_accounts(
        self, *, organisation_id: uuid.UUID, fias_house_guid: str, key: str | None
    ) -> list[Account]:
        """Run exportAccountData by FIAS house; INT002012 (no accounts) is an empty list."""
        outcome = await self.gis.run(
            organisation_id=organisation_id,
            operation="exportAccountData",
            payload=ExportAccountQuery(fias_house_guid=fias_house_guid),
            ref_kind=REF_KIND,
            idempotency_key=f"{key}:accounts" if key else None,
        )
        payload = outcome.payload
        if not isinstance(payload, tuple):
            return []
        return [a for a in payload if isinstance(a, Account)]


def gateway_for(ctx: AppContext) -> HouseDataGateway:
    """Return the house-data port of the running app (tests may put their own in ctx.extras)."""
    override = ctx.extras.get("house_data_gateway")
    if override is not None:
        return override  # type: ignore[no-any-return]
    if ctx.gis is None:
        raise RuntimeError("the GIS client is not running")
    return EngineHouseDataGateway(ctx.gis)
