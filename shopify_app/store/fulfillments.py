"""Fulfillments: when an order shipped and when it arrived (review requests wait for delivery).

Shopify's REST fulfillment has no delivery timestamp: the first version whose `shipment_status`
is `delivered` dates it (its `updated_at`, else the delivery's triggered-at, else now), and the
earliest such time is kept, so replays and late duplicates never move it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shopify_app.models import Fulfillment
from shopify_app.models import Order
from shopify_app.models import Shop
from shopify_app.store.parent_orders import require_parent_order
from shopify_app.store.payloads import is_stale
from shopify_app.store.payloads import parse_datetime
from shopify_app.store.payloads import require_id
from shopify_app.store.payloads import text

DELIVERED = "delivered"


def upsert_fulfillment(
    session: Session,
    *,
    shop: Shop,
    payload: Mapping[str, Any],
    event_at: datetime | None,
    now: datetime,
) -> Fulfillment:
    """Store a fulfillments/create or fulfillments/update payload unless a newer one is stored."""
    order = require_parent_order(session, shop=shop, payload=payload, child="fulfillment")
    return store_fulfillment(
        session, shop=shop, order=order, payload=payload, event_at=event_at, now=now
    )


def store_fulfillment(
    session: Session,
    *,
    shop: Shop,
    order: Order,
    payload: Mapping[str, Any],
    event_at: datetime | None,
    now: datetime,
) -> Fulfillment:
    """Apply one fulfillment version to *order*."""
    shopify_id = require_id(payload)
    fulfillment = session.scalar(
        select(Fulfillment).where(
            Fulfillment.shop_id == shop.id, Fulfillment.shopify_id == shopify_id
        )
    )
    updated_at = parse_datetime(payload.get("updated_at"))
    shipment_status = text(payload.get("shipment_status"), limit=32)
    if fulfillment is None:
        fulfillment = Fulfillment(shop_id=shop.id, order_id=order.id, shopify_id=shopify_id)
        session.add(fulfillment)
    elif is_stale(
        stored_updated_at=fulfillment.shopify_updated_at,
        stored_event_at=fulfillment.last_event_at,
        updated_at=updated_at,
        event_at=event_at,
    ):
        _note_delivery(fulfillment, payload, shipment_status, updated_at, event_at, now)
        session.flush()
        return fulfillment
    fulfillment.status = text(payload.get("status"), limit=32)
    fulfillment.shipment_status = shipment_status
    fulfillment.shopify_created_at = parse_datetime(payload.get("created_at"))
    fulfillment.shopify_updated_at = updated_at
    fulfillment.last_event_at = event_at
    _note_delivery(fulfillment, payload, shipment_status, updated_at, event_at, now)
    session.flush()
    return fulfillment


def _note_delivery(
    fulfillment: Fulfillment,
    payload: Mapping[str, Any],
    shipment_status: str | None,
    updated_at: datetime | None,
    event_at: datetime | None,
    now: datetime,
) -> None:
    if shipment_status != DELIVERED:
        return
    delivered_at = parse_datetime(payload.get("delivered_at")) or updated_at or event_at or now
    if fulfillment.delivered_at is None or delivered_at < fulfillment.delivered_at:
        fulfillment.delivered_at = delivered_at
