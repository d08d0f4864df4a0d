"""Checkout topics: keyed by token, ended by completion, deletion or an order."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.orm import Session

from shopify_app.models import Checkout
from shopify_app.models import Customer
from shopify_app.models import Shop
from tests.support.handlers import deliver
from tests.support.payloads import load_payload

SAMPLE_TIME = datetime(2022, 1, 1, 0, 0, tzinfo=UTC)


def stored_checkout(session: Session) -> Checkout:
    session.expire_all()
    checkout = session.scalar(select(Checkout).where(Checkout.token == "123123123"))
    assert checkout is not None
    return checkout


@pytest.mark.parametrize("topic", ["checkouts/create", "checkouts/update"])
def test_checkout_samples_land_keyed_by_token_with_lines_totals_and_recovery_link(
    topic: str, session: Session, shop: Shop, now: datetime
) -> None:
    deliver(session, shop, topic, load_payload(topic.replace("/", "__")), now=now)

    checkout = stored_checkout(session)
    assert checkout.cart_token == "eeafa272cebfd4b22385bc4b645e762c"
    assert checkout.email == "example@email.com"
    assert checkout.buyer_accepts_marketing is False
    assert checkout.abandoned_checkout_url == (
        "https://checkout.local/548380009/checkouts/123123123/recover?key=example-secret-token"
    )
    assert (checkout.currency, checkout.total_price, checkout.subtotal_price) == (
        "USD",
        Decimal("421.88"),
        Decimal("398.00"),
    )
    assert checkout.shopify_created_at == SAMPLE_TIME
    assert checkout.is_open is True
    assert len(checkout.line_items) == 2
    assert checkout.line_items[0] == {
        "title": "IPod Nano - 8GB",
        "variant_title": "Pink",
        "quantity": 1,
        "price": "199.00",
        "product_id": 632910392,
        "variant_id": 808950810,
        "sku": "IPOD2008PINK",
    }
    customer = session.get(Customer, checkout.customer_id)
    assert customer is not None
    assert customer.shopify_id == 603851970716743426


def test_the_same_checkout_delivery_five_times_stores_one_checkout(
    session: Session, shop: Shop, now: datetime
) -> None:
    for _ in range(5):
        deliver(
            session,
            shop,
            "checkouts/create",
            load_payload("checkouts__create"),
            now=now,
            webhook_id="same-checkout",
        )

    assert session.scalar(select(func.count()).select_from(Checkout)) == 1
    assert len(stored_checkout(session).line_items) == 2


def test_completed_at_ends_the_checkout_and_an_older_update_cannot_reopen_it(
    session: Session, shop: Shop, now: datetime
) -> None:
    completed = load_payload("checkouts__update")
    completed["updated_at"] = (SAMPLE_TIME + timedelta(hours=1)).isoformat()
    completed["completed_at"] = (SAMPLE_TIME + timedelta(hours=1)).isoformat()
    deliver(session, shop, "checkouts/update", completed, now=now)
    deliver(session, shop, "checkouts/create", load_payload("checkouts__create"), now=now)

    checkout = stored_checkout(session)
    assert checkout.completed_at == SAMPLE_TIME + timedelta(hours=1)
    assert checkout.is_open is False


def test_a_newer_update_replaces_lines_and_email(
    session: Session, shop: Shop, now: datetime
) -> None:
    deliver(session, shop, "checkouts/create", load_payload("checkouts__create"), now=now)
    update = load_payload("checkouts__update")
    update["updated_at"] = (SAMPLE_TIME + timedelta(minutes=5)).isoformat()
    update["email"] = "new@example.com"
    update["line_items"] = update["line_items"][:1]
    update["line_items"][0]["quantity"] = 3

    deliver(session, shop, "checkouts/update", update, now=now)

    checkout = stored_checkout(session)
    assert checkout.email == "new@example.com"
    assert [line["quantity"] for line in checkout.line_items] == [3]


def test_checkouts_delete_sample_without_token_ends_the_checkout_by_cart_token(
    session: Session, shop: Shop, now: datetime
) -> None:
    deliver(session, shop, "checkouts/create", load_payload("checkouts__create"), now=now)

    deliver(
        session,
        shop,
        "checkouts/delete",
        load_payload("checkouts__delete"),
        now=now,
        triggered_at=now,
    )

    checkout = stored_checkout(session)
    assert checkout.deleted_at == now
    assert checkout.is_open is False
