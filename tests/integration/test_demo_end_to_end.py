"""A small demo run end to end: imported history, live webhooks over HTTP, jobs on a fast clock."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func
from sqlalchemy import select

from jobs.predictions import refresh_shop_predictions
from shopify_app.context import get_settings
from shopify_app.db import get_database
from shopify_app.demo import DEMO_SHOP_DOMAIN
from shopify_app.demo.deliveries import DeliveryOptions
from shopify_app.demo.deliveries import WebhookTarget
from shopify_app.demo.player import DemoStore
from shopify_app.demo.player import deliver
from shopify_app.local_run import install_demo_shop
from shopify_app.local_run import run_flow_jobs
from shopify_app.models import DeliveryStatus
from shopify_app.models import WebhookDelivery
from shopify_app.models.message import Message
from shopify_app.models.message import MessageStatus
from tests.support.mail import SmtpSink
from tests.support.shopify import make_session_token
from webhooks.worker import drain

pytestmark = pytest.mark.slow

START = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
FLOWS = {"abandoned_checkout", "replenishment", "review_request", "win_back"}


@pytest.fixture
def database_backend() -> str:
    """This test is about the product working end to end; one backend is enough."""
    return "sqlite"


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"APP_URL": "http://127.0.0.1:5000", "DEMO_MODE": True}


@pytest.fixture
def live_url(live_server: str) -> str:
    return live_server


def test_small_demo_fills_the_dashboard_and_sends_an_email_of_every_flow(
    app: Flask, live_url: str, smtp: SmtpSink
) -> None:
    database = get_database(app)
    shop_id = install_demo_shop(app, now=START)
    target = WebhookTarget(base_url=live_url, api_secret=get_settings(app).shopify_api_secret)
    store = DemoStore(target=target, now=START, seed=11, customers=100)

    history = store.import_history(database.session_factory, shop_id=shop_id)
    refresh_shop_predictions(app, shop_id, now=START)

    future = store.future()
    upcoming = next(future)
    moment = START
    quiet = DeliveryOptions(duplicate_share=0.0, out_of_order_share=0.0, senders=2)
    for _ in range(4 * 21):  # three simulated weeks (replenishment needs ~2) in 6-hour steps
        moment += timedelta(hours=6)
        batch = []
        while upcoming.occurred_at <= moment:
            batch.append(upcoming)
            upcoming = next(future)
        deliver(batch, target=target, options=quiet)
        drain(database, now=moment)
        run_flow_jobs(app, now=moment)

    assert history.failed == 0
    assert history.delivered > 1000
    with database.session_scope() as session:
        left = session.scalar(
            select(func.count())
            .select_from(WebhookDelivery)
            .where(WebhookDelivery.status.in_([DeliveryStatus.DEAD, DeliveryStatus.PENDING]))
        )
        sent = dict(
            session.execute(
                select(Message.flow, func.count())
                .where(Message.status == MessageStatus.SENT)
                .group_by(Message.flow)
            ).all()
        )
    assert left == 0
    assert {flow for flow, count in sent.items() if count > 0} >= FLOWS, sent
    assert len(smtp.messages) == sum(sent.values())

    token = make_session_token(DEMO_SHOP_DOMAIN)
    client = app.test_client()
    kpis = client.get(
        "/api/kpis?from=2025-03-02&to=2026-03-01", headers={"Authorization": f"Bearer {token}"}
    ).get_json()
    assert kpis["orders"] > 100
    assert kpis["customers"] > 50
    assert 0 < kpis["repeat_purchase_rate"] < 1
