"""orders/create, orders/updated, orders/paid, orders/fulfilled, orders/cancelled."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from shopify_app.models import Shop
from shopify_app.retention.orders import upsert_order
from webhooks.handlers._common import skip_unknown_shop
from webhooks.registry import DeliveryContext


def handle_order(
    session: Session, shop: Shop | None, payload: dict[str, Any], ctx: DeliveryContext
) -> None:
    """Store this order version; every orders/* topic carries the whole order."""
    if shop is None:
        skip_unknown_shop(ctx)
        return
    upsert_order(session, shop=shop, payload=payload, event_at=ctx.triggered_at, now=ctx.now)
