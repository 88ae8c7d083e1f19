"""Classifiers the answers use, loaded from GIS (nsi-common exportNsiItem): NSI 95 and NSI 358.

NSI 95 types a defendant's identity document, NSI 358 the documents proving a debt; both go into the answer
as nsiRef (Code and GUID). They are refreshed with the fetch (at most daily) or on request, and validation
reads them from the table; `GISGW_DEBT_NSI95` / `GISGW_DEBT_NSI358` may add values (e.g. before a first load).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.base import utcnow
from app.db.models.core import Organisation
from app.db.models.debt_requests import NsiElement
from app.domain.debt_requests.common import DsrGateway
from app.settings import Settings

log = logging.getLogger(__name__)

IDENTITY_DOCUMENTS = 95
DEBT_DOCUMENTS = 358
REGISTRIES = (IDENTITY_DOCUMENTS, DEBT_DOCUMENTS)
#: A classifier is reloaded with a fetch when its copy is older than this.
MAX_AGE = timedelta(days=1)

NsiTable = dict[str, dict[str, str]]


async def table(registry: int, *, session: AsyncSession, settings: Settings | None = None) -> NsiTable:
    """Return the actual elements of a classifier as {code: {"guid", "name"}} (setting overrides added)."""
    rows = await session.scalars(
        select(NsiElement).where(NsiElement.registry_number == registry, NsiElement.is_actual.is_(True))
    )
    out: NsiTable = {r.code: {"guid": str(r.guid), "name": r.name or ""} for r in rows}
    if settings is not None and registry == IDENTITY_DOCUMENTS:
        out.update(settings.debt.nsi95)
    elif settings is not None and registry == DEBT_DOCUMENTS:
        out.update(settings.debt.nsi358)
    return out


async def elements(registry: int, *, session: AsyncSession) -> Sequence[NsiElement]:
    """Return every stored element of a classifier (actual or not), by code."""
    rows = await session.scalars(
        select(NsiElement).where(NsiElement.registry_number == registry).order_by(NsiElement.code)
    )
    return rows.all()


async def refresh(
    *,
    sessionmaker: async_sessionmaker[AsyncSession],
    gateway: DsrGateway,
    organisation: Organisation,
    registries: Sequence[int] = REGISTRIES,
    only_stale: bool = False,
) -> dict[str, int]:
    """Load classifiers from GIS and replace the stored copies; return the element counts loaded."""
    loaded: dict[str, int] = {}
    for registry in registries:
        if only_stale:
            async with sessionmaker() as session:
                newest = await session.scalar(
                    select(func.max(NsiElement.loaded_at)).where(NsiElement.registry_number == registry)
                )
            if newest is not None and utcnow() - newest < MAX_AGE:
                continue
        item = await gateway.export_nsi_item(organisation_id=organisation.id, registry_number=registry)
        now = utcnow()
        rows = [
            {
                "registry_number": registry,
                "code": e.code,
                "guid": uuid.UUID(str(e.guid)),
                "name": next((v for k, v in e.fields if k in ("Наименование", "Name") and v), None),
                "is_actual": e.is_actual,
                "loaded_at": now,
            }
            for e in (item.elements if item is not None else ())
        ]
        async with sessionmaker() as session, session.begin():
            await session.execute(delete(NsiElement).where(NsiElement.registry_number == registry))
            if rows:
                await session.execute(insert(NsiElement), rows)
        loaded[str(registry)] = len(rows)
        log.info("NSI %d loaded from GIS: %d elements", registry, len(rows))
    return loaded
