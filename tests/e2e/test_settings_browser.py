"""The embedded Settings page in a real headless Chromium, with App Bridge stood in for."""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest

from shopify_app.models import Shop
from tests.support.fixtures.browser import WAIT_MS
from tests.support.shopify import make_session_token

pytest.importorskip("playwright.sync_api")

pytestmark = pytest.mark.browser

SHOP = "alpha.myshopify.com"


@pytest.fixture
def page(browser: Any, live_server: str, make_shop: Callable[..., Shop]) -> Iterator[Any]:
    """Open /settings as the admin would, with App Bridge handing out session tokens."""
    make_shop(SHOP, name="Leaf & Stone")
    tab = browser.new_page()
    tab.set_default_timeout(WAIT_MS)
    tab.route(
        "**/*",
        lambda route: (
            route.continue_() if route.request.url.startswith(live_server) else route.abort()
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
    response = tab.goto(f"{live_server}/settings?{query}")
    assert response is not None
    assert response.status == 200
    tab.wait_for_selector('#flows[data-state="ready"]')
    yield tab
    tab.close()


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
