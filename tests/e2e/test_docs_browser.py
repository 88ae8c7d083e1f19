"""Headless Chromium renders /docs and /redoc with every request kept on the gateway (no CDN, no network)."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from app.main import create_app
from tests.conftest import make_settings, new_database
from tests.live import serve_in_thread

CHROMIUM = shutil.which("chromium")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium is not installed"),
]


def test_docs_render_with_the_network_off(tmp_path: Path) -> None:
    from playwright.sync_api import Route, sync_playwright

    url = asyncio.run(new_database(tmp_path))
    with serve_in_thread(create_app(make_settings(url))) as base_url:
        outside: list[str] = []

        def only_local(route: Route) -> None:
            # The network is off: anything not asked of the gateway itself fails, as it would offline.
            if route.request.url.startswith(base_url):
                route.continue_()
            else:
                outside.append(route.request.url)
                route.abort("internetdisconnected")

        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=CHROMIUM,
                args=["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
            )  # fmt: skip
            try:
                page = browser.new_page(viewport={"width": 1366, "height": 900})
                page.route("**/*", only_local)
                page.goto(f"{base_url}/docs")
                page.wait_for_selector(".swagger-ui .opblock-tag", timeout=30_000)
                assert "debt-requests" in page.locator(".swagger-ui").inner_text()
                shot = tmp_path / "docs.png"
                page.screenshot(path=str(shot), full_page=False)
                assert shot.stat().st_size > 10_000
                page.goto(f"{base_url}/redoc")
                page.wait_for_selector("redoc [role=search], .menu-content", timeout=30_000)
                page.screenshot(path=str(tmp_path / "redoc.png"))
            finally:
                browser.close()
        # ReDoc's bundle loads its "powered by" logo from its vendor: cosmetic, the page renders without it.
        assert [u for u in outside if not u.endswith("/redoc/logo-mini.svg")] == []
