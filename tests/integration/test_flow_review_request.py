"""Review and NPS requests end to end: timed from delivery, once per order, never for refunds."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from typing import Any

import pytest
from flask.testing import FlaskCliRunner
from sqlalchemy.orm import Session

from shopify_app.db import Database
from shopify_app.messaging.flows import review_request
from shopify_app.models import MessageStatus
from shopify_app.models import Shop
from tests.support import flows
from tests.support import lifecycle
from tests.support.mail import SmtpSink
from tests.support.mail import html_part
from tests.support.mail import text_part

FLOW = "review_request"
T0 = datetime(2026, 4, 1, 12, 0, tzinfo=UTC)
BUYER = "rita@example.com"
CUSTOMER = 9101
TEA = {"product_id": 701, "variant_id": 7011, "title": "Green tea", "name": "Green tea"}
MUG = {"product_id": 702, "variant_id": 7021, "title": "Stone mug", "name": "Stone mug"}


@pytest.fixture
def shop(make_flow_shop: Callable[..., Shop]) -> Shop:
    return make_flow_shop(FLOW, at=T0, name="Leaf & Stone", email="hello@leaf.example")


def buy(database: Database, shop: Shop, order_id: int, *, lines: list[dict[str, Any]]) -> None:
    payload = flows.order_payload(
        order_id, email=BUYER, customer_id=CUSTOMER, processed_at=T0, lines=lines
    )
    payload["name"] = f"#{order_id}"
    flows.store_order(database, shop.id, payload, T0)


def test_request_goes_seven_days_after_delivery_with_nps_and_review_links(
    database: Database, shop: Shop, runner: FlaskCliRunner, smtp: SmtpSink, session: Session
) -> None:
    buy(database, shop, 1, lines=[{**TEA, "quantity": 1}, {**MUG, "quantity": 2}])
    delivered = T0 + timedelta(days=3)
    lifecycle.fulfill(
        database,
        shop.id,
        order_shopify_id=1,
        fulfillment_id=11,
        at=T0 + timedelta(days=1),
        delivered_at=delivered,
    )

    flows.run_once(runner, delivered + timedelta(days=6, hours=23))
    assert flows.messages(session, FLOW) == []
    flows.run_once(runner, delivered + timedelta(days=7, hours=1))

    [message] = flows.messages(session, FLOW)
    assert message.status == MessageStatus.SENT
    assert message.due_at == delivered + timedelta(days=7)
    [email] = smtp.to(BUYER)
    html = html_part(email)
    assert "How likely are you to recommend us?" in html
    assert sorted(lifecycle.nps_links(email)) == list(range(11))
    assert "https://alpha.myshopify.com/search?type=product&amp;q=Green+tea" in html
    assert "https://alpha.myshopify.com/search?type=product&amp;q=Stone+mug" in html
    assert "How likely are you to recommend us?" in text_part(email)
    assert email["List-Unsubscribe"]


def test_without_a_delivery_event_the_request_goes_fourteen_days_after_fulfillment(
    database: Database, shop: Shop, runner: FlaskCliRunner, smtp: SmtpSink, session: Session
) -> None:
    buy(database, shop, 2, lines=[{**TEA, "quantity": 1}])
    shipped = T0 + timedelta(days=1)
    lifecycle.fulfill(database, shop.id, order_shopify_id=2, fulfillment_id=21, at=shipped)

    flows.run_once(runner, shipped + timedelta(days=13, hours=23))
    assert smtp.messages == []
    flows.run_once(runner, shipped + timedelta(days=14, hours=1))

    [message] = flows.messages(session, FLOW)
    assert message.due_at == shipped + timedelta(days=14)
    assert len(smtp.to(BUYER)) == 1


def test_fully_refunded_line_is_left_out_of_the_request(
    database: Database, shop: Shop, runner: FlaskCliRunner, smtp: SmtpSink
) -> None:
    buy(database, shop, 3, lines=[{**TEA, "quantity": 1}, {**MUG, "quantity": 2}])
    lifecycle.fulfill(
        database,
        shop.id,
        order_shopify_id=3,
        fulfillment_id=31,
        at=T0,
        delivered_at=T0 + timedelta(days=2),
    )
    due = T0 + timedelta(days=9)
    with database.session_scope() as planning:
        assert review_request.plan(planning, shop_id=shop.id, now=due) == 1
    # The mug line (line item id 3 * 10 + 1) is refunded in full after the request was planned.
    lifecycle.refund(
        database, shop.id, order_shopify_id=3, refund_id=301, line_item_id=31, quantity=2, at=due
    )
    flows.run_once(runner, due + timedelta(minutes=5))

    [email] = smtp.to(BUYER)
    html = html_part(email)
    assert "Green tea" in html
    assert "Stone mug" not in html


def test_order_refunded_in_full_gets_no_request(
    database: Database, shop: Shop, runner: FlaskCliRunner, smtp: SmtpSink, session: Session
) -> None:
    buy(database, shop, 4, lines=[{**TEA, "quantity": 1}, {**MUG, "quantity": 1}])
    buy(database, shop, 5, lines=[{**TEA, "quantity": 1}])
    for order_id in (4, 5):
        lifecycle.fulfill(
            database,
            shop.id,
            order_shopify_id=order_id,
            fulfillment_id=order_id * 10,
            at=T0,
            delivered_at=T0 + timedelta(days=2),
        )
    lifecycle.refund(
        database,
        shop.id,
        order_shopify_id=4,
        refund_id=401,
        line_item_id=40,
        quantity=1,
        at=T0 + timedelta(days=3),
    )
    lifecycle.refund(
        database,
        shop.id,
        order_shopify_id=4,
        refund_id=402,
        line_item_id=41,
        quantity=1,
        at=T0 + timedelta(days=3),
    )
    due = T0 + timedelta(days=9)
    with database.session_scope() as planning:
        assert review_request.plan(planning, shop_id=shop.id, now=due) == 1  # order 5 only
    # Order 5 is refunded in full between planning and sending.
    lifecycle.refund(
        database, shop.id, order_shopify_id=5, refund_id=501, line_item_id=50, quantity=1, at=due
    )
    flows.run_once(runner, due + timedelta(minutes=5))

    assert smtp.messages == []
    [message] = flows.messages(session, FLOW)
    assert message.status == MessageStatus.CANCELLED
    assert message.status_reason == "refunded"


def test_cancelled_order_gets_no_request(
    database: Database, shop: Shop, runner: FlaskCliRunner, smtp: SmtpSink, session: Session
) -> None:
    buy(database, shop, 6, lines=[{**TEA, "quantity": 1}])
    lifecycle.fulfill(
        database,
        shop.id,
        order_shopify_id=6,
        fulfillment_id=61,
        at=T0,
        delivered_at=T0 + timedelta(days=1),
    )
    lifecycle.cancel(database, shop.id, 6, T0 + timedelta(days=2))
    flows.run_once(runner, T0 + timedelta(days=8, hours=1))

    assert smtp.messages == []
    assert flows.messages(session, FLOW) == []


def test_request_is_planned_once_per_order_even_when_planned_twice(
    database: Database, shop: Shop, runner: FlaskCliRunner, smtp: SmtpSink, session: Session
) -> None:
    buy(database, shop, 7, lines=[{**TEA, "quantity": 1}, {**MUG, "quantity": 1}])
    # Two parcels of one order, both delivered.
    lifecycle.fulfill(
        database,
        shop.id,
        order_shopify_id=7,
        fulfillment_id=71,
        at=T0,
        delivered_at=T0 + timedelta(days=1),
    )
    lifecycle.fulfill(
        database,
        shop.id,
        order_shopify_id=7,
        fulfillment_id=72,
        at=T0,
        delivered_at=T0 + timedelta(days=2),
    )
    at = T0 + timedelta(days=9, hours=1)
    with database.session_scope() as planning:
        first = review_request.plan(planning, shop_id=shop.id, now=at)
    with database.session_scope() as planning:
        second = review_request.plan(planning, shop_id=shop.id, now=at)
    flows.run_once(runner, at)
    flows.run_once(runner, at + timedelta(hours=1))

    assert (first, second) == (1, 0)
    assert len(flows.messages(session, FLOW)) == 1
    assert len(smtp.to(BUYER)) == 1
