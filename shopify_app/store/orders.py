"""Orders and their lines: the facts revenue, repeat purchase and post-purchase flows come from.

`upsert_order` takes a REST-shaped order (webhook payload, or the same shape built by backfill and
reconciliation). Shopify delivers at least once and out of order, so an order version is applied
only when it is not older than the stored one (`updated_at`, then the delivery's triggered-at);
facts that never change once they exist (refunds, the checkout link) are merged whatever the
version. Order value is `total_price_set.shop_money` (after discounts, with shipping and tax);
net revenue subtracts `total_refunded`, which `refunds` keeps from the refunds themselves.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shopify_app.analytics.rollups.incremental import note_order_changed
from shopify_app.models import Checkout
from shopify_app.models import Order
from shopify_app.models import OrderLine
from shopify_app.models import Shop
from shopify_app.store import customers
from shopify_app.store import fulfillments
from shopify_app.store import refunds
from shopify_app.store.order_versions import OrderLineVersion
from shopify_app.store.order_versions import ParsedOrder
from shopify_app.store.order_versions import order_row
from shopify_app.store.order_versions import read_order
from shopify_app.store.payloads import is_stale

logger = logging.getLogger(__name__)


def upsert_order(
    session: Session,
    *,
    shop: Shop,
    payload: Mapping[str, Any],
    event_at: datetime | None,
    now: datetime,
) -> Order:
    """Store an order version from any orders/* topic unless a newer version is stored."""
    order = store_order_version(session, shop=shop, payload=payload, event_at=event_at, now=now)
    note_order_changed(session, shop_id=shop.id, order_id=order.id)
    return order


def store_order_version(
    session: Session,
    *,
    shop: Shop,
    payload: Mapping[str, Any],
    event_at: datetime | None,
    now: datetime,
) -> Order:
    """Store an order version and its nested facts, leaving the read models to the caller.

    A batch (`shopify_app.store.order_batches`) and a backfill bring the rollups up to date once
    for all the orders they stored, not once per order.
    """
    parsed = read_order(payload, event_at=event_at, now=now)
    order = find_order(session, shop=shop, shopify_id=parsed.shopify_id)
    if order is None or not is_stale(
        stored_updated_at=order.shopify_updated_at,
        stored_event_at=order.last_event_at,
        updated_at=parsed.updated_at,
        event_at=parsed.event_at,
    ):
        order = _apply_order_version(session, shop=shop, order=order, parsed=parsed)
    # Refunds and fulfillments carry their own identity and versions: merge them from any version.
    for refund in parsed.refunds:
        refunds.store_refund(session, shop=shop, order=order, version=refund)
    for fulfillment in parsed.fulfillments:
        fulfillments.store_fulfillment(session, shop=shop, order=order, version=fulfillment)
    refunds.refresh_refund_totals(session, order=order)
    link_checkout(session, shop=shop, order=order)
    session.flush()
    return order


def find_order(session: Session, *, shop: Shop, shopify_id: int) -> Order | None:
    return session.scalar(
        select(Order).where(Order.shop_id == shop.id, Order.shopify_id == shopify_id)
    )


def link_checkout(session: Session, *, shop: Shop, order: Order) -> Checkout | None:
    """Mark the checkout this order came from as recovered by it."""
    if not order.checkout_token:
        return None
    checkout = session.scalar(
        select(Checkout).where(Checkout.shop_id == shop.id, Checkout.token == order.checkout_token)
    )
    if checkout is not None and checkout.recovered_order_id is None:
        checkout.recovered_order_id = order.id
    return checkout


def _apply_order_version(
    session: Session, *, shop: Shop, order: Order | None, parsed: ParsedOrder
) -> Order:
    customer = (
        customers.store_snapshot(session, shop=shop, snapshot=parsed.customer)
        if parsed.customer is not None
        else None
    )
    if order is None:
        order = Order(shop_id=shop.id, shopify_id=parsed.shopify_id, total_refunded=Decimal("0"))
        session.add(order)
    row = order_row(parsed, customer=customer, fallback_currency=order.currency or shop.currency)
    for name, value in row.items():
        setattr(order, name, value)
    _sync_lines(order, shop=shop, lines=parsed.lines)
    session.flush()
    return order


def _sync_lines(order: Order, *, shop: Shop, lines: Sequence[OrderLineVersion]) -> None:
    """Make the order's lines those of this version (an order edit can remove lines)."""
    existing = {line.shopify_id: line for line in order.lines}
    for version in lines:
        line = existing.get(version.shopify_id)
        if line is None:
            line = OrderLine(shop_id=shop.id, shopify_id=version.shopify_id, refunded_quantity=0)
            order.lines.append(line)
        for name, value in version.columns.items():
            setattr(line, name, value)
    kept = {version.shopify_id for version in lines}
    for line_id, line in existing.items():
        if line_id not in kept:
            order.lines.remove(line)
