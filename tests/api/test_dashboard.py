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


async def _snapshots(session: AsyncSession, org_id: object, months: int) -> None:
    """Stored monthly snapshots ending November 2026, debt growing 1,000 ₽ a month, split over the buckets."""
    from datetime import date
    from decimal import Decimal

    from app.db.models.monitoring import MonitoringSnapshot

    for i in range(months):
        year, month = divmod(11 - (months - 1 - i) - 1, 12)
        debt = Decimal(1000 * (i + 1)) + Decimal("0.89")
        ages = {
            "age_1": debt - 600,
            "age_2_3": Decimal(300),
            "age_4_6": Decimal(0),
            "age_7_12": Decimal(200),
            "age_13_36": Decimal(100),
            "age_over_36": Decimal(0),
        }
        session.add(
            MonitoringSnapshot(
                organisation_id=org_id,
                month=date(2026 + year, month + 1, 1),
                totals={
                    "debt": str(debt),
                    "debtors": 3,
                    "collection_rate": "0.9512",
                    **{k: str(v) for k, v in ages.items()},
                },
                top_debtors=[],
            )
        )
    await session.flush()


async def test_court_funnel_api_answers_per_month(api: httpx.AsyncClient, session: AsyncSession) -> None:
    mine = await make_org(session, name="УК Моя")
    await make_org(session, name="УК Чужая")  # not the key's: not listed
    await _snapshots(session, mine.id, 1)
    token = await make_token(session, scopes=["read"], orgs=[mine.id])
    resp = await api.get("/api/v1/dashboard/court-funnel", params={"month": "2026-11"}, headers=bearer(token))
    assert resp.status_code == 200
    body = resp.json()
    assert body["month"] == "2026-11-01"
    (org,) = body["organisations"]
    assert org["name"] == "УК Моя" and org["debtors_source"] == "monitoring_snapshot"
    assert [s["stage"] for s in org["stages"]][0::7] == ["debtors", "paid"]
    assert org["stages"][0] == {"stage": "debtors", "count": 3, "amount": "1000.89"}
    one = await api.get(
        "/api/v1/dashboard/court-funnel",
        params={"month": "2026-10", "organisation_id": str(mine.id)},
        headers=bearer(token),
    )
    assert one.status_code == 200 and one.json()["organisations"][0]["debtors_source"] is None
    series = await api.get(
        "/api/v1/dashboard/court-funnel", params={"month": "2027-01", "months": 3}, headers=bearer(token)
    )
    assert series.status_code == 200 and series.json()["months"] == 3
    assert [o["month"] for o in series.json()["organisations"]] == ["2026-11-01", "2026-12-01", "2027-01-01"]
    assert series.json()["organisations"][0]["stages"][0]["count"] == 3


async def test_court_funnel_api_refuses_bad_month_and_foreign_org(
    api: httpx.AsyncClient, session: AsyncSession
) -> None:
    mine = await make_org(session, name="УК Моя")
    other = await make_org(session, name="УК Чужая")
    token = await make_token(session, scopes=["read"], orgs=[mine.id])
    for bad in ("2026-13", "2026-1", "0000-01", "ноябрь", "2026-11-01"):
        resp = await api.get("/api/v1/dashboard/court-funnel", params={"month": bad}, headers=bearer(token))
        assert resp.status_code == 422, bad
        assert resp.headers["content-type"].startswith("application/problem+json")
        assert [e["path"] for e in resp.json()["errors"]] == ["query.month"]
    for months in (0, 37):
        resp = await api.get(
            "/api/v1/dashboard/court-funnel", params={"months": months}, headers=bearer(token)
        )
        assert resp.status_code == 422 and resp.json()["errors"][0]["path"] == "query.months"
    foreign = await api.get(
        "/api/v1/dashboard/court-funnel", params={"organisation_id": str(other.id)}, headers=bearer(token)
    )
    assert foreign.status_code == 404 and foreign.headers["content-type"].startswith(
        "application/problem+json"
    )
    assert (await api.get("/api/v1/dashboard/court-funnel")).status_code == 401


async def test_dashboard_page_speaks_russian_with_charts(
    api: httpx.AsyncClient, session: AsyncSession
) -> None:
    from app.api.i18n import NARROW_NBSP, NBSP
    from app.domain.kernel.calendar import moscow_today

    org = await make_org(session, name="УК Графики")
    await _snapshots(session, org.id, 40)
    token = await make_token(session, scopes=["read"], orgs=[org.id])
    api.cookies.set("gisgw_dashboard_key", token)
    page = await api.get("/dashboard", params={"month": "2026-11"})
    assert page.status_code == 200
    text = page.text
    assert '<html lang="ru">' in text
    assert (
        "Задолженность по срокам" in text and "Динамика задолженности" in text and "Судебная работа" in text
    )
    assert moscow_today().strftime("%d.%m.%Y") in text
    assert f"40{NARROW_NBSP}000,89{NBSP}₽" in text  # the latest month's debt, Russian grouping and comma
    assert "ноябрь 2026" in text and "95,1" in text
    assert text.count('data-testid="ageing-bar"') == 6
    assert text.count('data-testid="trend-point"') == 36  # the trend reaches back 36 of the 40 months
    assert 'data-month="2023-12"' in text and 'data-month="2023-11"' not in text
    assert 'data-testid="funnel-paid"' in text and "приказы вынесены" in text
    for raw_key in ("funnel.", "status.", "source.", ">section_", ">age_", ">debt_at"):
        assert raw_key not in text  # every label the page asks for exists
    api.cookies.clear()
    form = await api.get("/dashboard", params={"lang": "en"})
    assert "Enter an API key" in form.text and 'name="lang" value="en"' in form.text
    login = await api.post("/dashboard/login", data={"key": token, "lang": "en"})
    assert login.status_code == 303 and login.headers["location"] == "/dashboard?lang=en"
    russian = await api.post("/dashboard/login", data={"key": token, "lang": "ru"})
    assert russian.headers["location"] == "/dashboard"
    api.cookies.set("gisgw_dashboard_key", token)
    english = await api.get("/dashboard", params={"lang": "en", "month": "2026-11"})
    assert '<html lang="en">' in english.text and "Debt by age" in english.text
    assert "40,000.89" in english.text and "November 2026" in english.text
    bad = await api.get("/dashboard", params={"lang": "de"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["path"] == "query.lang"


async def test_dashboard_language_follows_the_setting(session: AsyncSession, database_url: str) -> None:
    from collections.abc import AsyncIterator

    from asgi_lifespan import LifespanManager

    from app.api.deps import get_session
    from app.main import create_app
    from tests.conftest import make_settings

    org = await make_org(session, name="УК Английская")
    token = await make_token(session, scopes=["read"], orgs=[org.id])
    app = create_app(make_settings(database_url, dashboard_lang="en"))

    async def _session() -> AsyncIterator[AsyncSession]:
        yield session

    app.dependency_overrides[get_session] = _session
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gisgw.test") as client:
            client.cookies.set("gisgw_dashboard_key", token)
            page = await client.get("/dashboard")
            assert "Court work" in page.text and "No monitoring snapshots yet." in page.text
            ru = await client.get("/dashboard", params={"lang": "ru"})
            assert "Снимков мониторинга ещё нет." in ru.text


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
    from app.api.i18n import format_money

    assert f'data-testid="write-off-draft">{format_money(Decimal("165.10"), "ru")}<' in page
    assert f'data-testid="write-off-posted">{format_money(Decimal("1500.00"), "ru")}<' in page
