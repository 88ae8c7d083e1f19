"""The dashboard API and page: figures, key form, scopes."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import bearer, make_org, make_token


async def test_dashboard_api_lists_visible_orgs(api: httpx.AsyncClient, session: AsyncSession) -> None:
    mine = await make_org(session, name="УК Моя")
    await make_org(session, name="УК Чужая")
    token = await make_token(session, scopes=["read"], orgs=[mine.id])
    resp = await api.get("/api/v1/dashboard", headers=bearer(token))
    assert resp.status_code == 200
    orgs = resp.json()["organisations"]
    assert [o["name"] for o in orgs] == ["УК Моя"]
    assert orgs[0]["by_status"] == {"received": 0, "prepared": 0, "sent": 0, "revoked": 0, "archived": 0}
    assert len(orgs[0]["answers_per_day"]) == 14


async def test_dashboard_page_needs_a_read_key(api: httpx.AsyncClient, session: AsyncSession) -> None:
    await make_org(session, name="УК Видимая")
    token = await make_token(session, scopes=["read"], all_orgs=True)
    no_read = await make_token(session, scopes=["answer"], all_orgs=True)
    form = await api.get("/dashboard")
    assert form.status_code == 200 and 'name="key"' in form.text
    refused = await api.post("/dashboard/login", data={"key": no_read})
    assert refused.status_code == 401 and "read" in refused.text
    login = await api.post("/dashboard/login", data={"key": token})
    assert login.status_code == 303
    api.cookies.set("gisgw_dashboard_key", token)
    page = await api.get("/dashboard")
    assert page.status_code == 200 and "УК Видимая" in page.text and 'data-testid="at-risk"' in page.text


async def test_dashboard_shows_five_latest_gis_errors_per_org(
    api: httpx.AsyncClient, session: AsyncSession
) -> None:
    from datetime import UTC, datetime, timedelta

    from app.db.models.exchange import Exchange

    org = await make_org(session, name="УК С ошибками")
    other = await make_org(session, name="УК Без ошибок")
    start = datetime(2026, 11, 1, tzinfo=UTC)
    for i in range(7):
        session.add(
            Exchange(
                organisation_id=org.id,
                service="debt-requests",
                operation="importResponses",
                payload={},
                status="failed",
                error_code=f"AUT01100{i}",
                error_message="отказ",
                finished_at=start + timedelta(hours=i),
            )
        )
    await session.flush()
    token = await make_token(session, scopes=["read"], orgs=[org.id, other.id])
    orgs = {
        o["name"]: o
        for o in (await api.get("/api/v1/dashboard", headers=bearer(token))).json()["organisations"]
    }
    codes = [e["code"] for e in orgs["УК С ошибками"]["recent_errors"]]
    assert codes == [f"AUT01100{i}" for i in (6, 5, 4, 3, 2)]
    assert orgs["УК Без ошибок"]["recent_errors"] == []
