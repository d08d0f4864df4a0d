"""checkouts/create, checkouts/update and checkouts/delete."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from shopify_app.models import Shop
from shopify_app.retention.checkouts import delete_checkout
from shopify_app.retention.checkouts import upsert_checkout
from webhooks.handlers._common import skip_unknown_shop
from webhooks.registry import DeliveryContext


def handle_checkout(
    session: Session, shop: Shop | None, payload: dict[str, Any], ctx: DeliveryContext
) -> None:
    """Store this checkout version (create and update carry the same shape)."""
    if shop is None:
        skip_unknown_shop(ctx)
        return
    upsert_checkout(session, shop=shop, payload=payload, event_at=ctx.triggered_at, now=ctx.now)


def handle_checkouts_delete(
    session: Session, shop: Shop | None, payload: dict[str, Any], ctx: DeliveryContext
) -> None:
    """End the deleted checkout so no reminder goes out for it."""
    if shop is None:
        skip_unknown_shop(ctx)
        return
    delete_checkout(session, shop=shop, payload=payload, event_at=ctx.triggered_at, now=ctx.now)
