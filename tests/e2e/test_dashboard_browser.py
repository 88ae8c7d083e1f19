"""Headless Chromium opens the dashboard with a key and sees the figures the API reports."""

from __future__ import annotations

import asyncio
import shutil
import struct
import zlib
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from app.api.i18n import NARROW_NBSP, NBSP, format_month
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


CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: The seeded ageing of the latest month (₽): the chart's bars must keep these proportions.
AGES = {
    "age_1": Decimal("120000.50"),
    "age_2_3": Decimal("60000.25"),
    "age_4_6": Decimal("30000"),
    "age_7_12": Decimal("15000"),
    "age_13_36": Decimal("0"),
    "age_over_36": Decimal("240001"),
}


async def _seed_monitoring(tmp_path: Path) -> tuple[str, str, int]:
    """36 stored monthly snapshots up to last month, and a court case filed this month."""
    from app.db.models.court import CourtCase
    from app.db.models.monitoring import MonitoringSnapshot

    url = await new_database(tmp_path)
    engine = create_engine(url)
    this_month = moscow_today().replace(day=1)
    months = []
    day = this_month
    for _ in range(36):
        day = (day - timedelta(days=1)).replace(day=1)
        months.append(day)
    months.reverse()
    async with create_sessionmaker(engine)() as session:
        org = await make_org(session, name="ООО «УК Графики»")
        for i, month in enumerate(months):
            ages = AGES if month == months[-1] else {k: v * (i + 1) / 40 for k, v in AGES.items()}
            debt = sum(ages.values(), Decimal(0)).quantize(Decimal("0.01"))
            session.add(
                MonitoringSnapshot(
                    organisation_id=org.id,
                    month=month,
                    totals={
                        "debt": str(debt),
                        "debtors": 10 + i,
                        "collection_rate": "0.9",
                        **{k: str(v.quantize(Decimal("0.01"))) for k, v in ages.items()},
                    },
                    top_debtors=[],
                )
            )
        session.add(
            CourtCase(
                organisation_id=org.id,
                account_ids=[],
                status="submitted",
                debtor={},
                months=[],
                period_from=date(2025, 1, 1),
                period_to=date(2025, 6, 30),
                on_date=this_month,
                submitted_on=this_month,
                principal=Decimal("45000"),
                penalties=Decimal("1234.56"),
                duty=Decimal("2000"),
                total=Decimal("48234.56"),
                claim={},
            )
        )
        token = await make_token(session, scopes=["read"], orgs=[org.id], name="charts")
        await session.commit()
    await engine.dispose()
    return url, token, len(months)


def _png_facts(data: bytes) -> tuple[int, int, int]:
    """Return a PNG's width, height and how many distinct byte values its pixel stream holds."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    pos, idat = 8, b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        if kind == b"IDAT":
            idat += data[pos + 8 : pos + 8 + length]
        pos += 12 + length
    return width, height, len(set(zlib.decompress(idat)))


def test_dashboard_charts_in_chromium(tmp_path: Path) -> None:
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    url, token, months = asyncio.run(_seed_monitoring(tmp_path))
    with serve_in_thread(create_app(make_settings(url))) as base_url, sync_playwright() as pw:
        try:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        except PlaywrightError as exc:  # pragma: no cover - depends on the machine
            pytest.skip(f"Chromium at {CHROMIUM} cannot start: {exc}")
        try:
            page = browser.new_page(viewport={"width": 1366, "height": 900}, locale="ru-RU")
            page.goto(f"{base_url}/dashboard")
            page.fill("[data-testid=key-input]", token)
            page.click("[data-testid=login-button]")
            page.wait_for_selector("[data-testid=org]")
            assert page.locator("html").get_attribute("lang") == "ru"
            body = page.locator("body").inner_text()
            for label in ("Мониторинг задолженности", "Задолженность по срокам", "Динамика задолженности"):
                assert label in body
            assert "Судебная работа" in body and "заявления поданы" in body
            assert moscow_today().strftime("%d.%m.%Y") in body
            chosen = page.locator("[data-testid=month-select] option:checked").inner_text()
            assert chosen == format_month(moscow_today(), "ru")  # e.g. "декабрь 2026"
            assert "45 должников" in body  # the latest snapshot's debtors, in the plural form
            assert "Debt" not in body and "Sign out" not in body  # no English left on the Russian page

            ageing = page.locator("[data-testid=ageing-chart]")
            ageing.scroll_into_view_if_needed()
            assert ageing.is_visible()
            bars = ageing.locator("[data-testid=ageing-bar] rect")
            assert bars.count() == len(AGES)
            heights = {}
            for i, name in enumerate(AGES):
                box = bars.nth(i).bounding_box()
                assert box is not None and box["width"] > 0
                heights[name] = box["height"]
            # Rendered heights keep the amounts' proportions (the largest bucket is over 36 months).
            assert heights["age_over_36"] == max(heights.values())
            assert heights["age_1"] == pytest.approx(heights["age_over_36"] / 2, rel=0.05)
            assert heights["age_2_3"] == pytest.approx(heights["age_1"] / 2, rel=0.05)
            assert heights["age_13_36"] < 1.5  # an empty bucket is a hairline
            assert f"240{NARROW_NBSP}001,00{NBSP}₽" in (ageing.text_content() or "")

            trend = page.locator("[data-testid=trend-chart]")
            trend.scroll_into_view_if_needed()
            assert trend.is_visible()
            points = trend.locator("[data-testid=trend-point] circle")
            assert points.count() == months == 36
            first, last = points.first.bounding_box(), points.last.bounding_box()
            assert first is not None and last is not None
            assert last["x"] > first["x"] and last["y"] < first["y"]  # debt grows: the line rises
            assert trend.locator("polyline").is_visible()

            funnel = page.locator("[data-testid=funnel-filed]")
            assert funnel.get_attribute("data-count") == "1"
            assert f"48{NARROW_NBSP}234,56{NBSP}₽" in funnel.inner_text()

            shot = tmp_path / "dashboard-charts.png"
            page.screenshot(path=str(shot), full_page=True)
            width, height, distinct = _png_facts(shot.read_bytes())
            assert width >= 1366 and height >= 900 and shot.stat().st_size > 20_000
            assert distinct > 64  # text, bars and lines, not a blank page
            chart_shot = ageing.screenshot(path=str(tmp_path / "ageing.png"))
            assert _png_facts(chart_shot)[2] > 16
        finally:
            browser.close()
