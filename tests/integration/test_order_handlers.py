"""Order, refund and fulfillment topics keep an idempotent, order-independent local model."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.orm import Session

from shopify_app.models import Checkout
from shopify_app.models import Customer
from shopify_app.models import Fulfillment
from shopify_app.models import Order
from shopify_app.models import OrderLine
from shopify_app.models import Refund
from shopify_app.models import RefundLine
from shopify_app.models import Shop
from shopify_app.store.parent_orders import OrderNotYetKnown
from tests.support.handlers import deliver
from tests.support.payloads import load_payload
from webhooks.processing import InvalidPayload

ORDER_ID = 820982911946154508
SAMPLE_TIME = datetime(2022, 1, 1, 0, 0, tzinfo=UTC)  # 2021-12-31T19:00:00-05:00
ORDER_TOPICS = [
    "orders/create",
    "orders/updated",
    "orders/paid",
    "orders/fulfilled",
    "orders/cancelled",
]


def order_version(updated_at: datetime, **changes: Any) -> dict[str, Any]:
    payload = load_payload("orders__updated")
    payload["updated_at"] = updated_at.isoformat()
    payload.update(changes)
    return payload


def stored_order(session: Session) -> Order:
    session.expire_all()
    order = session.scalar(select(Order).where(Order.shopify_id == ORDER_ID))
    assert order is not None
    return order


@pytest.mark.parametrize("topic", ORDER_TOPICS)
def test_every_orders_sample_lands_with_shop_money_lines_and_customer(
    topic: str, session: Session, shop: Shop, now: datetime
) -> None:
    deliver(session, shop, topic, load_payload(topic.replace("/", "__")), now=now)

    order = stored_order(session)
    assert order.name == "#9999"
    assert order.total_price == Decimal("404.95")
    assert order.subtotal_price == Decimal("404.95")
    assert order.total_discounts == Decimal("20.00")
    assert order.total_tax == Decimal("0.00")
    assert order.currency == "USD"
    assert order.email == "jon@example.com"
    assert order.processed_at == SAMPLE_TIME
    assert order.cancelled_at == SAMPLE_TIME
    assert order.is_test is True
    assert order.counts_for_kpis is False
    assert order.financial_status == "voided"
    lines = [(line.shopify_id, line.product_id, line.quantity, line.price) for line in order.lines]
    assert lines == [
        (487817672276298554, 788032119674292922, 1, Decimal("89.99")),
        (789012345678901234, None, 1, Decimal("19.99")),
        (890123456789012345, None, 1, Decimal("24.99")),
        (976318377106520349, 788032119674292922, 1, Decimal("159.99")),
        (315789986012684393, 788032119674292922, 1, Decimal("119.99")),
    ]
    customer = session.get(Customer, order.customer_id)
    assert customer is not None
    assert (customer.shopify_id, customer.email, customer.first_name) == (
        115310627314723954,
        "john@example.com",
        "John",
    )
    assert order.shopify_customer_id == 115310627314723954


def test_the_same_order_delivery_five_times_stores_one_order_and_its_lines_once(
    session: Session, shop: Shop, now: datetime
) -> None:
    payload = load_payload("orders__create")
    for _ in range(5):
        deliver(session, shop, "orders/create", payload, now=now, webhook_id="same-delivery")

    assert session.scalar(select(func.count()).select_from(Order)) == 1
    assert session.scalar(select(func.count()).select_from(OrderLine)) == 5
    assert session.scalar(select(func.count()).select_from(Customer)) == 1


def test_an_update_older_than_the_stored_order_changes_nothing(
    session: Session, shop: Shop, now: datetime
) -> None:
    newer = order_version(SAMPLE_TIME + timedelta(hours=2), financial_status="refunded")
    older = order_version(SAMPLE_TIME + timedelta(hours=1), financial_status="paid")
    older["total_price_set"]["shop_money"]["amount"] = "1.00"
    older["line_items"] = older["line_items"][:1]

    deliver(session, shop, "orders/updated", newer, now=now)
    deliver(session, shop, "orders/updated", older, now=now)

    order = stored_order(session)
    assert order.financial_status == "refunded"
    assert order.total_price == Decimal("404.95")
    assert len(order.lines) == 5
    assert order.shopify_updated_at == SAMPLE_TIME + timedelta(hours=2)


def test_orders_create_arriving_after_orders_updated_does_not_regress_the_order(
    session: Session, shop: Shop, now: datetime
) -> None:
    created = load_payload("orders__create")
    created.update(financial_status="pending", cancelled_at=None)
    updated = load_payload("orders__updated")
    updated.update(financial_status="paid", cancelled_at=None)
    # Same updated_at (as in the samples): the later trigger time decides.
    deliver(session, shop, "orders/updated", updated, now=now, triggered_at=now)
    deliver(
        session, shop, "orders/create", created, now=now, triggered_at=now - timedelta(minutes=1)
    )

    order = stored_order(session)
    assert order.financial_status == "paid"
    assert order.last_event_at == now


def test_an_order_edit_that_removes_a_line_removes_it_locally(
    session: Session, shop: Shop, now: datetime
) -> None:
    deliver(session, shop, "orders/create", load_payload("orders__create"), now=now)
    edited = order_version(SAMPLE_TIME + timedelta(hours=1))
    edited["line_items"] = edited["line_items"][1:]

    deliver(session, shop, "orders/updated", edited, now=now)

    assert [line.shopify_id for line in stored_order(session).lines] == [
        789012345678901234,
        890123456789012345,
        976318377106520349,
        315789986012684393,
    ]


def test_an_order_with_a_checkout_token_marks_that_checkout_recovered_in_either_order(
    session: Session, shop: Shop, now: datetime
) -> None:
    deliver(session, shop, "checkouts/create", load_payload("checkouts__create"), now=now)
    order_payload = load_payload("orders__create")
    order_payload["checkout_token"] = "123123123"
    deliver(session, shop, "orders/create", order_payload, now=now)

    checkout = session.scalar(select(Checkout).where(Checkout.token == "123123123"))
    assert checkout is not None
    assert checkout.recovered_order_id == stored_order(session).id
    assert checkout.is_open is False


def test_refunds_create_sample_records_refunded_lines_and_money_from_transactions(
    session: Session, shop: Shop, now: datetime
) -> None:
    deliver(session, shop, "orders/create", load_payload("orders__create"), now=now)
    for _ in range(5):
        deliver(
            session,
            shop,
            "refunds/create",
            load_payload("refunds__create"),
            now=now,
            webhook_id="refund-delivery",
        )

    order = stored_order(session)
    assert order.total_refunded == Decimal("85.00")
    assert {line.shopify_id: line.refunded_quantity for line in order.lines} == {
        487817672276298554: 1,
        789012345678901234: 1,
        890123456789012345: 1,
        976318377106520349: 1,
        315789986012684393: 1,
    }
    assert all(line.is_fully_refunded for line in order.lines)
    refund = session.scalar(select(Refund))
    assert refund is not None
    assert (refund.shopify_id, refund.amount, refund.processed_at) == (
        890088186047892319,
        Decimal("85.00"),
        SAMPLE_TIME,
    )
    assert session.scalar(select(func.count()).select_from(Refund)) == 1
    assert session.scalar(select(func.count()).select_from(RefundLine)) == 5
    subtotal = session.scalar(select(func.sum(RefundLine.subtotal)))
    assert Decimal(str(subtotal)).quantize(Decimal("0.01")) == Decimal("414.95")


def test_a_partial_refund_counts_only_the_refunded_quantity(
    session: Session, shop: Shop, now: datetime
) -> None:
    order_payload = load_payload("orders__create")
    order_payload["line_items"][0]["quantity"] = 3
    deliver(session, shop, "orders/create", order_payload, now=now)
    refund = load_payload("refunds__create")
    refund["refund_line_items"] = refund["refund_line_items"][:1]
    refund["refund_line_items"][0]["quantity"] = 2

    deliver(session, shop, "refunds/create", refund, now=now)

    line = stored_order(session).lines[0]
    assert (line.quantity, line.refunded_quantity, line.is_fully_refunded) == (3, 2, False)


def test_a_refund_listed_in_a_later_order_version_is_counted_once(
    session: Session, shop: Shop, now: datetime
) -> None:
    deliver(session, shop, "orders/create", load_payload("orders__create"), now=now)
    deliver(session, shop, "refunds/create", load_payload("refunds__create"), now=now)
    with_refund = order_version(SAMPLE_TIME + timedelta(hours=1))
    with_refund["refunds"] = [load_payload("refunds__create")]

    deliver(session, shop, "orders/updated", with_refund, now=now)

    assert stored_order(session).total_refunded == Decimal("85.00")
    assert session.scalar(select(func.count()).select_from(Refund)) == 1


def test_a_refund_before_its_order_fails_and_succeeds_when_replayed_after_the_order(
    session: Session, shop: Shop, now: datetime
) -> None:
    with pytest.raises(OrderNotYetKnown):
        deliver(
            session,
            shop,
            "refunds/create",
            load_payload("refunds__create"),
            now=now,
            webhook_id="early-refund",
        )
    assert session.scalar(select(func.count()).select_from(Refund)) == 0

    deliver(session, shop, "orders/create", load_payload("orders__create"), now=now)
    deliver(
        session,
        shop,
        "refunds/create",
        load_payload("refunds__create"),
        now=now,
        webhook_id="early-refund",
    )

    assert stored_order(session).total_refunded == Decimal("85.00")


def test_fulfillment_sample_lands_and_delivery_time_comes_from_the_delivered_update(
    session: Session, shop: Shop, now: datetime
) -> None:
    deliver(session, shop, "orders/create", load_payload("orders__create"), now=now)
    deliver(session, shop, "fulfillments/create", load_payload("fulfillments__create"), now=now)
    fulfillment = session.scalar(select(Fulfillment))
    assert fulfillment is not None
    assert (fulfillment.shopify_id, fulfillment.status, fulfillment.shipment_status) == (
        123456,
        "pending",
        None,
    )
    assert fulfillment.order_id == stored_order(session).id
    assert fulfillment.delivered_at is None

    delivered_at = SAMPLE_TIME + timedelta(days=3)
    delivered = load_payload("fulfillments__create")
    delivered.update(
        status="success", shipment_status="delivered", updated_at=delivered_at.isoformat()
    )
    in_transit = load_payload("fulfillments__create")
    in_transit.update(
        status="success",
        shipment_status="in_transit",
        updated_at=(delivered_at - timedelta(days=1)).isoformat(),
    )
    later_edit = dict(delivered, updated_at=(delivered_at + timedelta(days=1)).isoformat())
    deliver(session, shop, "fulfillments/update", delivered, now=now)
    deliver(session, shop, "fulfillments/update", in_transit, now=now)
    deliver(session, shop, "fulfillments/update", later_edit, now=now)
    deliver(session, shop, "fulfillments/update", delivered, now=now)

    session.expire_all()
    fulfillment = session.scalar(select(Fulfillment))
    assert fulfillment is not None
    assert (fulfillment.status, fulfillment.shipment_status) == ("success", "delivered")
    assert fulfillment.delivered_at == delivered_at
    assert session.scalar(select(func.count()).select_from(Fulfillment)) == 1


def test_a_fulfillment_before_its_order_fails_so_it_is_retried(
    session: Session, shop: Shop, now: datetime
) -> None:
    with pytest.raises(OrderNotYetKnown):
        deliver(session, shop, "fulfillments/create", load_payload("fulfillments__create"), now=now)
    assert session.scalar(select(func.count()).select_from(Fulfillment)) == 0


def test_an_order_for_a_shop_that_is_not_stored_is_skipped(session: Session, now: datetime) -> None:
    deliver(
        session,
        None,
        "orders/create",
        load_payload("orders__create"),
        now=now,
        shop_domain="gone.myshopify.com",
    )

    assert session.scalar(select(func.count()).select_from(Order)) == 0


def test_an_order_with_a_float_id_is_refused_by_its_schema(
    session: Session, shop: Shop, now: datetime
) -> None:
    payload = load_payload("orders__create")
    payload["id"] = 8.209829119461545e17
    with pytest.raises(InvalidPayload, match=r"Expected `int`, got `float` - at `\$\.id`"):
        deliver(session, shop, "orders/create", payload, now=now)
