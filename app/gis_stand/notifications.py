"""house-management news for citizens: importNotificationData with the DeptsInforming addressee, and recall.

Per hm:notification action (matched by TransportGUID), as GIS answers it in hm:ImportResult/hm:CommonResult:
- Create: a news item addressed to the consumers of the accounts given by ЕЛС with their TotalDebt; every
  ЕЛС must be one of the organisation's accounts (unknown → INT002000, another organisation's → AUT011003).
  Without IsShipOff it stays a draft; the result's GUID is the NotificationGUID.
- IsShipOff: sends a draft to its addressees. Shipping a news item already shipped sends nothing again and
  answers success with the same GUID (a client resending after a lost answer gets one news item, not two).
- RecallNotification: withdraws a shipped news item (again: success, nothing changes); a draft cannot be
  recalled (INT002047).
Everything received is kept (`stand_notifications`) and counted by `/stand/admin/notifications`, so a test
checks that each consumer got each notice exactly once.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter
from lxml import etree
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.base import utcnow
from app.gis_client.messages import CommonResult, ErrorInfo
from app.gis_client.operations import NS
from app.gis_client.wire.envelope import new_guid
from app.gis_stand import codes
from app.gis_stand.models import Account, Message, Notification, Org
from app.gis_stand.results_builder import build_hm_import_result
from app.gis_stand.runtime import StandRuntime
from app.gis_stand.soap import Outcome, Processor, element_text


def _error(transport: str, code: str, text: str) -> CommonResult:
    return CommonResult(transport_guid=transport, errors=(ErrorInfo(code, text),))


async def _create(
    session: AsyncSession, message: Message, org: Org, el: etree._Element, transport: str
) -> CommonResult:
    create = el.find("hm:Create", NS)
    assert create is not None
    accounts = [
        {
            "els": element_text(a, "account-base:UnifiedAccountNumber") or "",
            "total_debt": element_text(a, "hm:TotalDebt") or "0",
        }
        for a in create.findall("hm:RoomOwners/hm:DeptsInforming/hm:Account", NS)
    ]
    if accounts:
        owners = dict(
            (
                await session.execute(
                    select(Account.unified_number, Account.org_id).where(
                        Account.unified_number.in_([a["els"] for a in accounts])
                    )
                )
            ).all()
        )
        for a in accounts:
            owner = owners.get(a["els"])
            if owner is None:
                return _error(transport, codes.OBJECT_NOT_FOUND, f"Лицевой счет с ЕЛС {a['els']} не найден")
            if owner != org.id:
                return _error(
                    transport,
                    codes.NOT_ADDRESSED,
                    f"Лицевой счет с ЕЛС {a['els']} не относится к организации",
                )
    now = utcnow()
    shipped = create.find("hm:IsShipOff", NS) is not None
    row = Notification(
        guid=new_guid(),
        org_id=org.id,
        message_guid=message.guid,
        transport_guid=transport,
        topic=element_text(create, "hm:Topic") or element_text(create, "hm:TopicNSIRef/nsi-base:Code") or "",
        content=element_text(create, "hm:content"),
        accounts=json.dumps(accounts, ensure_ascii=False),
        status="shipped" if shipped else "draft",
        ship_requests=1 if shipped else 0,
        shipped_at=now if shipped else None,
        created_at=now,
    )
    session.add(row)
    return CommonResult(transport_guid=transport, guid=row.guid)


async def _existing(
    session: AsyncSession, org: Org, el: etree._Element, transport: str
) -> Notification | CommonResult:
    guid = (element_text(el, "hm:NotificationGUID") or "").lower()
    row = await session.scalar(
        select(Notification).where(Notification.guid == guid, Notification.org_id == org.id)
    )
    if row is None:
        return _error(transport, codes.OBJECT_NOT_FOUND, f"Новость {guid} не найдена")
    return row


async def import_notifications(
    rt: StandRuntime, session: AsyncSession, message: Message, org: Org, body: etree._Element
) -> Outcome:
    """Apply every notification action of the request; one CommonResult each."""
    del rt
    results: list[CommonResult] = []
    now = utcnow()
    for el in body.findall("hm:notification", NS):
        transport = element_text(el, "base:TransportGUID") or ""
        if el.find("hm:Create", NS) is not None:
            results.append(await _create(session, message, org, el, transport))
            continue
        found = await _existing(session, org, el, transport)
        if isinstance(found, CommonResult):
            results.append(found)
            continue
        if el.find("hm:IsShipOff", NS) is not None:
            if found.status == "recalled":
                results.append(_error(transport, codes.RULE_VIOLATION, "Новость отозвана"))
                continue
            found.ship_requests += 1
            if found.status == "draft":
                found.status, found.shipped_at = "shipped", now
        elif el.find("hm:RecallNotification", NS) is not None:
            if found.status == "draft":
                results.append(_error(transport, codes.RULE_VIOLATION, "Новость не направлена адресатам"))
                continue
            if found.status == "shipped":
                found.status, found.recalled_at = "recalled", now
                found.recall_reason = element_text(el, "hm:RecallNotification/hm:RecallReason")
        else:  # DeleteNotification
            found.status = "deleted"
        results.append(CommonResult(transport_guid=transport, guid=found.guid))
    await session.flush()
    return build_hm_import_result(results)


#: The operations this module answers; the stand app lists them.
PROCESSORS: dict[str, Processor] = {"importNotificationData": import_notifications}


def build_router(rt: StandRuntime) -> APIRouter:
    """Admin view of the news received: per ЕЛС how many debt notices were shipped (exactly-once checks)."""
    router = APIRouter(prefix="/stand/admin", tags=["admin"])

    @router.get("/notifications")
    async def notifications(org_ppa_guid: str | None = None) -> dict[str, Any]:
        """Count news by status and, per ЕЛС, the shipped debt notices and the IsShipOff requests."""
        async with rt.sessionmaker() as session:
            stmt = select(Notification)
            if org_ppa_guid:
                stmt = stmt.join(Org, Org.id == Notification.org_id).where(
                    Org.ppa_guid == org_ppa_guid.lower()
                )
            rows = (await session.scalars(stmt.order_by(Notification.id))).all()
        by_status: dict[str, int] = {}
        shipped: dict[str, int] = {}
        for r in rows:
            by_status[r.status] = by_status.get(r.status, 0) + 1
            if r.status in ("shipped", "recalled"):
                for a in json.loads(r.accounts):
                    shipped[a["els"]] = shipped.get(a["els"], 0) + 1
        histogram: dict[str, int] = {}
        for n in shipped.values():
            histogram[str(n)] = histogram.get(str(n), 0) + 1
        return {
            "by_status": by_status,
            "shipped_per_els": shipped,
            "shipped_count_histogram": histogram,
            "ship_requests": sum(r.ship_requests for r in rows),
            "items": [
                {
                    "guid": r.guid,
                    "status": r.status,
                    "topic": r.topic,
                    "accounts": json.loads(r.accounts),
                    "ship_requests": r.ship_requests,
                    "recall_reason": r.recall_reason,
                }
                for r in rows
            ],
        }

    return router
