"""The local outbox shows each email a flow sent, as the customer would see it."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner

from shopify_app.db import Database
from shopify_app.models import Shop
from tests.support import flows
from tests.support.mail import SmtpSink

pytestmark = pytest.mark.browser

T0 = datetime(2026, 3, 9, 15, 0, tzinfo=UTC)
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
README_IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"APP_URL": "http://127.0.0.1:5000", "DEMO_MODE": True}


@pytest.fixture
def live_server(live_server: str, app: Flask, tmp_path: Path) -> str:
    """Serve the demo outbox from this test's own folder."""
    app.extensions["demo_outbox_dir"] = tmp_path / "outbox"
    return live_server


def test_outbox_lists_a_sent_recovery_email_and_shows_it_as_the_customer_sees_it(
    app: Flask,
    make_shop: Callable[..., Shop],
    database: Database,
    runner: FlaskCliRunner,
    smtp: SmtpSink,
    live_server: str,
    browser: Any,
    tmp_path: Path,
) -> None:
    shop = make_shop(
        "retention-demo.myshopify.com",
        name="Retention Demo Store",
        email="owner@demo.example",
        iana_timezone="UTC",
    )
    flows.configure(database, shop.id, "abandoned_checkout", T0, holdout_share=0.0)
    payload = flows.checkout_payload(
        "tok-9", updated_at=T0, email="ada@example.com", customer_id=9001
    )
    flows.store_checkout(database, shop.id, payload, T0)
    flows.subscribe(database, shop.id, 9001, T0)
    flows.run_once(runner, T0 + timedelta(hours=1, minutes=5))
    [email] = smtp.messages
    outbox = tmp_path / "outbox"
    outbox.mkdir()
    (outbox / "20260309T160500-00001.eml").write_bytes(bytes(email))

    page = browser.new_context(viewport={"width": 1100, "height": 1300}).new_page()
    page.goto(f"{live_server}/demo/outbox")
    link = page.get_by_role("link", name=str(email["Subject"]))
    assert page.get_by_text("ada@example.com").is_visible()
    link.click()
    page.wait_for_load_state("load")
    frame = page.frame_locator("iframe")
    assert frame.get_by_text("IPod Nano - 8GB").first.is_visible()
    assert page.get_by_text("List-Unsubscribe-Post").is_visible()

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "email.png"), full_page=True)
    README_IMAGES.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(ARTIFACTS / "email.png", README_IMAGES / "email.png")
    assert (README_IMAGES / "email.png").stat().st_size > 10_000
