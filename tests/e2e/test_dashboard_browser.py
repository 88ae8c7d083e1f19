"""Headless Chromium opens the dashboard with a key and sees the figures the API reports."""

from __future__ import annotations

import asyncio
import shutil
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from app.db.engine import create_engine, create_sessionmaker
from app.domain.kernel.calendar import moscow_today
from app.main import create_app
from tests.conftest import make_settings, new_database
from tests.factories import make_org, make_subrequest, make_token
from tests.live import serve_in_thread

CHROMIUM = shutil.which("chromium")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium is not installed"),
]


async def _seed(tmp_path: Path) -> tuple[str, str]:
    url = await new_database(tmp_path)
    engine = create_engine(url)
    today = moscow_today()  # the dashboard counts deadlines in Moscow days
    async with create_sessionmaker(engine)() as session:
        org = await make_org(session, name="ООО «УК Браузерная»")
        for _ in range(4):
            await make_subrequest(session, org)
        for _ in range(2):
            await make_subrequest(session, org, status="prepared", response_date=today - timedelta(days=1))
        await make_subrequest(session, org, status="sent", gis_response_status="Sent")
        await make_subrequest(session, org, response_date=today)
        token = await make_token(session, scopes=["read"], orgs=[org.id], name="browser")
        await session.commit()
    await engine.dispose()
    return url, token


def test_dashboard_shows_api_figures(tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    url, token = asyncio.run(_seed(tmp_path))
    with serve_in_thread(create_app(make_settings(url))) as base_url:
        api = httpx.get(f"{base_url}/api/v1/dashboard", headers={"Authorization": f"Bearer {token}"}).json()
        expected = api["organisations"][0]
        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=CHROMIUM,
                args=[
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-quic",
                    "--no-first-run",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                ],
            )
            try:
                page = browser.new_page(viewport={"width": 1366, "height": 768})
                page.goto(f"{base_url}/dashboard")
                page.fill("[data-testid=key-input]", token)
                page.click("[data-testid=login-button]")
                page.wait_for_selector("[data-testid=org]")
                section = page.locator("[data-testid=org]").first
                assert "ООО «УК Браузерная»" in section.inner_text()
                for status, count in expected["by_status"].items():
                    assert section.locator(f"[data-testid=status-{status}]").inner_text() == str(count)
                assert section.locator("[data-testid=at-risk]").inner_text() == str(expected["at_risk"])
                assert section.locator("[data-testid=overdue]").inner_text() == str(expected["overdue"])
                assert section.locator("[data-testid=pending-exchanges]").inner_text() == str(
                    expected["pending_exchanges"]
                )
                bars = section.locator("[data-testid=answers-chart] rect")
                assert bars.count() == len(expected["answers_per_day"])
                page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)
            finally:
                browser.close()
    assert expected["by_status"]["received"] == 5
    assert expected["overdue"] == 2
    assert expected["at_risk"] >= 1
