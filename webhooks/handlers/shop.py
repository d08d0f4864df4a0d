"""app/uninstalled: the one shop topic whose service takes no payload."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from shopify_app.models import Shop
from shopify_app.store.shops import mark_uninstalled
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
