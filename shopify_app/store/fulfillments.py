"""Fulfillments: when an order shipped and when it arrived (review requests wait for delivery).

Shopify's REST fulfillment has no delivery timestamp: the first version whose `shipment_status`
is `delivered` dates it (its `updated_at`, else the delivery's triggered-at, else now), and the
earliest such time is kept, so replays and late duplicates never move it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
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
    version = read_fulfillment(payload, event_at=event_at, now=now)
    return store_fulfillment(session, shop=shop, order=order, version=version)


COLUMNS = (
    "status",
    "shipment_status",
    "shopify_created_at",
    "shopify_updated_at",
    "last_event_at",
    "delivered_at",
)


@dataclass(frozen=True)
class FulfillmentVersion:
    """One fulfillment version; `delivered_at` is set when it says the shipment was delivered."""

    shopify_id: int
    status: str | None
    shipment_status: str | None
    created_at: datetime | None
    updated_at: datetime | None
    event_at: datetime | None
    delivered_at: datetime | None

    def applied_to(self, stored: Mapping[str, Any] | None) -> dict[str, Any]:
        """Return the `COLUMNS` after this version meets the *stored* ones (None: none stored).

        A stale version only dates the delivery, as the earliest delivery time is kept.
        """
        columns = dict.fromkeys(COLUMNS) if stored is None else dict(stored)
        if stored is None or not is_stale(
            stored_updated_at=stored["shopify_updated_at"],
            stored_event_at=stored["last_event_at"],
            updated_at=self.updated_at,
            event_at=self.event_at,
        ):
            columns.update(
                status=self.status,
                shipment_status=self.shipment_status,
                shopify_created_at=self.created_at,
                shopify_updated_at=self.updated_at,
                last_event_at=self.event_at,
            )
        known = columns["delivered_at"]
        if self.delivered_at is not None and (known is None or self.delivered_at < known):
            columns["delivered_at"] = self.delivered_at
        return columns


def read_fulfillment(
    payload: Mapping[str, Any], *, event_at: datetime | None, now: datetime
) -> FulfillmentVersion:
    """Read a fulfillment payload delivered at *event_at* (fulfillments/*, or an order's)."""
    updated_at = parse_datetime(payload.get("updated_at"))
    shipment_status = text(payload.get("shipment_status"), limit=32)
    delivered_at = None
    if shipment_status == DELIVERED:
        delivered_at = parse_datetime(payload.get("delivered_at")) or updated_at or event_at or now
    return FulfillmentVersion(
        shopify_id=require_id(payload),
        status=text(payload.get("status"), limit=32),
        shipment_status=shipment_status,
        created_at=parse_datetime(payload.get("created_at")),
        updated_at=updated_at,
        event_at=event_at,
        delivered_at=delivered_at,
    )


def store_fulfillment(
    session: Session, *, shop: Shop, order: Order, version: FulfillmentVersion
) -> Fulfillment:
    """Apply one fulfillment version to *order*."""
    fulfillment = session.scalar(
        select(Fulfillment).where(
            Fulfillment.shop_id == shop.id, Fulfillment.shopify_id == version.shopify_id
        )
    )
    stored = None
    if fulfillment is None:
        fulfillment = Fulfillment(shop_id=shop.id, order_id=order.id, shopify_id=version.shopify_id)
        session.add(fulfillment)
    else:
        stored = {name: getattr(fulfillment, name) for name in COLUMNS}
    for name, value in version.applied_to(stored).items():
        setattr(fulfillment, name, value)
    session.flush()
    return fulfillment
