"""nsi-common service: exportNsiItem for the classifiers the debt-request answers use (NSI 95 and 358).

The values are the stand's data (the gateway loads them from GIS like any other): codes and names follow the
public classifiers; the GUIDs are the stand's own, stable across runs.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from lxml import etree
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.kernel.calendar import MOSCOW
from app.gis_client.messages import ErrorInfo, NsiElement, NsiItem
from app.gis_stand import codes
from app.gis_stand.models import Message, Org
from app.gis_stand.results_builder import build_nsi_item
from app.gis_stand.runtime import StandRuntime
from app.gis_stand.soap import Outcome, Processor, element_text

_NAMESPACE = uuid.UUID("7f3d8c6e-2f6c-5d7e-9a1b-000000000000")
_CREATED = datetime(2024, 1, 1, tzinfo=MOSCOW)

#: Registry number → [(code, name, is_actual)].
CLASSIFIERS: dict[int, list[tuple[str, str, bool]]] = {
    95: [
        ("1", "Паспорт гражданина Российской Федерации", True),
        ("2", "Свидетельство о рождении", True),
        ("3", "Паспорт гражданина иностранного государства", True),
        ("4", "Вид на жительство в Российской Федерации", True),
        ("5", "Удостоверение личности военнослужащего", True),
        ("6", "Временное удостоверение личности гражданина Российской Федерации", True),
        ("7", "Паспорт гражданина СССР", False),
    ],
    358: [
        ("1", "Копия судебного акта", True),
        ("2", "Акт сверки", True),
        ("3", "Выписка по лицевому счёту", True),
        ("4", "Иной документ", True),
    ],
}


def element_guid(registry: int, code: str) -> str:
    """Return the stand's stable GUID of a classifier element."""
    return str(uuid.uuid5(_NAMESPACE, f"{registry}:{code}"))


def nsi_item(registry: int) -> NsiItem | None:
    """Return one classifier as exportNsiItem's result, or None when the stand does not hold it."""
    rows = CLASSIFIERS.get(registry)
    if rows is None:
        return None
    return NsiItem(
        registry_number=registry,
        created=_CREATED,
        elements=tuple(
            NsiElement(
                code=code,
                guid=element_guid(registry, code),
                is_actual=actual,
                modified=_CREATED,
                fields=(("Наименование", name),),
            )
            for code, name, actual in rows
        ),
    )


async def export_nsi_item(
    rt: StandRuntime, session: AsyncSession, message: Message, org: Org, body: etree._Element
) -> Outcome:
    """Export one classifier by its registry number; INT002012 for a classifier the stand does not hold."""
    del rt, session, message, org
    registry = int(element_text(body, "nsi-common:RegistryNumber") or 0)
    item = nsi_item(registry)
    if item is None:
        return ErrorInfo(codes.NOTHING_FOUND, f"Нет объектов для экспорта (справочник {registry})")
    return [build_nsi_item(item)]


PROCESSORS: dict[str, Processor] = {"exportNsiItem": export_nsi_item}
