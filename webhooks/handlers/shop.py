"""app/uninstalled and shop/update."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from shopify_app.models import Shop
from shopify_app.retention.shops import mark_uninstalled
from shopify_app.retention.shops import update_shop_details
from webhooks.handlers._common import skip_unknown_shop
from webhooks.registry import DeliveryContext


def handle_app_uninstalled(
    session: Session, shop: Shop | None, payload: dict[str, Any], ctx: DeliveryContext
) -> None:
    """Drop the shop's tokens and mark it uninstalled; its data stays until shop/redact."""
    if shop is None:
        skip_unknown_shop(ctx)
        return
    mark_uninstalled(session, shop=shop, now=ctx.now, event_at=ctx.triggered_at)


def handle_shop_update(
    session: Session, shop: Shop | None, payload: dict[str, Any], ctx: DeliveryContext
) -> None:
    """Keep the shop's currency, time zone, email and name current."""
    if shop is None:
        skip_unknown_shop(ctx)
        return
    update_shop_details(
        session, shop=shop, payload=payload, event_at=ctx.triggered_at, now=ctx.now
    )
