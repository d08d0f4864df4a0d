"""customers/data_request, customers/redact, shop/redact; these arrive after uninstall too."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from shopify_app.models import Shop
from shopify_app.models import WebhookDelivery
from shopify_app.privacy import RequestReceipt
from shopify_app.privacy import process_customer_redaction
from shopify_app.privacy import process_data_request
from shopify_app.privacy import process_shop_redaction
from webhooks.registry import DeliveryContext


def handle_customers_data_request(
    session: Session, shop: Shop | None, payload: dict[str, Any], ctx: DeliveryContext
) -> None:
    """Build the customer's data export and keep it for the merchant."""
    process_data_request(session, shop=shop, payload=payload, **_receipt(session, ctx))


def handle_customers_redact(
    session: Session, shop: Shop | None, payload: dict[str, Any], ctx: DeliveryContext
) -> None:
    """Erase the customer's personal data everywhere."""
    process_customer_redaction(
        session,
        shop=shop,
        payload=payload,
        current_delivery_id=ctx.delivery_id,
        **_receipt(session, ctx),
    )


def handle_shop_redact(
    session: Session, shop: Shop | None, payload: dict[str, Any], ctx: DeliveryContext
) -> None:
    """Delete everything stored about the shop."""
    process_shop_redaction(session, current_delivery_id=ctx.delivery_id, **_receipt(session, ctx))


def _receipt(session: Session, ctx: DeliveryContext) -> RequestReceipt:
    return RequestReceipt(
        shop_domain=ctx.shop_domain,
        webhook_id=ctx.webhook_id,
        received_at=_received_at(session, ctx),
        now=ctx.now,
    )


def _received_at(session: Session, ctx: DeliveryContext) -> datetime:
    delivery = session.get(WebhookDelivery, ctx.delivery_id)
    if delivery is not None:
        return delivery.received_at
    return ctx.triggered_at or ctx.now
