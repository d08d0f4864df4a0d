"""refunds/create."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from shopify_app.models import Shop
from shopify_app.retention.refunds import record_refund
from webhooks.handlers._common import skip_unknown_shop
from webhooks.registry import DeliveryContext


def handle_refunds_create(
    session: Session, shop: Shop | None, payload: dict[str, Any], ctx: DeliveryContext
) -> None:
    """Record the refund once; an order not stored yet fails the delivery so it is retried."""
    if shop is None:
        skip_unknown_shop(ctx)
        return
    record_refund(session, shop=shop, payload=payload, event_at=ctx.triggered_at, now=ctx.now)
