"""Replenishment reminders end to end: intervals set or learned, reminders cancelled by reorders."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from decimal import Decimal

import pytest
from flask.testing import FlaskCliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from shopify_app.db import Database
from shopify_app.messaging.flows import replenishment
from shopify_app.models import MessageStatus
from shopify_app.models import ReplenishmentInterval
from shopify_app.models import Shop
from tests.support import flows
from tests.support.mail import SmtpSink
from tests.support.mail import html_part

pytestmark = pytest.mark.usefixtures("smtp")

FLOW = "replenishment"
T0 = datetime(2026, 4, 1, 12, 0, tzinfo=UTC)
COFFEE = {"product_id": 501, "variant_id": 5011, "title": "Coffee beans 1kg", "name": "Coffee"}
CUSTOMER = 8001
BUYER = "bo@example.com"


@pytest.fixture
def shop(make_flow_shop: Callable[..., Shop]) -> Shop:
    return make_flow_shop(
        FLOW, at=T0, name="Beans & Co", email="hello@beans.example", intervals={"501": 15.0}
    )


def buy(
    database: Database,
    shop: Shop,
    order_id: int,
    at: datetime,
    quantity: int = 2,
    customer_id: int = CUSTOMER,
    email: str = BUYER,
) -> None:
    payload = flows.order_payload(
        order_id,
        email=email,
        customer_id=customer_id,
        processed_at=at,
        lines=[{**COFFEE, "quantity": quantity, "price": "20.00"}],
    )
    flows.store_order(database, shop.id, payload, at)
    flows.subscribe(database, shop.id, customer_id, at)


def test_reminder_goes_out_days_before_run_out_scaled_by_quantity_with_a_cart_link(
    database: Database, shop: Shop, runner: FlaskCliRunner, smtp: SmtpSink, session: Session
) -> None:
    buy(database, shop, 1, T0, quantity=2)  # 2 units x 15 days: runs out on day 30
    flows.run_once(runner, T0 + timedelta(hours=1))
    [message] = flows.messages(session, FLOW)
    assert message.due_at == T0 + timedelta(days=25)

    flows.run_once(runner, T0 + timedelta(days=24, hours=23))
    assert smtp.messages == []
    flows.run_once(runner, T0 + timedelta(days=25, hours=1))

    [email] = smtp.to(BUYER)
    assert "Coffee beans 1kg" in email["Subject"]
    assert "https://alpha.myshopify.com/cart/5011:2" in html_part(email)


def test_reorder_before_the_reminder_cancels_it(
    database: Database, shop: Shop, runner: FlaskCliRunner, smtp: SmtpSink, session: Session
) -> None:
    buy(database, shop, 1, T0, quantity=2)
    flows.run_once(runner, T0 + timedelta(hours=1))
    buy(database, shop, 2, T0 + timedelta(days=20), quantity=1)
    flows.run_once(runner, T0 + timedelta(days=20, hours=1))

    flows.run_once(runner, T0 + timedelta(days=25, hours=1))

    assert smtp.messages == []
    by_order = {m.order_id: m for m in flows.messages(session, FLOW)}
    statuses = sorted((m.status, m.status_reason) for m in by_order.values())
    assert (MessageStatus.CANCELLED, "reordered") in statuses
    # The reorder plans its own reminder: 1 unit x 15 days, 5 days ahead -> day 30.
    assert sorted(m.due_at for m in by_order.values())[-1] == T0 + timedelta(days=30)


def test_reorder_that_arrives_after_planning_cancels_the_reminder_at_send_time(
    database: Database, shop: Shop, runner: FlaskCliRunner, smtp: SmtpSink, session: Session
) -> None:
    buy(database, shop, 1, T0, quantity=2)
    flows.run_once(runner, T0 + timedelta(hours=1))
    # The reorder arrives late (e.g. a backfill): the planner never sees it, the exit check does.
    old = flows.order_payload(
        3,
        email=BUYER,
        customer_id=CUSTOMER,
        processed_at=T0 + timedelta(days=10),
        lines=[{**COFFEE, "quantity": 1}],
    )
    flows.store_order(database, shop.id, old, T0 + timedelta(days=25))

    flows.run_once(runner, T0 + timedelta(days=25, hours=1))

    assert smtp.messages == []
    [message] = flows.messages(session, FLOW)
    assert (message.status, message.status_reason) == (MessageStatus.CANCELLED, "reordered")


def test_intervals_are_learned_from_repeat_purchases_once_there_are_enough_pairs(
    database: Database, shop: Shop, session: Session
) -> None:
    flows.configure(database, shop.id, FLOW, T0, intervals={}, min_repeat_pairs=3)
    start = T0 - timedelta(days=200)
    for n, gap in enumerate([28, 30, 32]):
        customer = 9100 + n
        email = f"c{n}@example.com"
        buy(database, shop, 100 + 2 * n, start, quantity=1, customer_id=customer, email=email)
        buy(
            database,
            shop,
            101 + 2 * n,
            start + timedelta(days=gap),
            quantity=1,
            customer_id=customer,
            email=email,
        )

    with database.session_scope() as work:
        assert replenishment.learn_intervals(work, shop_id=shop.id, now=T0) >= 1
    learned = session.scalar(
        select(ReplenishmentInterval).where(
            ReplenishmentInterval.product_id == 501, ReplenishmentInterval.variant_id == 0
        )
    )
    assert learned is not None
    assert (learned.days_per_unit, learned.repeat_pairs) == (Decimal("30.00"), 3)


def test_no_reminder_without_an_interval_set_or_learned(
    database: Database, shop: Shop, runner: FlaskCliRunner, session: Session
) -> None:
    flows.configure(database, shop.id, FLOW, T0, intervals={})
    buy(database, shop, 1, T0)

    flows.run_once(runner, T0 + timedelta(hours=1))

    assert flows.messages(session, FLOW) == []
