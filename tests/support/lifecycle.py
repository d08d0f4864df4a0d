"""Arrange review-request, NPS and win-back scenarios: fulfillments, refunds, predictions."""

from __future__ import annotations

import re
from datetime import date
from datetime import datetime
from decimal import Decimal
from email.message import EmailMessage

from sqlalchemy import select

from shopify_app.db import Database
from shopify_app.models import CustomerPrediction
from shopify_app.models import Order
from shopify_app.models import PredictionModelFit
from shopify_app.models import Shop
from shopify_app.store.fulfillments import upsert_fulfillment
from shopify_app.store.refunds import record_refund
from tests.support.mail import html_part
from tests.support.payloads import load_payload


def fulfill(
    database: Database,
    shop_id: int,
    *,
    order_shopify_id: int,
    fulfillment_id: int,
    at: datetime,
    delivered_at: datetime | None = None,
    status: str = "success",
) -> None:
    """Store a fulfillment of the order created at *at*, delivered at *delivered_at* if given."""
    payload = load_payload("fulfillments__create")
    payload.update(
        id=fulfillment_id,
        order_id=order_shopify_id,
        status=status,
        created_at=at.isoformat(),
        updated_at=at.isoformat(),
        shipment_status=None,
        admin_graphql_api_id=f"gid://shopify/Fulfillment/{fulfillment_id}",
    )
    with database.session_scope() as session:
        shop = session.get(Shop, shop_id)
        assert shop is not None
        upsert_fulfillment(session, shop=shop, payload=payload, event_at=at, now=at)
    if delivered_at is not None:
        payload.update(updated_at=delivered_at.isoformat(), shipment_status="delivered")
        with database.session_scope() as session:
            shop = session.get(Shop, shop_id)
            assert shop is not None
            upsert_fulfillment(
                session, shop=shop, payload=payload, event_at=delivered_at, now=delivered_at
            )


def refund(
    database: Database,
    shop_id: int,
    *,
    order_shopify_id: int,
    refund_id: int,
    line_item_id: int,
    quantity: int,
    at: datetime,
) -> None:
    """Store a refunds/create payload refunding *quantity* of one order line."""
    payload = load_payload("refunds__create")
    payload.update(
        id=refund_id,
        order_id=order_shopify_id,
        created_at=at.isoformat(),
        processed_at=at.isoformat(),
        admin_graphql_api_id=f"gid://shopify/Refund/{refund_id}",
    )
    item = payload["refund_line_items"][0]
    item.update(id=refund_id * 10, line_item_id=line_item_id, quantity=quantity)
    item["line_item"]["id"] = line_item_id
    payload["refund_line_items"] = [item]
    with database.session_scope() as session:
        shop = session.get(Shop, shop_id)
        assert shop is not None
        record_refund(session, shop=shop, payload=payload, event_at=at, now=at)


def cancel(database: Database, shop_id: int, order_shopify_id: int, at: datetime) -> None:
    with database.session_scope() as session:
        order = session.scalar(
            select(Order).where(Order.shop_id == shop_id, Order.shopify_id == order_shopify_id)
        )
        assert order is not None
        order.cancelled_at = at


def predict_next_order(
    database: Database,
    shop_id: int,
    customer_id: int,
    *,
    last_order_at: datetime,
    next_order: date,
    now: datetime,
) -> None:
    """Record a fitted model and one customer's expected next order date, as predictions would."""
    with database.session_scope() as session:
        if session.get(PredictionModelFit, shop_id) is None:
            session.add(
                PredictionModelFit(
                    shop_id=shop_id,
                    status="fitted",
                    status_reason="fitted to 80 repeat buyers",
                    r=0.24,
                    alpha=30.9,
                    a=0.79,
                    b=2.43,
                    p=6.25,
                    q=3.74,
                    gamma=15.44,
                    bgnbd_log_likelihood=None,
                    customers_used=200,
                    repeat_buyers=80,
                    currency="USD",
                    annual_discount_rate=0.1,
                    high_value_threshold=None,
                    mean_predicted_clv_365=Decimal("50.00"),
                    expected_orders_90_total=10.0,
                    expected_orders_365_total=40.0,
                    computed_at=now,
                )
            )
        session.add(
            CustomerPrediction(
                shop_id=shop_id,
                customer_id=customer_id,
                frequency=2,
                recency_days=60,
                age_days=90,
                monetary_value=Decimal("40.00"),
                orders_count=3,
                historic_revenue=Decimal("120.00"),
                first_order_at=last_order_at,
                last_order_at=last_order_at,
                p_alive=0.8,
                expected_orders_90=0.5,
                expected_orders_365=2.0,
                expected_order_value=Decimal("40.00"),
                predicted_clv_365=Decimal("80.00"),
                expected_next_order_date=next_order,
                computed_at=now,
            )
        )


def nps_links(message: EmailMessage) -> dict[int, str]:
    """Return {score: path} of the 0-10 answer links in a review request email."""
    found = re.findall(
        r'href="https://retention\.example\.com(/nps/[^"]+)"[^>]*>(\d+)</a>', html_part(message)
    )
    return {int(score): path for path, score in found}
