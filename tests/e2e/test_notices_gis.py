"""Pre-court notices through GIS, end to end: HTTP → operation → exchange engine → the stand over real HTTP.

Notices become news in the consumers' GIS accounts (DeptsInforming by ЕЛС with TotalDebt), each once, with the
NotificationGUID in the delivery journal; an unknown ЕЛС comes back as a per-action error; recall; the
restriction timeline counts from the GIS delivery; a gateway killed mid-send still ships every notice once.
"""

from __future__ import annotations

import asyncio
import signal
import time
import uuid
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from app.db.engine import create_engine, create_sessionmaker
from app.db.models.exchange import Exchange
from app.db.models.monitoring import NoticeGisItem
from app.domain.accounts.importing import upsert_accounts
from app.domain.kernel.calendar import moscow_today
from app.gis_stand.models import Account as StandAccount
from app.gis_stand.models import Org as StandOrg
from tests.e2e.conftest import (
    GatewayHandle,
    GatewayProcess,
    KeyFiles,
    StandHandle,
    admin_token,
    gateway_settings,
)

pytestmark = [pytest.mark.e2e]

PAYMENT = {
    "payee": "ООО «УК Тестовая»",
    "inn": "7701234567",
    "bank": "ПАО Сбербанк",
    "bik": "044525225",
    "account": "40702810938000000001",
}
ORG = {"name": "ООО «УК Новости»", "inn": "7701234567", "org_type": "management_company"}


