"""The outbox joins customer redaction, data export and uninstall."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC
from datetime import datetime
from datetime import timedelta

from sqlalchemy.orm import Session

from shopify_app import privacy
from shopify_app.db import Database
from shopify_app.messaging.flows import abandoned_checkout
from shopify_app.models import MessageStatus
from shopify_app.models import Shop
from shopify_app.store import shops
from tests.support import flows

T0 = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)
PLAN_AT = T0 + timedelta(hours=1, minutes=1)


def plan_reminder(database: Database, shop: Shop) -> None:
    payload = flows.checkout_payload(
        "tok-p", email="di@example.com", customer_id=7401, updated_at=T0
    )
    flows.store_checkout(database, shop.id, payload, T0)
    with database.session_scope() as work:
        assert abandoned_checkout.plan(work, shop_id=shop.id, now=PLAN_AT) == 1


def test_redacting_a_customer_cancels_and_scrubs_their_messages_and_exports_them_first(
    make_shop: Callable[..., Shop], database: Database, session: Session
) -> None:
    shop = make_shop()
    plan_reminder(database, shop)
    with database.session_scope() as work:
        stored = work.get(Shop, shop.id)
        assert stored is not None
        [exported] = privacy.CUSTOMER_EXPORTERS["messages"](work, stored, None, "di@example.com")
        assert exported["flow"] == "abandoned_checkout"

        privacy.redact_customer(
            work,
            shop=stored,
            customer_shopify_id=7401,
            email="di@example.com",
            order_ids=[],
            now=PLAN_AT,
        )

    [message] = flows.messages(session)
    assert (message.status, message.status_reason) == (MessageStatus.CANCELLED, "redacted")
    assert message.email is None
    assert message.context == {}


def test_uninstalling_cancels_pending_messages(
    make_shop: Callable[..., Shop], database: Database, session: Session
) -> None:
    shop = make_shop()
    plan_reminder(database, shop)
    with database.session_scope() as work:
        stored = work.get(Shop, shop.id)
        assert stored is not None
        assert shops.mark_uninstalled(work, shop=stored, now=PLAN_AT)

    [message] = flows.messages(session)
    assert (message.status, message.status_reason) == (MessageStatus.CANCELLED, "shop_uninstalled")
