"""What every shop-scoped handler shares: skip shops the app does not store, then call a service."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any
from typing import Protocol

from sqlalchemy.orm import Session

from shopify_app.models import Shop
from webhooks.registry import DeliveryContext
from webhooks.registry import Handler

logger = logging.getLogger(__name__)


class ShopService(Protocol):
    """A domain service applying one payload version: `upsert_order`, `record_refund`, ..."""

    def __call__(
        self,
        session: Session,
        *,
        shop: Shop,
        payload: dict[str, Any],
        event_at: datetime | None,
        now: datetime,
    ) -> object: ...


def skip_unknown_shop(ctx: DeliveryContext) -> None:
    """Log a delivery for a shop that is not stored (never installed, or already redacted)."""
    logger.info(
        "Skipped %s for a shop that is not stored", ctx.topic, extra={"shop": ctx.shop_domain}
    )


def for_stored_shop(service: ShopService) -> Handler:
    """Return the handler that applies *service* to deliveries of stored shops only."""

    def handle(
        session: Session, shop: Shop | None, payload: dict[str, Any], ctx: DeliveryContext
    ) -> None:
        if shop is None:
            skip_unknown_shop(ctx)
            return
        service(session, shop=shop, payload=payload, event_at=ctx.triggered_at, now=ctx.now)

    handle.__name__ = f"handle_{getattr(service, '__name__', 'delivery')}"
    handle.__doc__ = service.__doc__
    return handle
