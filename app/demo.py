"""`gisgw demo` (what `make run` starts): the gateway with the embedded GIS stand and demo data."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models.core import ApiKey, Organisation
from app.domain.access import ALL_SCOPES, create_key

#: Fixed identifiers, so a rerun of `make run` finds the same demo organisation and key.
DEMO_ORG_PPA_GUID = uuid.UUID("6f1c2d1e-3b7a-4c55-9a1e-0d1e2f3a4b5c")
DEMO_EXECUTOR_GUID = uuid.UUID("0b9a8c7d-6e5f-4a3b-8c2d-1e0f9a8b7c6d")
DEMO_TOKEN = "gk_demo0000_demo-key-for-local-use-only-never-in-production"


async def seed_gateway(session: AsyncSession) -> tuple[Organisation, str]:
    """Create (once) the demo organisation and a demo key with every scope; return them."""
    org = await session.scalar(select(Organisation).where(Organisation.ppa_guid == DEMO_ORG_PPA_GUID))
    if org is None:
        org = Organisation(
            name="ООО «УК Демонстрационная»",
            inn="7701000001",
            ogrn="1027700000001",
            org_type="management_company",
            ppa_guid=DEMO_ORG_PPA_GUID,
            executor_guid=DEMO_EXECUTOR_GUID,
            region_code="77",
            address="г. Москва, ул. Примерная, д. 1",
        )
        session.add(org)
        await session.flush()
    key = await session.scalar(select(ApiKey).where(ApiKey.prefix == "demo0000"))
    if key is None:
        await create_key(
            session=session, name="demo", scopes=ALL_SCOPES, all_organisations=True, token=DEMO_TOKEN
        )
    return org, DEMO_TOKEN
