"""The embedded Settings page in a real headless Chromium, with App Bridge stood in for."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from flask import Flask
from werkzeug.serving import make_server

from shopify_app.models import Shop
from tests.support import database as test_db
from tests.support.shopify import make_session_token

playwright_sync = pytest.importorskip("playwright.sync_api")

pytestmark = pytest.mark.browser

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]
SHOP = "alpha.myshopify.com"
WAIT_MS = 15_000


@pytest.fixture
def database_url(tmp_path: Path, sqlite_template: Path) -> str:
    """Run on SQLite only: these tests are about the page, not the database."""
    return test_db.fresh_sqlite_copy(sqlite_template, tmp_path / "app.sqlite3")


@pytest.fixture
def page(app: Flask, make_shop: Callable[..., Shop]) -> Iterator[Any]:
    """Open /settings as the admin would, with App Bridge handing out session tokens."""
    if not CHROMIUM.exists():
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(f"Chromium not found at {CHROMIUM}")
        pytest.skip(f"Chromium not found at {CHROMIUM}")
    make_shop(SHOP, name="Leaf & Stone")
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    with playwright_sync.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        tab = browser.new_page()
        tab.set_default_timeout(WAIT_MS)
        tab.route(
            "**/*",
            lambda route: (
                route.continue_() if route.request.url.startswith(base) else route.abort()
            ),
        )
        tab.expose_function("__mintSessionToken", lambda: make_session_token(SHOP))
        tab.add_init_script("window.shopify = { idToken: () => window.__mintSessionToken() };")
        query = urlencode(
            {
                "shop": SHOP,
                "host": "YWRtaW4uc2hvcGlmeS5jb20vc3RvcmUvYWxwaGE",
                "embedded": "1",
                "id_token": make_session_token(SHOP),
            }
        )
        response = tab.goto(f"{base}/settings?{query}")
        assert response is not None
        assert response.status == 200
        tab.wait_for_selector('#flows[data-state="ready"]')
        yield tab
        browser.close()
    server.shutdown()
    thread.join()


def test_bad_value_shows_why_and_a_good_one_is_saved(page: Any) -> None:
    form = page.locator('form[aria-label="Review and NPS requests"]')
    form.locator('input[name="days_after_delivery"]').fill("99")
    form.get_by_role("button", name="Save").click()
    form.locator(".field-error").wait_for()

    assert "days_after_delivery" in form.locator(".field-error").inner_text()
    assert "between 0 and 60" in form.locator(".field-error").inner_text()

    form.locator('input[name="days_after_delivery"]').fill("5")
    form.get_by_role("button", name="Save").click()
    form.locator(".saved").wait_for()
    page.reload()
    page.wait_for_selector('#flows[data-state="ready"]')
    assert (
        page.locator(
            'form[aria-label="Review and NPS requests"] input[name="days_after_delivery"]'
        ).input_value()
        == "5"
    )


def test_audience_widening_is_explained_next_to_the_abandoned_checkout_choice(page: Any) -> None:
    form = page.locator('form[aria-label="Abandoned checkout"]')

    assert "everyone" in form.locator(".explain").inner_text()
    assert "consent" in form.locator(".explain").inner_text()
    assert form.locator('select[name="audience"]').input_value() == "subscribers"


def test_template_preview_renders_in_a_sandboxed_frame_and_a_broken_one_is_refused(
    page: Any,
) -> None:
    page.select_option("#template-flow", "review_request")
    page.wait_for_function(
        "document.getElementById('template-subject').value.includes('How was your order')"
    )
    page.click("#template-preview")
    page.locator("#preview").wait_for()
    frame = page.frame_locator("#preview-frame")

    assert page.get_attribute("#preview-frame", "sandbox") == ""
    assert "Tea & Honey <Gift Box>" in frame.locator("body").inner_text()
    assert "How likely are you to recommend us?" in frame.locator("body").inner_text()

    page.fill("#template-html", "{{ ''.__class__.__mro__ }}")
    page.click("#template-save")
    page.locator("#template-error").wait_for()
    assert "unsafe" in page.locator("#template-error").inner_text()
    assert page.locator("#template-status").inner_text() == "Not saved."
