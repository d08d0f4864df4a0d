"""fulfillments/create and fulfillments/update."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from shopify_app.models import Shop
from shopify_app.retention.fulfillments import upsert_fulfillment
from webhooks.handlers._common import skip_unknown_shop
from webhooks.registry import DeliveryContext


def handle_fulfillment(
    session: Session, shop: Shop | None, payload: dict[str, Any], ctx: DeliveryContext
) -> None:
    """Store this fulfillment version, including its shipment status and delivery time."""
    if shop is None:
        skip_unknown_shop(ctx)
        return
    upsert_fulfillment(
        session, shop=shop, payload=payload, event_at=ctx.triggered_at, now=ctx.now
    )
