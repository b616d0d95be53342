"""MONARC Stats v1's Swagger UI page works in a real browser: headless Chromium loads
`/api/v1/` from the stand-in, its scripts from `/swaggerui/`, and renders the service's own
Swagger 2.0 document."""
from __future__ import annotations

from pathlib import Path

import pytest

from apitwin.server.core.app import create
from conformance_helpers import serving
from test_browser_clients import CHROMIUM, FLAGS

sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed: make install")
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Chromium is not installed (see test_browser_clients)")


def test_the_swagger_ui_page_renders_the_services_document(tmp_path):
    _, app = create("monarc-v1")
    refused = []
    with serving(app) as url, sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch_persistent_context(
            str(tmp_path), executable_path=CHROMIUM, headless=True, args=FLAGS)
        try:
            tab = browser.new_page()
            tab.set_default_timeout(60_000)
            tab.on("response", lambda answer: refused.append(answer.url) if answer.status >= 400 else None)
            tab.goto(f"{url}/api/v1/")
            tab.wait_for_selector(".opblock-tag")
            assert tab.locator(".info .title").inner_text().startswith("MONARC Stats service - API v1")
            assert [tag.strip() for tag in tab.locator(".opblock-tag a span").all_inner_texts()] == \
                ["client", "stats", "processed"]
        finally:
            browser.close()
    # Flask-RESTX's Droid Sans stylesheet is not shipped: the page falls back to another font.
    assert refused == [f"{url}/swaggerui/droid-sans.css"]
