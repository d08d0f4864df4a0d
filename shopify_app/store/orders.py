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
from shopify_app.store.payloads import InvalidPayload
from shopify_app.store.payloads import as_list
from shopify_app.store.payloads import is_stale
from shopify_app.store.payloads import parse_datetime
from shopify_app.store.payloads import parse_id
from shopify_app.store.payloads import require_id
from shopify_app.store.payloads import shop_currency
from shopify_app.store.payloads import shop_money
from shopify_app.store.payloads import text

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
    shopify_id = require_id(payload)
    order = find_order(session, shop=shop, shopify_id=shopify_id)
    updated_at = parse_datetime(payload.get("updated_at"))
    if order is None or not is_stale(
        stored_updated_at=order.shopify_updated_at,
        stored_event_at=order.last_event_at,
        updated_at=updated_at,
        event_at=event_at,
    ):
        order = _apply_order_version(
            session,
            shop=shop,
            order=order,
            payload=payload,
            shopify_id=shopify_id,
            updated_at=updated_at,
            event_at=event_at,
            now=now,
        )
    # Refunds and fulfillments carry their own identity and versions: merge them from any version.
    for refund_payload in as_list(payload.get("refunds")):
        if isinstance(refund_payload, Mapping):
            refunds.store_refund(session, shop=shop, order=order, payload=refund_payload)
    for fulfillment_payload in as_list(payload.get("fulfillments")):
        if isinstance(fulfillment_payload, Mapping):
            fulfillments.store_fulfillment(
                session,
                shop=shop,
                order=order,
                payload=fulfillment_payload,
                event_at=event_at,
                now=now,
            )
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
    session: Session,
    *,
    shop: Shop,
    order: Order | None,
    payload: Mapping[str, Any],
    shopify_id: int,
    updated_at: datetime | None,
    event_at: datetime | None,
    now: datetime,
) -> Order:
    total_price = shop_money(payload, "total_price")
    if total_price is None:
        raise InvalidPayload("order payload has no total_price")
    customer = customers.link_nested_customer(
        session, shop=shop, payload=payload, version_at=updated_at, event_at=event_at, now=now
    )
    if order is None:
        order = Order(shop_id=shop.id, shopify_id=shopify_id, total_refunded=Decimal("0"))
        session.add(order)
    created_at = parse_datetime(payload.get("created_at"))
    order.name = text(payload.get("name"), limit=64)
    order.customer_id = customer.id if customer is not None else None
    order.shopify_customer_id = customer.shopify_id if customer is not None else None
    if customer is not None and customer.redacted_at is not None:
        order.email = None
    else:
        order.email = text(payload.get("email") or payload.get("contact_email"), limit=320)
    order.checkout_token = text(payload.get("checkout_token"), limit=64)
    order.processed_at = (
        parse_datetime(payload.get("processed_at")) or created_at or event_at or now
    )
    order.shopify_created_at = created_at
    order.shopify_updated_at = updated_at
    order.cancelled_at = parse_datetime(payload.get("cancelled_at"))
    order.is_test = bool(payload.get("test"))
    order.financial_status = text(payload.get("financial_status"), limit=32)
    order.fulfillment_status = text(payload.get("fulfillment_status"), limit=32)
    order.currency = (shop_currency(payload, "total_price") or order.currency or shop.currency)[:3]
    order.total_price = total_price
    order.subtotal_price = shop_money(payload, "subtotal_price")
    order.total_discounts = shop_money(payload, "total_discounts")
    order.total_tax = shop_money(payload, "total_tax")
    order.source_name = text(payload.get("source_name"), limit=64)
    order.last_event_at = event_at
    _sync_lines(order, shop=shop, line_payloads=as_list(payload.get("line_items")))
    session.flush()
    return order


def _sync_lines(order: Order, *, shop: Shop, line_payloads: list[Any]) -> None:
    """Make the order's lines those of this version (an order edit can remove lines)."""
    existing = {line.shopify_id: line for line in order.lines}
    seen: set[int] = set()
    for line_payload in line_payloads:
        if not isinstance(line_payload, Mapping):
            continue
        line_id = require_id(line_payload)
        if line_id in seen:
            continue
        seen.add(line_id)
        line = existing.get(line_id)
        if line is None:
            line = OrderLine(shop_id=shop.id, shopify_id=line_id, refunded_quantity=0)
            order.lines.append(line)
        line.product_id = parse_id(line_payload.get("product_id"))
        line.variant_id = parse_id(line_payload.get("variant_id"))
        line.title = text(line_payload.get("title") or line_payload.get("name"))
        line.variant_title = text(line_payload.get("variant_title"))
        line.sku = text(line_payload.get("sku"), limit=255)
        line.quantity = int(line_payload.get("quantity") or 0)
        line.price = shop_money(line_payload, "price") or Decimal("0")
    for line_id, line in existing.items():
        if line_id not in seen:
            order.lines.remove(line)
