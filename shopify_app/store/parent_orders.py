"""The stored order a refund or fulfillment belongs to: one lookup, one error when it is missing.

Shopify does not promise delivery order, so a refund or fulfillment may arrive before its order.
That is a retryable state (409), not bad input: the delivery is tried again once the order is in.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shopify_app.errors import AppError
from shopify_app.models import Order
from shopify_app.models import Shop
from shopify_app.store.payloads import require_id


class OrderNotYetKnown(AppError):
    """Raise when a refund or fulfillment arrives before its order; the delivery is retried."""

    status_code = 409


def require_parent_order(
    session: Session, *, shop: Shop, payload: Mapping[str, Any], child: str
) -> Order:
    """Return the stored order named by *payload*'s `order_id`, or raise OrderNotYetKnown."""
    order_id = require_id(payload, "order_id")
    order = session.scalar(
        select(Order).where(Order.shop_id == shop.id, Order.shopify_id == order_id)
    )
    if order is None:
        raise OrderNotYetKnown(f"order {order_id} of {child} {payload.get('id')} is not stored yet")
    return order
