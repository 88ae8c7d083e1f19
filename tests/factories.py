"""Small builders for test data (rather than giant fixtures)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models.core import Organisation
from app.domain.kernel.access import ALL_SCOPES, create_key
from app.settings import Settings


def settings_values(flat: Mapping[str, Any]) -> dict[str, Any]:
    """Nest flat setting names (a `GISGW_*` variable without the prefix, lower case) into Settings' groups."""
    paths = {variable.removeprefix("GISGW_").lower(): path for variable, path in Settings.variables()}
    nested: dict[str, Any] = {}
    for name, value in flat.items():
        if name.startswith("_"):  # pydantic-settings' own arguments, such as _env_file
            nested[name] = value
            continue
        *groups, field = paths[name].split(".")
        target = nested
        for group in groups:
            target = target.setdefault(group, {})
        target[field] = value
    return nested


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


async def make_subrequest(session: AsyncSession, org: Organisation, **overrides: Any) -> Any:
    """Add a debt subrequest as a fetch would store it."""
    from datetime import timedelta

    from app.db.models.debt_requests import DebtSubrequest
    from app.domain.kernel.calendar import moscow_today

    today = moscow_today()  # as the gateway counts deadlines
    values: dict[str, Any] = {
        "organisation_id": org.id,
        "subrequest_guid": uuid.uuid4(),
        "request_guid": uuid.uuid4(),
        "request_number": f"R-{uuid.uuid4().hex[:8]}",
        "sender_org_name": "УСЗН района",
        "fias_house_guid": uuid.uuid4(),
        "address": "г. Москва, ул. Лесная, д. 5, кв. 12",
        "address_norm": "г москва ул лесная д 5 кв 12",
        "premises": "12",
        "period_from": today - timedelta(days=365),
        "period_to": today,
        "sent_date": today - timedelta(days=2),
        "response_date": today + timedelta(days=5),
        "gis_request_status": "Sent",
        "gis_response_status": "NotSent",
        "status": "received",
    }
    values.update(overrides)
    sub = DebtSubrequest(**values)
    session.add(sub)
    await session.flush()
    return sub


#: One court (Kazan, region 16) for court-order tests: the `court_courts` setting's shape.
COURTS = [
    {
        "region": "16",
        "court": {
            "name": "Судебный участок № 3 по Советскому судебному району г. Казани",
            "district": "3",
            "address": "г. Казань, ул. Правосудия, д. 2",
            "payee": {
                "name": "УФК по Республике Татарстан",
                "inn": "1654000000",
                "kbk": "18210803010011050110",
            },
        },
    }
]


async def seed_nsi(session: AsyncSession) -> None:
    """Store NSI 95 and 358 as the stand serves them (what a fetch loads from GIS), once."""
    from sqlalchemy import func, select

    from app.db.base import utcnow
    from app.db.models.debt_requests import NsiElement
    from app.gis_stand.nsi import CLASSIFIERS, element_guid

    if await session.scalar(select(func.count()).select_from(NsiElement)):
        return
    now = utcnow()
    for registry, rows in CLASSIFIERS.items():
        for code, name, actual in rows:
            session.add(
                NsiElement(
                    registry_number=registry,
                    code=code,
                    guid=uuid.UUID(element_guid(registry, code)),
                    name=name,
                    is_actual=actual,
                    loaded_at=now,
                )
            )
    await session.flush()
