"""Topic -> handler: a plain mapping, filled by webhooks.handlers.

A handler receives the open session, the shop the delivery belongs to (None when the shop is
unknown or gone, e.g. privacy topics after uninstall), the validated payload and the delivery's
metadata. It must be idempotent and order-independent: Shopify delivers at least once, out of order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from shopify_app.models import Shop


@dataclass(frozen=True)
class DeliveryContext:
    """What a handler may know about the delivery besides its payload."""

    delivery_id: int
    shop_domain: str
    topic: str
    webhook_id: str
    triggered_at: datetime | None
    api_version: str | None
    now: datetime


Handler = Callable[[Session, Shop | None, dict[str, Any], DeliveryContext], None]
