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


async def test_dashboard_counts_agreements_and_sums_write_off(
    api: httpx.AsyncClient, session: AsyncSession
) -> None:
    import uuid
    from datetime import date, timedelta
    from decimal import Decimal

    from app.db.models.accounts import Account
    from app.db.models.agreements import Agreement
    from app.db.models.writeoff import WriteOffAct
    from app.domain.kernel.calendar import moscow_today

    org = await make_org(session, name="УК Взыскание")
    token = await make_token(session, scopes=["read"], orgs=[org.id])
    account = Account(id=uuid.uuid4(), organisation_id=org.id, account_number="D-1", payer_kind="person")
    session.add(account)
    await session.flush()
    today = moscow_today()
    last_month = today.replace(day=1) - timedelta(days=1)
    for status, breached, completed in [
        ("active", None, None), ("active", None, None), ("breached", today, None),
        ("breached", last_month, None), ("completed", None, today),
    ]:  # fmt: skip
        session.add(
            Agreement(
                organisation_id=org.id, account_id=account.id, status=status, signed_on=date(2026, 1, 1),
                covered_through=date(2025, 12, 1), principal=Decimal(100), penalties=Decimal(0),
                penalty_mode="frozen", total=Decimal(100), baseline_paid=Decimal(0), paid=Decimal(0),
                breached_on=breached, completed_on=completed,
            )
        )  # fmt: skip
    for status, principal, penalties, duty in [
        ("draft", "100.10", "10.00", "0"), ("draft", "50.00", "0", "5.00"), ("approved", "7.00", "1.00", "0"),
        ("posted", "1000.00", "200.00", "300.00"), ("cancelled", "9999.00", "0", "0"),
    ]:  # fmt: skip
        session.add(
            WriteOffAct(
                organisation_id=org.id, status=status, on_date=today, principal=Decimal(principal),
                penalties=Decimal(penalties), duty=Decimal(duty), created_by="key:clerk",
            )
        )  # fmt: skip
    await session.flush()

    resp = await api.get("/api/v1/dashboard", headers=bearer(token))
    (mine,) = resp.json()["organisations"]
    assert mine["agreements"] == {"active": 2, "breached_this_month": 1, "completed": 1}
    assert mine["write_off"] == {
        "draft": {"acts": 2, "principal": "150.10", "penalties": "10.00", "duty": "5.00"},
        "approved": {"acts": 1, "principal": "7.00", "penalties": "1.00", "duty": "0.00"},
        "posted": {"acts": 1, "principal": "1000.00", "penalties": "200.00", "duty": "300.00"},
    }
    api.cookies.set("gisgw_dashboard_key", token)
    page = (await api.get("/dashboard")).text
    assert 'data-testid="agreements-active">2<' in page
    assert 'data-testid="agreements-breached">1<' in page
    assert 'data-testid="write-off-draft">165.10<' in page
    assert 'data-testid="write-off-posted">1500.00<' in page
