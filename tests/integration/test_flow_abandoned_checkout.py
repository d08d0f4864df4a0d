"""Abandoned-checkout recovery end to end: upserts in, `jobs run-once` on a fixed clock."""

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
from shopify_app.messaging.flows import abandoned_checkout
from shopify_app.messaging.outbox import PlannedMessage
from shopify_app.messaging.outbox import plan_message
from shopify_app.models import MessageStatus
from shopify_app.models import Shop
from tests.support import flows
from tests.support.mail import SmtpSink
from tests.support.mail import html_part
from tests.support.mail import text_part

pytestmark = pytest.mark.usefixtures("smtp")

FLOW = "abandoned_checkout"
T0 = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)
CUSTOMER = 7001
BUYER = "ada@example.com"


@pytest.fixture
def shop(make_flow_shop: Callable[..., Shop]) -> Shop:
    return make_flow_shop(FLOW, at=T0)


def abandon(database: Database, shop: Shop, token: str = "tok-1", **fields: Any) -> None:
    fields.setdefault("email", BUYER)
    fields.setdefault("customer_id", CUSTOMER)
    payload = flows.checkout_payload(token, updated_at=T0, **fields)
    flows.store_checkout(database, shop.id, payload, T0)
    if fields["customer_id"] is not None:
        flows.subscribe(database, shop.id, fields["customer_id"], T0)


