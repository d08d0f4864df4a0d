"""Win-back end to end: after the expected next order plus a margin, once per 90 days."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC
from datetime import datetime
from datetime import timedelta

import pytest
from flask.testing import FlaskCliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from shopify_app.db import Database
from shopify_app.models import Customer
from shopify_app.models import Message
from shopify_app.models import MessageStatus
from shopify_app.models import Shop
from tests.support import flows
from tests.support import lifecycle
from tests.support.mail import SmtpSink
from tests.support.mail import html_part

FLOW = "win_back"
T0 = datetime(2026, 4, 1, 12, 0, tzinfo=UTC)
LINE = {"product_id": 801, "variant_id": 8011, "title": "Candle", "quantity": 1}


@pytest.fixture
def shop(make_flow_shop: Callable[..., Shop]) -> Shop:
    return make_flow_shop(FLOW, at=T0, name="Wick & Co", email="hello@wick.example")


def buy(database: Database, shop: Shop, order_id: int, customer: int, at: datetime) -> None:
    payload = flows.order_payload(
        order_id,
        email=f"c{customer}@example.com",
        customer_id=customer,
        processed_at=at,
        lines=[LINE],
    )
    flows.store_order(database, shop.id, payload, at)


def customer_messages(session: Session, shopify_customer_id: int) -> list[Message]:
    customer_id = session.scalar(
        select(Customer.id).where(Customer.shopify_id == shopify_customer_id)
    )
    return [m for m in flows.messages(session, FLOW) if m.customer_id == customer_id]


@pytest.fixture
def regulars(database: Database, shop: Shop) -> None:
    """Three customers who reorder every 30 days: the shop's median gap is 30 days."""
    for index, customer in enumerate((9311, 9312, 9313)):
        buy(database, shop, 100 + index * 2, customer, T0 - timedelta(days=30))
        buy(database, shop, 101 + index * 2, customer, T0)


def test_win_back_goes_after_median_gap_times_factor_plus_margin_and_not_before(
    database: Database,
    shop: Shop,
    regulars: None,
    runner: FlaskCliRunner,
    smtp: SmtpSink,
    session: Session,
) -> None:
    buy(database, shop, 1, 9301, T0 - timedelta(days=30))
    buy(database, shop, 2, 9301, T0)
    flows.subscribe(database, shop.id, 9301, T0)
    # Expected next order: 30 days x 1.5 = day 45; with the 14-day margin it is due on day 59.

    flows.run_once(runner, T0 + timedelta(days=58))
    assert customer_messages(session, 9301) == []
    flows.run_once(runner, T0 + timedelta(days=59, hours=1))

    [message] = customer_messages(session, 9301)
    assert message.status == MessageStatus.SENT
    [email] = smtp.to("c9301@example.com")
    assert email["Subject"] == "We miss you at Wick & Co"
    assert "https://alpha.myshopify.com" in html_part(email)


def test_win_back_goes_once_per_90_days_to_the_same_customer(
    database: Database,
    shop: Shop,
    regulars: None,
    runner: FlaskCliRunner,
    smtp: SmtpSink,
    session: Session,
) -> None:
    buy(database, shop, 1, 9301, T0 - timedelta(days=30))
    buy(database, shop, 2, 9301, T0)
    flows.subscribe(database, shop.id, 9301, T0)

    flows.run_once(runner, T0 + timedelta(days=59, hours=1))
    flows.run_once(runner, T0 + timedelta(days=60, hours=1))
    flows.run_once(runner, T0 + timedelta(days=148, hours=1))
    assert len(smtp.to("c9301@example.com")) == 1
    flows.run_once(runner, T0 + timedelta(days=150, hours=1))

    assert len(customer_messages(session, 9301)) == 2
    assert len(smtp.to("c9301@example.com")) == 2


def test_win_back_needs_email_marketing_consent(
    database: Database,
    shop: Shop,
    regulars: None,
    runner: FlaskCliRunner,
    smtp: SmtpSink,
    session: Session,
) -> None:
    buy(database, shop, 1, 9302, T0 - timedelta(days=30))
    buy(database, shop, 2, 9302, T0)

    flows.run_once(runner, T0 + timedelta(days=59, hours=1))

    [message] = customer_messages(session, 9302)
    assert message.status == MessageStatus.SUPPRESSED
    assert message.status_reason == "not_subscribed"
    assert smtp.to("c9302@example.com") == []


def test_fitted_model_date_times_the_win_back_and_a_newer_order_stops_it(
    database: Database, shop: Shop, runner: FlaskCliRunner, smtp: SmtpSink, session: Session
) -> None:
    for customer, order_id in ((9303, 3), (9304, 4)):
        buy(database, shop, order_id, customer, T0)
        flows.subscribe(database, shop.id, customer, T0)
        customer_id = session.scalar(select(Customer.id).where(Customer.shopify_id == customer))
        session.commit()
        assert customer_id is not None
        lifecycle.predict_next_order(
            database,
            shop.id,
            customer_id,
            last_order_at=T0,
            next_order=(T0 + timedelta(days=20)).date(),
            now=T0,
        )
    buy(database, shop, 5, 9304, T0 + timedelta(days=25))  # ordered after the prediction

    flows.run_once(runner, T0 + timedelta(days=33, hours=1))
    assert customer_messages(session, 9303) == []
    flows.run_once(runner, T0 + timedelta(days=34, hours=1))

    assert len(smtp.to("c9303@example.com")) == 1
    assert customer_messages(session, 9304) == []
