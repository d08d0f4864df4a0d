"""What every handler shares: skipping deliveries for shops the app no longer knows."""

from __future__ import annotations

import logging

from webhooks.registry import DeliveryContext

logger = logging.getLogger(__name__)


def skip_unknown_shop(ctx: DeliveryContext) -> None:
    """Log a delivery for a shop that is not stored (never installed, or already redacted)."""
    logger.info(
        "Skipped %s for a shop that is not stored", ctx.topic, extra={"shop": ctx.shop_domain}
    )
