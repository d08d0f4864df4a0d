"""Run webhook handlers the way the worker does: inbox row, schema, handler, done."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shopify_app.models import DeliveryStatus
from shopify_app.models import Shop
from shopify_app.models import WebhookDelivery
from webhooks.handlers import HANDLERS
from webhooks.processing import parse_payload
from webhooks.registry import DeliveryContext


def deliver(
    session: Session,
    shop: Shop | None,
    topic: str,
    payload: dict[str, Any],
    *,
    now: datetime,
    triggered_at: datetime | None = None,
    webhook_id: str | None = None,
    shop_domain: str | None = None,
) -> WebhookDelivery:
    """Store *payload* in the inbox, validate it with the topic's schema, run the handler, commit.

    The handler gets *shop* as loaded in *session*, as the worker hands it over. A repeated
    *webhook_id* reuses its inbox row, as a replay of a stored delivery would.
    """
    domain = shop_domain or (shop.domain if shop is not None else "unknown.myshopify.com")
    webhook_id = webhook_id or str(uuid.uuid4())
    body = json.dumps(payload).encode()
    delivery = session.scalar(
        select(WebhookDelivery).where(
            WebhookDelivery.shop_domain == domain, WebhookDelivery.webhook_id == webhook_id
        )
    )
    if delivery is None:
        delivery = WebhookDelivery(
            shop_domain=domain,
            shop_id=shop.id if shop is not None else None,
            topic=topic,
            webhook_id=webhook_id,
            triggered_at=triggered_at,
            api_version="2026-04",
            payload=body,
            received_at=now,
            attempts=0,
        )
        session.add(delivery)
    delivery.status = DeliveryStatus.PROCESSING
    delivery.attempts += 1
    session.flush()
    loaded = parse_payload(bytes(delivery.payload), topic=topic)
    ctx = DeliveryContext(
        delivery_id=delivery.id,
        shop_domain=domain,
        topic=topic,
        webhook_id=webhook_id,
        triggered_at=triggered_at,
        api_version="2026-04",
        now=now,
    )
    stored_shop = session.get(Shop, shop.id) if shop is not None else None
    try:
        HANDLERS[topic](session, stored_shop, loaded, ctx)
    except Exception:
        session.rollback()
        raise
    delivery.status = DeliveryStatus.DONE
    delivery.processed_at = now
    session.commit()
    return delivery
