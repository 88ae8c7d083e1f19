"""Small builders for test data (rather than giant fixtures)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models.core import Organisation
from app.domain.access import ALL_SCOPES, create_key


async def make_org(session: AsyncSession, **overrides: Any) -> Organisation:
    """Add an organisation with plausible registration data."""
    values: dict[str, Any] = {
        "name": "ООО «УК Тестовая»",
        "inn": "7701234567",
        "org_type": "management_company",
        "ppa_guid": uuid.uuid4(),
        "executor_guid": uuid.uuid4(),
        "region_code": "77",
    }
    values.update(overrides)
    org = Organisation(**values)
    session.add(org)
    await session.flush()
    return org


async def make_token(
    session: AsyncSession,
    *,
    scopes: Iterable[str] = ALL_SCOPES,
    orgs: Iterable[uuid.UUID] = (),
    all_orgs: bool = False,
    name: str = "test",
) -> str:
    """Create an API key and return its token."""
    created = await create_key(
        session=session, name=name, scopes=scopes, organisation_ids=orgs, all_organisations=all_orgs
    )
    return created.token


def bearer(token: str) -> dict[str, str]:
    """Authorization header for a token."""
    return {"Authorization": f"Bearer {token}"}
