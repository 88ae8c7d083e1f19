"""importNotificationData over real HTTP: debt notices created, shipped once, recalled; per-action errors."""

from __future__ import annotations

from decimal import Decimal

import httpx
from sqlalchemy import select

from app.gis_client.messages import CommonResult, DebtAccount, NotificationItem, build_import_notifications
from app.gis_client.parse import parse_state
from app.gis_client.wire.envelope import new_guid
from app.gis_stand.models import Account, Org
from app.gis_stand.runtime import StandRuntime
from tests.gis_stand.conftest import GisCaller, make_caller


async def _results(caller: GisCaller, items: list[NotificationItem]) -> dict[str, CommonResult]:
    state = parse_state(await caller.call("importNotificationData", build_import_notifications(items)))
    assert state.error is None, state.error
    assert isinstance(state.payload, tuple)
    return {r.transport_guid: r for r in state.payload}


def _create(els: str, *, ship: bool = False) -> NotificationItem:
    return NotificationItem(
        transport_guid=new_guid(),
        action="create",
        topic="Необходимость погашения задолженности",
        content="Уважаемый потребитель! Задолженность за ЖКУ.",
        accounts=(DebtAccount(els, Decimal("1234.50")),),
        ship_now=ship,
    )


async def test_notifications_create_ship_once_and_recall(
    caller: GisCaller, stand: tuple[str, StandRuntime], admin: httpx.AsyncClient
) -> None:
    runtime = stand[1]
    async with runtime.sessionmaker() as session:
        org_id = await session.scalar(select(Org.id).where(Org.ppa_guid == caller.org_ppa_guid))
        mine = (await session.scalars(select(Account.unified_number).where(Account.org_id == org_id))).all()
    draft, unknown, at_once = _create(mine[0]), _create("00ЯЯ000000"), _create(mine[1], ship=True)
    created = await _results(caller, [draft, unknown, at_once])
    assert created[draft.transport_guid].ok and created[draft.transport_guid].guid
    assert created[unknown.transport_guid].errors[0].code == "INT002000"
    assert created[at_once.transport_guid].ok
    guid = created[draft.transport_guid].guid
    stats = (
        await admin.get("/stand/admin/notifications", params={"org_ppa_guid": caller.org_ppa_guid})
    ).json()
    assert stats["by_status"] == {"draft": 1, "shipped": 1}
    assert stats["shipped_per_els"] == {mine[1]: 1}

    ship = NotificationItem(transport_guid=new_guid(), action="ship", notification_guid=guid)
    again = NotificationItem(transport_guid=new_guid(), action="ship", notification_guid=guid)
    stranger = NotificationItem(transport_guid=new_guid(), action="ship", notification_guid=new_guid())
    shipped = await _results(caller, [ship, stranger])
    assert shipped[ship.transport_guid].guid == guid
    assert shipped[stranger.transport_guid].errors[0].code == "INT002000"
    assert (await _results(caller, [again]))[again.transport_guid].guid == guid  # nothing shipped twice
    stats = (
        await admin.get("/stand/admin/notifications", params={"org_ppa_guid": caller.org_ppa_guid})
    ).json()
    assert stats["shipped_count_histogram"] == {"1": 2} and stats["ship_requests"] == 3

    recall = NotificationItem(
        transport_guid=new_guid(), action="recall", notification_guid=guid, recall_reason="Долг погашен"
    )
    assert (await _results(caller, [recall]))[recall.transport_guid].ok
    stats = (
        await admin.get("/stand/admin/notifications", params={"org_ppa_guid": caller.org_ppa_guid})
    ).json()
    assert stats["by_status"] == {"recalled": 1, "shipped": 1}
    item = next(i for i in stats["items"] if i["guid"] == guid)
    assert item["recall_reason"] == "Долг погашен"
    assert item["accounts"] == [{"els": mine[0], "total_debt": "1234.50"}]


async def test_notifications_refuse_recalling_a_draft_and_another_organisations_account(
    caller: GisCaller,
    stand: tuple[str, StandRuntime],
    admin: httpx.AsyncClient,
    client_keys: tuple[bytes, bytes],
) -> None:
    other = await make_caller(stand[0], admin, client_keys, seed=8)
    await other.http.aclose()
    async with stand[1].sessionmaker() as session:
        owner = {
            ppa: await session.scalar(
                select(Account.unified_number)
                .join(Org, Org.id == Account.org_id)
                .where(Org.ppa_guid == ppa)
                .limit(1)
            )
            for ppa in (caller.org_ppa_guid, other.org_ppa_guid)
        }
    mine, theirs = _create(str(owner[caller.org_ppa_guid])), _create(str(owner[other.org_ppa_guid]))
    created = await _results(caller, [mine, theirs])
    assert created[theirs.transport_guid].errors[0].code == "AUT011003"
    recall = NotificationItem(
        transport_guid=new_guid(), action="recall", notification_guid=created[mine.transport_guid].guid
    )
    assert (await _results(caller, [recall]))[recall.transport_guid].errors[0].code == "INT002047"