def _month(day: date, back: int) -> date:
    total = day.year * 12 + day.month - 1 - back
    return date(total // 12, total % 12 + 1, 1)


def _row(number: str, els: str | None, today: date) -> dict[str, Any]:
    """An account with three unpaid months of 1000 ₽ (due on the 10th of the next month): 3000 ₽ overdue."""
    ledger = []
    for back in (4, 3, 2):
        period = _month(today, back)
        due = _month(today, back - 1) + timedelta(days=9)
        ledger.append(
            {"period": period.isoformat(), "charged": "1000", "paid": "0", "due_date": due.isoformat()}
        )
    row: dict[str, Any] = {
        "account_number": number,
        "payer": {"kind": "person", "last_name": "Петров", "first_name": "Пётр"},
        "premises": [{"fias_house_guid": "11111111-1111-4111-8111-111111111111", "number": number}],
        "ledger": ledger,
    }
    if els is not None:
        row["els"] = els
    return row


async def _stand_els(stand: StandHandle, ppa_guid: str) -> list[str]:
    async with stand.runtime.sessionmaker() as session:
        return list(
            (
                await session.scalars(
                    select(StandAccount.unified_number)
                    .join(StandOrg, StandOrg.id == StandAccount.org_id)
                    .where(StandOrg.ppa_guid == ppa_guid.lower())
                    .order_by(StandAccount.id)
                )
            ).all()
        )


async def _accounts(database_url: str, organisation_id: str, rows: list[dict[str, Any]]) -> None:
    engine = create_engine(database_url)
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            await upsert_accounts(session=session, organisation_id=uuid.UUID(organisation_id), rows=rows)
    finally:
        await engine.dispose()


async def _notifications(stand: StandHandle, ppa_guid: str) -> dict[str, Any]:
    resp = await stand.admin.get("/stand/admin/notifications", params={"org_ppa_guid": ppa_guid})
    assert resp.status_code == 200, resp.text
    data: dict[str, Any] = resp.json()
    return data


async def _run(client: httpx.AsyncClient, org_id: str, today: date) -> dict[str, Any]:
    resp = await client.post(
        "/api/v1/monitoring/notice-runs",
        json={
            "organisation_id": org_id,
            "on_date": today.isoformat(),
            "rules": {"min_debt": "100.00", "min_months_overdue": 1, "noticed_within_days": 0},
            "payment_details": PAYMENT,
        },
    )
    assert resp.status_code == 201, resp.text
    data: dict[str, Any] = resp.json()
    return data


async def test_notices_through_gis_shipped_once_recorded_and_recalled(
    gateway: GatewayHandle, stand: StandHandle, fresh_database_url: str
) -> None:
    client = gateway.client
    org = (await client.post("/api/v1/organisations", json={**ORG, "ppa_guid": str(uuid.uuid4())})).json()
    await stand.seed(ppa_guid=org["ppa_guid"], cert_pem=gateway.keys.cert_pem, subrequests=0, accounts=5)
    els = await _stand_els(stand, org["ppa_guid"])
    today = moscow_today()
    rows = [_row(f"N{i}", e, today) for i, e in enumerate(els[:4], start=1)]
    rows += [_row("N5", "00ЯЯ000000", today), _row("N6", None, today)]  # unknown to GIS; no ЕЛС at all
    await _accounts(fresh_database_url, org["id"], rows)
    run = await _run(client, org["id"], today)
    assert len(run["notices"]) == 6

    bad = await client.post(f"/api/v1/monitoring/notice-runs/{run['id']}/gis", json={"template": "{snils}"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["path"] == "body.template"
    op = await client.post(
        f"/api/v1/monitoring/notice-runs/{run['id']}/gis",
        json={
            "template": "Долг по л/с {account_number}: {debt} ₽ на {on_date}. Оплатите: {payee}, ИНН {inn}."
        },
    )
    assert op.status_code == 202, op.text
    result = (await gateway.wait_operation(op.json()))["result"]
    assert result == {"shipped": 4, "errors": 1, "in_flight": 0, "left_out": {"no_els": 1}}

    stats = await _notifications(stand, org["ppa_guid"])
    assert stats["shipped_per_els"] == dict.fromkeys(els[:4], 1)
    assert stats["by_status"] == {"shipped": 4} and stats["ship_requests"] == 4
    first = next(i for i in stats["items"] if i["accounts"][0]["els"] == els[0])
    assert first["accounts"] == [{"els": els[0], "total_debt": "3000.00"}]
    assert first["topic"] == "Необходимость погашения задолженности"

    by_number = {
        n["account_number"]: n
        for n in (await client.get(f"/api/v1/monitoring/notice-runs/{run['id']}")).json()["notices"]
    }
    n1 = by_number["N1"]
    assert (n1["status"], n1["channel"], n1["delivered_on"]) == ("delivered", "gis", today.isoformat())
    assert n1["gis_status"] == "shipped" and n1["gis_notification_guid"] == first["guid"]
    detail = (await client.get(f"/api/v1/monitoring/notices/{n1['id']}/gis")).json()
    assert [(a["phase"], a["result"]) for a in detail["actions"]] == [("create", "ok"), ("ship", "ok")]
    assert all(a["notification_guid"] == first["guid"] for a in detail["actions"])
    n5 = (await client.get(f"/api/v1/monitoring/notices/{by_number['N5']['id']}/gis")).json()
    assert n5["gis_status"] == "error" and n5["gis_error"].startswith("INT002000")
    assert [(a["phase"], a["result"], a["error_code"]) for a in n5["actions"]] == [
        ("create", "error", "INT002000")
    ]
    assert by_number["N5"]["status"] == "created" and by_number["N6"]["gis_status"] is None

    # Restriction counts from the GIS delivery, as from any recorded one (domain-rules §12).
    opened = await client.post(
        "/api/v1/monitoring/restriction-cases",
        json={"organisation_id": org["id"], "utility": "electricity", "on_date": today.isoformat()},
    )
    assert opened.status_code == 201, opened.text
    cases = {c["account_number"]: c for c in opened.json()["opened"]}
    warned = await client.post(
        f"/api/v1/monitoring/restriction-cases/{cases['N1']['id']}/events",
        json={"event": "warning_delivered", "notice_id": n1["id"]},
    )
    assert warned.status_code == 200, warned.text
    assert warned.json()["warning_delivered_on"] == today.isoformat()

    refused = await client.post(
        "/api/v1/monitoring/notices/gis-recall", json={"notice_ids": [by_number["N5"]["id"]]}
    )
    assert refused.status_code == 422 and refused.json()["errors"][0]["path"] == "body.notice_ids.0"
    n2 = by_number["N2"]
    recall = await client.post(
        "/api/v1/monitoring/notices/gis-recall", json={"notice_ids": [n2["id"]], "reason": "Долг погашен"}
    )
    assert recall.status_code == 202, recall.text
    assert (await gateway.wait_operation(recall.json()))["result"] == {"recalled": 1, "errors": 0}
    stats = await _notifications(stand, org["ppa_guid"])
    recalled = next(i for i in stats["items"] if i["guid"] == n2["gis_notification_guid"])
    assert (recalled["status"], recalled["recall_reason"]) == ("recalled", "Долг погашен")
    n2_gis = (await client.get(f"/api/v1/monitoring/notices/{n2['id']}/gis")).json()
    assert (n2_gis["gis_status"], n2_gis["recalled_on"]) == ("recalled", today.isoformat())
    late = await client.post(
        f"/api/v1/monitoring/restriction-cases/{cases['N2']['id']}/events",
        json={"event": "warning_delivered", "notice_id": n2["id"]},
    )
    assert late.status_code == 409 and "notice_recalled" in late.text

    again = await client.post(f"/api/v1/monitoring/notice-runs/{run['id']}/gis", json={})
    assert (await gateway.wait_operation(again.json()))["result"]["shipped"] == 4  # nothing shipped twice
    assert (await _notifications(stand, org["ppa_guid"]))["ship_requests"] == 4


N = 200


@pytest.mark.slow
@pytest.mark.parametrize("phase", ["create", "ship"])
async def test_kill_mid_send_then_restart_ships_each_notice_once(
    phase: str,
    fresh_database_url: str,
    stand: StandHandle,
    e2e_keys: KeyFiles,
    gateway_process: Callable[[dict[str, Any]], GatewayProcess],
) -> None:
    token = await admin_token(fresh_database_url)
    values = gateway_settings(
        fresh_database_url, stand.base_url, e2e_keys, gis_read_timeout=3.0, monitoring_gis_batch_size=10
    )
    first = gateway_process(values)
    await first.ready()
    headers = {"Authorization": f"Bearer {token}"}
    today = moscow_today()
    async with httpx.AsyncClient(base_url=first.base_url, headers=headers, timeout=60) as client:
        org = (await client.post("/api/v1/organisations", json={**ORG, "ppa_guid": str(uuid.uuid4())})).json()
        await stand.seed(ppa_guid=org["ppa_guid"], cert_pem=e2e_keys.cert_pem, subrequests=0, accounts=N)
        els = await _stand_els(stand, org["ppa_guid"])
        await _accounts(
            fresh_database_url, org["id"], [_row(f"K{i:04d}", e, today) for i, e in enumerate(els)]
        )
        run = await _run(client, org["id"], today)
        assert len(run["notices"]) == N
        # Slow every GIS call down so the kill lands while messages are in flight.
        await stand.admin.put("/stand/admin/faults", json={"slow": 1.0, "slow_seconds": 0.5})
        assert (
            await client.post(f"/api/v1/monitoring/notice-runs/{run['id']}/gis", json={})
        ).status_code == 202
        # Kill while a message of the phase is being POSTed: after the restart that import is `uncertain` (it
        # may or may not have reached GIS) and is resent; nobody gets a notice twice.
        deadline = time.monotonic() + 90
        while True:
            shipped = len((await _notifications(stand, org["ppa_guid"]))["shipped_per_els"])
            if await _sending(fresh_database_url, phase):
                break
            assert shipped < N, "the send finished before the kill; slow the stand down further"
            assert time.monotonic() < deadline, "nothing was shipped"
            await asyncio.sleep(0.02)
    first.stop(signal.SIGKILL)
    await stand.admin.put("/stand/admin/faults", json={"slow": 0.0})

    second = gateway_process(values)
    await second.ready()
    async with httpx.AsyncClient(base_url=second.base_url, headers=headers, timeout=60) as client:
        deadline = time.monotonic() + 180
        while True:
            stats = await _notifications(stand, org["ppa_guid"])
            notices = (await client.get(f"/api/v1/monitoring/notice-runs/{run['id']}")).json()["notices"]
            if len(stats["shipped_per_els"]) == N and all(n["gis_status"] == "shipped" for n in notices):
                break
            assert time.monotonic() < deadline, (
                f"not everything shipped after the restart: {stats['by_status']}"
            )
            await asyncio.sleep(0.5)
    assert stats["shipped_count_histogram"] == {"1": N}, stats["shipped_count_histogram"]
    assert all(n["status"] == "delivered" and n["channel"] == "gis" for n in notices)
    assert len({n["gis_notification_guid"] for n in notices}) == N
    assert await _resent(fresh_database_url) >= 1  # the kill did land mid-POST


async def _sending(database_url: str, phase: str) -> int:
    """Count the notice messages of a phase the gateway has committed as being sent, not yet acknowledged."""
    engine = create_engine(database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            return int(
                await session.scalar(
                    select(func.count(func.distinct(Exchange.id)))
                    .join(NoticeGisItem, NoticeGisItem.exchange_id == Exchange.id)
                    .where(Exchange.status == "sending", NoticeGisItem.phase == phase)
                )
                or 0
            )
    finally:
        await engine.dispose()


async def _resent(database_url: str) -> int:
    """Count the notice messages sent more than once (an uncertain import resent after the restart)."""
    engine = create_engine(database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            return int(
                await session.scalar(
                    select(func.count())
                    .select_from(Exchange)
                    .where(Exchange.operation == "importNotificationData", Exchange.attempts > 1)
                )
                or 0
            )
    finally:
        await engine.dispose()