def test_first_reminder_goes_out_an_hour_after_the_last_update_with_lines_and_recovery_link(
    database: Database, shop: Shop, runner: FlaskCliRunner, smtp: SmtpSink, session: Session
) -> None:
    abandon(database, shop)

    flows.run_once(runner, T0 + timedelta(minutes=59))
    assert smtp.messages == []

    flows.run_once(runner, T0 + timedelta(hours=1, minutes=2))

    [email] = smtp.messages
    assert email["To"] == BUYER
    assert email["From"] == "Alpha Goods <retention@example.com>"
    assert email["Reply-To"] == "owner@alpha.example"
    assert email["List-Unsubscribe"].startswith("<https://retention.example.com/u/")
    assert email["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    html, text = html_part(email), text_part(email)
    assert "https://alpha.myshopify.com/checkouts/tok-1/recover" in html
    assert "https://alpha.myshopify.com/checkouts/tok-1/recover" in text
    assert "IPod Nano - 8GB" in html
    assert "Pink" in html
    [message] = flows.messages(session, FLOW)
    assert (message.step, message.status) == (1, MessageStatus.SENT)


def test_order_placed_between_steps_stops_the_series(
    database: Database, shop: Shop, runner: FlaskCliRunner, smtp: SmtpSink, session: Session
) -> None:
    abandon(database, shop)
    flows.run_once(runner, T0 + timedelta(hours=1, minutes=5))
    order = flows.order_payload(
        9001, email=BUYER, customer_id=CUSTOMER, processed_at=T0 + timedelta(hours=5)
    )
    flows.store_order(database, shop.id, order, T0 + timedelta(hours=5))

    flows.run_once(runner, T0 + timedelta(hours=24, minutes=5))
    flows.run_once(runner, T0 + timedelta(hours=72, minutes=5))

    assert len(smtp.messages) == 1
    assert [(m.step, m.status) for m in flows.messages(session, FLOW)] == [(1, MessageStatus.SENT)]


def test_order_by_the_same_customer_with_another_email_stops_the_series(
    database: Database, shop: Shop, runner: FlaskCliRunner, smtp: SmtpSink, session: Session
) -> None:
    abandon(database, shop)
    flows.run_once(runner, T0 + timedelta(hours=1, minutes=5))
    order = flows.order_payload(
        9002,
        email="ada.work@example.com",
        customer_id=CUSTOMER,
        processed_at=T0 + timedelta(hours=3),
    )
    flows.store_order(database, shop.id, order, T0 + timedelta(hours=3))

    flows.run_once(runner, T0 + timedelta(hours=24, minutes=5))

    assert len(smtp.to(BUYER)) == 1
    assert len(flows.messages(session, FLOW)) == 1


def test_order_placed_after_planning_cancels_the_step_at_send_time(
    database: Database, shop: Shop, runner: FlaskCliRunner, smtp: SmtpSink, session: Session
) -> None:
    abandon(database, shop)
    with database.session_scope() as arrange:
        assert abandoned_checkout.plan(arrange, shop_id=shop.id, now=T0 + timedelta(hours=1)) == 1
    order = flows.order_payload(
        9003,
        email=BUYER,
        customer_id=CUSTOMER,
        checkout_token="tok-1",
        processed_at=T0 + timedelta(minutes=61),
    )
    flows.store_order(database, shop.id, order, T0 + timedelta(minutes=61))

    flows.run_once(runner, T0 + timedelta(minutes=62))

    assert smtp.messages == []
    [message] = flows.messages(session, FLOW)
    assert message.status == MessageStatus.CANCELLED
    assert message.status_reason in {"order_placed", "checkout_completed"}


def test_newer_checkout_by_the_same_buyer_replaces_the_older_series(
    database: Database, shop: Shop, runner: FlaskCliRunner, smtp: SmtpSink, session: Session
) -> None:
    abandon(database, shop, token="old")
    flows.run_once(runner, T0 + timedelta(hours=1, minutes=5))
    newer = flows.checkout_payload(
        "new", email=BUYER, customer_id=CUSTOMER, updated_at=T0 + timedelta(hours=2)
    )
    flows.store_checkout(database, shop.id, newer, T0 + timedelta(hours=2))

    flows.run_once(runner, T0 + timedelta(hours=3, minutes=5))
    flows.run_once(runner, T0 + timedelta(hours=24, minutes=5))

    planned = [(m.checkout_token, m.step, m.status) for m in flows.messages(session, FLOW)]
    assert ("old", 2, MessageStatus.SENT) not in planned
    assert [p for p in planned if p[0] == "old"] == [("old", 1, MessageStatus.SENT)]
    assert ("new", 1, MessageStatus.SENT) in planned


def test_planning_twice_creates_one_message(
    database: Database, shop: Shop, session: Session
) -> None:
    abandon(database, shop)
    at = T0 + timedelta(hours=1, minutes=1)
    with database.session_scope() as first:
        assert abandoned_checkout.plan(first, shop_id=shop.id, now=at) == 1
    with database.session_scope() as second:
        assert abandoned_checkout.plan(second, shop_id=shop.id, now=at) == 0
        again = PlannedMessage(
            flow=abandoned_checkout.FLOW,
            step=1,
            dedupe_key=f"{FLOW}:tok-1:1",
            due_at=at,
            email=BUYER,
        )
        is_new = plan_message(second, shop_id=shop.id, message=again, holdout_share=0, now=at)
        assert is_new is False

    assert len(flows.messages(session, FLOW)) == 1


def test_buyer_without_marketing_consent_is_suppressed_unless_the_audience_is_everyone(
    database: Database, shop: Shop, runner: FlaskCliRunner, smtp: SmtpSink, session: Session
) -> None:
    flows.store_checkout(
        database,
        shop.id,
        flows.checkout_payload("guest", email="guest@example.com", updated_at=T0),
        T0,
    )
    flows.run_once(runner, T0 + timedelta(hours=1, minutes=5))
    [message] = flows.messages(session, FLOW)
    assert (message.status, message.status_reason) == (MessageStatus.SUPPRESSED, "not_subscribed")

    flows.configure(database, shop.id, FLOW, T0, audience="everyone")
    flows.run_once(runner, T0 + timedelta(hours=24, minutes=5))

    assert len(smtp.to("guest@example.com")) == 1


def test_html_in_names_and_product_titles_is_escaped_in_the_email(
    database: Database, shop: Shop, runner: FlaskCliRunner, smtp: SmtpSink
) -> None:
    abandon(
        database,
        shop,
        first_name="<b>Ada</b>",
        lines=[{"title": "<script>alert(1)</script> Mug", "variant_title": "<i>Blue</i>"}],
    )

    flows.run_once(runner, T0 + timedelta(hours=1, minutes=5))

    html = html_part(smtp.messages[0])
    assert "<script>" not in html
    assert "<b>Ada</b>" not in html
    assert "<i>Blue</i>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Mug" in html
    assert "&lt;b&gt;Ada&lt;/b&gt;" in html
