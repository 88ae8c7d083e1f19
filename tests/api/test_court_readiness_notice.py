"""A delivered pre-court notice as a court-readiness requirement (setting), cited by the application."""

from __future__ import annotations

import io
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from pypdf import PdfReader
from sqlalchemy.ext.asyncio import AsyncSession

from app.api.deps import get_session
from app.db.models.court import CourtCase
from app.db.models.monitoring import Notice
from app.domain.court import documents
from app.domain.court.packages import application_data
from app.domain.court.readiness import iter_assessments
from app.domain.court.rules import court_rules
from app.main import create_app
from tests.api.test_court_orders import ON, seed_account
from tests.conftest import make_settings
from tests.factories import COURTS, bearer, make_org, make_token

PAYMENT = {"payee": "УК", "inn": "7701234567", "bank": "Банк", "bik": "044525225", "account": "4" * 20}
GUID = uuid.UUID("6f1c5a4e-1d2b-4c3a-9e8f-0a1b2c3d4e5f")


@pytest.fixture
async def notice_api(session: AsyncSession, database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """The app requiring a delivered notice for readiness, its requests sharing the test's session."""
    settings = make_settings(
        database_url,
        court_courts=COURTS,
        court_pilot_regions=["16"],
        court_readiness_require_notice_delivered=True,
    )
    app = create_app(settings)

    async def _session() -> AsyncIterator[AsyncSession]:
        yield session
        await session.flush()

    app.dependency_overrides[get_session] = _session
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://gisgw.test") as client:
            yield client


async def _readiness(
    api: httpx.AsyncClient, org_id: uuid.UUID, ids: list[uuid.UUID], auth: Any
) -> dict[str, Any]:
    r = await api.post(
        "/api/v1/court-orders/readiness",
        json={
            "organisation_id": str(org_id),
            "account_ids": [str(i) for i in ids],
            "on_date": ON.isoformat(),
        },
        headers=auth,
    )
    assert r.status_code == 200, r.text
    return {item["account_id"]: item for item in r.json()["results"]["items"]}


async def _journal(api: httpx.AsyncClient, notice_id: str, auth: Any, *events: dict[str, str]) -> None:
    for event in events:
        r = await api.post(f"/api/v1/monitoring/notices/{notice_id}/events", json=event, headers=auth)
        assert r.status_code == 200, r.text


async def test_readiness_requires_a_delivered_notice_and_the_application_cites_it(
    notice_api: httpx.AsyncClient, session: AsyncSession
) -> None:
    org = await make_org(session, region_code="16")
    auth = bearer(await make_token(session, scopes=["court", "pii", "read"], orgs=[org.id]))
    by_mail, by_gis, late = [await seed_account(session, org.id) for _ in range(3)]
    ids = [by_mail, by_gis, late]

    verdicts = await _readiness(notice_api, org.id, ids, auth)
    for account in ids:
        assert not verdicts[str(account)]["ready"]
        assert [b["rule"] for b in verdicts[str(account)]["blockers"]] == ["notice_not_delivered"]
        assert verdicts[str(account)]["notice"] is None

    run = await notice_api.post(
        "/api/v1/monitoring/notice-runs",
        json={"organisation_id": str(org.id), "on_date": "2025-11-01", "payment_details": PAYMENT},
        headers=auth,
    )
    assert run.status_code == 201, run.text
    notices = {n["account_id"]: n for n in run.json()["notices"]}
    mail, gis, after = notices[str(by_mail)], notices[str(by_gis)], notices[str(late)]
    sent = {"event": "sent", "on_date": "2025-11-03", "channel": "registered_mail"}
    await _journal(notice_api, mail["id"], auth, sent)
    # Sent is not delivered: still blocked.
    assert not (await _readiness(notice_api, org.id, [by_mail], auth))[str(by_mail)]["ready"]
    await _journal(notice_api, mail["id"], auth, {"event": "delivered", "on_date": "2025-11-10"})
    await _journal(
        notice_api,
        gis["id"],
        auth,
        {"event": "sent", "on_date": "2025-11-05", "channel": "gis"},
        {"event": "delivered", "on_date": "2025-11-05"},
    )
    # The shipment's NotificationGUID, as the GIS channel records it (app/domain/monitoring/gis_notices.py).
    shipped = await session.get(Notice, uuid.UUID(gis["id"]))
    assert shipped is not None
    shipped.gis_status, shipped.gis_notification_guid = "shipped", GUID
    # Delivered after the readiness date: it does not count on that date.
    await _journal(
        notice_api,
        after["id"],
        auth,
        {"event": "sent", "on_date": "2025-11-18", "channel": "email"},
        {"event": "delivered", "on_date": "2025-11-21"},
    )
    await session.flush()

    verdicts = await _readiness(notice_api, org.id, ids, auth)
    assert verdicts[str(by_mail)]["ready"] and verdicts[str(by_gis)]["ready"], verdicts
    assert verdicts[str(by_mail)]["notice"] == {
        "notice_id": mail["id"],
        "seq": mail["seq"],
        "issued_on": "2025-11-01",
        "delivered_on": "2025-11-10",
        "channel": "registered_mail",
        "gis_notification_guid": None,
    }
    assert verdicts[str(by_gis)]["notice"]["gis_notification_guid"] == str(GUID)
    assert [b["rule"] for b in verdicts[str(late)]["blockers"]] == ["notice_not_delivered"]

    # A recalled GIS notice no longer counts.
    shipped.gis_status = "recalled"
    await session.flush()
    assert not (await _readiness(notice_api, org.id, [by_gis], auth))[str(by_gis)]["ready"]
    shipped.gis_status = "shipped"
    await session.flush()

    cited = []
    for account, notice in ((by_mail, mail), (by_gis, gis)):
        r = await notice_api.post(
            "/api/v1/court-cases",
            json={"organisation_id": str(org.id), "account_ids": [str(account)], "on_date": ON.isoformat()},
            headers=auth,
        )
        assert r.status_code == 201, r.text
        case = await session.get(CourtCase, uuid.UUID(r.json()["id"]))
        assert case is not None and case.claim["notice"]["notice_id"] == notice["id"]
        data = application_data(case, show_pii=True)
        fonts = documents.Fonts(
            regular=Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
            mono=Path("/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"),
        )
        application, _, attachments = documents.render_cases([data], fonts)[0]
        text = " ".join(
            " ".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(application)).pages
        ).replace("\xa0", " ")
        listed = " ".join(PdfReader(io.BytesIO(attachments)).pages[0].extract_text().split())
        assert f"Копия уведомления о задолженности № {notice['seq']} от 1 ноября 2025 г." in listed
        html = await notice_api.get(f"/api/v1/court-cases/{case.id}/application.html", headers=auth)
        assert html.status_code == 200 and f"уведомление о задолженности № {notice['seq']}" in html.text
        cited.append(text)
    assert (
        f"должнику направлено уведомление о задолженности № {mail['seq']} от 1 ноября 2025 г. (заказным "
        "письмом с уведомлением о вручении), доставленное 10 ноября 2025 г." in cited[0]
    )
    assert (
        "(через ГИС ЖКХ (личный кабинет потребителя)), доставленное 5 ноября 2025 г.; идентификатор"
        in (cited[1])
    )
    assert str(GUID) in cited[1]


async def test_readiness_without_the_setting_needs_no_notice(session: AsyncSession) -> None:
    org = await make_org(session, region_code="16")
    account = await seed_account(session, org.id)
    rules = court_rules(make_settings("sqlite+aiosqlite://", court_courts=COURTS))
    assert rules.require_notice_delivered is False
    for required, ready in ((False, True), (True, False)):
        found = [
            a
            async for batch in iter_assessments(
                session=session,
                organisation_id=org.id,
                cases=[[account]],
                on_date=ON,
                rules=replace(rules, require_notice_delivered=required),
            )
            for a in batch
        ]
        assert found[0].ready is ready and found[0].notice is None
        assert ("notice" in found[0].verdict()) is False
