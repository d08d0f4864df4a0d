"""Checkouts keyed by token: what a buyer left behind, how to reach them, and how to come back.

`completed_at` ends a checkout; so does an order with the same `checkout_token`, which marks the
checkout recovered whichever of the two arrives first.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shopify_app.models import Checkout
from shopify_app.models import Order
from shopify_app.models import Shop
from shopify_app.store import customers
from shopify_app.store.payloads import InvalidPayload
from shopify_app.store.payloads import as_list
from shopify_app.store.payloads import is_stale
from shopify_app.store.payloads import parse_datetime
from shopify_app.store.payloads import parse_id
from shopify_app.store.payloads import shop_currency
from shopify_app.store.payloads import shop_money
from shopify_app.store.payloads import text


def upsert_checkout(
    session: Session,
    *,
    shop: Shop,
    payload: Mapping[str, Any],
    event_at: datetime | None,
    now: datetime,
) -> Checkout:
    """Store a checkouts/create or checkouts/update payload unless a newer version is stored."""
    token = text(payload.get("token"), limit=64)
    if token is None:
        raise InvalidPayload("checkout payload has no token")
    checkout = find_checkout(session, shop=shop, token=token)
    updated_at = parse_datetime(payload.get("updated_at"))
    if checkout is None or not is_stale(
        stored_updated_at=checkout.shopify_updated_at,
        stored_event_at=checkout.last_event_at,
        updated_at=updated_at,
        event_at=event_at,
    ):
        checkout = _apply_checkout_version(
            session,
            shop=shop,
            checkout=checkout,
            token=token,
            payload=payload,
            updated_at=updated_at,
            event_at=event_at,
            now=now,
        )
    link_order(session, shop=shop, checkout=checkout)
    session.flush()
    return checkout


def delete_checkout(
    session: Session,
    *,
    shop: Shop,
    payload: Mapping[str, Any],
    event_at: datetime | None,
    now: datetime,
) -> int:
    """Mark the deleted checkout(s) ended; return how many were marked.

    The 2026-04 checkouts/delete sample carries no `token`, only the legacy `id` and the
    `cart_token`, so the cart token identifies the checkout when the token is missing.
    """
    token = text(payload.get("token"), limit=64)
    cart_token = text(payload.get("cart_token"), limit=64)
    if token is not None:
        condition = Checkout.token == token
    elif cart_token is not None:
        condition = Checkout.cart_token == cart_token
    else:
        raise InvalidPayload("checkout deletion names neither a token nor a cart_token")
    marked = 0
    for checkout in session.scalars(select(Checkout).where(Checkout.shop_id == shop.id, condition)):
        if checkout.deleted_at is None:
            checkout.deleted_at = event_at or now
            marked += 1
    session.flush()
    return marked


def find_checkout(session: Session, *, shop: Shop, token: str) -> Checkout | None:
    return session.scalar(
        select(Checkout).where(Checkout.shop_id == shop.id, Checkout.token == token)
    )


def link_order(session: Session, *, shop: Shop, checkout: Checkout) -> None:
    """Mark *checkout* recovered when an order placed from it is already stored."""
    if checkout.recovered_order_id is not None:
        return
    order_id = session.scalar(
        select(Order.id)
        .where(Order.shop_id == shop.id, Order.checkout_token == checkout.token)
        .order_by(Order.id)
        .limit(1)
    )
    if order_id is not None:
        checkout.recovered_order_id = order_id


def _apply_checkout_version(
    session: Session,
    *,
    shop: Shop,
    checkout: Checkout | None,
    token: str,
    payload: Mapping[str, Any],
    updated_at: datetime | None,
    event_at: datetime | None,
    now: datetime,
) -> Checkout:
    customer = customers.link_nested_customer(
        session, shop=shop, payload=payload, version_at=updated_at, event_at=event_at, now=now
    )
    if checkout is None:
        checkout = Checkout(shop_id=shop.id, token=token)
        session.add(checkout)
    checkout.cart_token = text(payload.get("cart_token"), limit=64)
    checkout.customer_id = customer.id if customer is not None else None
    checkout.shopify_customer_id = customer.shopify_id if customer is not None else None
    if customer is not None and customer.redacted_at is not None:
        checkout.email = None
        checkout.phone = None
    else:
        checkout.email = text(payload.get("email"), limit=320)
        checkout.phone = text(payload.get("phone"), limit=64)
    checkout.buyer_accepts_marketing = bool(payload.get("buyer_accepts_marketing"))
    checkout.abandoned_checkout_url = text(payload.get("abandoned_checkout_url"))
    currency = shop_currency(payload, "total_price")
    checkout.currency = currency[:3] if currency else None
    checkout.total_price = shop_money(payload, "total_price")
    checkout.subtotal_price = shop_money(payload, "subtotal_price")
    checkout.line_items = [
        _line_summary(line)
        for line in as_list(payload.get("line_items"))
        if isinstance(line, Mapping)
    ]
    checkout.shopify_created_at = parse_datetime(payload.get("created_at"))
    checkout.shopify_updated_at = updated_at
    checkout.completed_at = parse_datetime(payload.get("completed_at"))
    checkout.last_event_at = event_at
    session.flush()
    return checkout


def _line_summary(line: Mapping[str, Any]) -> dict[str, Any]:
    """Keep what a reminder email shows and what flows match on; nothing personal."""
    price = shop_money(line, "price")
    return {
        "title": text(line.get("title") or line.get("presentment_title")),
        "variant_title": text(line.get("variant_title") or line.get("presentment_variant_title")),
        "quantity": int(line.get("quantity") or 0),
        "price": str(price) if price is not None else None,
        "product_id": parse_id(line.get("product_id")),
        "variant_id": parse_id(line.get("variant_id")),
        "sku": text(line.get("sku")),
    }
