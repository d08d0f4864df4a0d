"""customers/create, customers/update, customers/delete and the email consent topic."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from shopify_app.models import Shop
from shopify_app.retention.customers import apply_email_consent
from shopify_app.retention.customers import delete_customer
from shopify_app.retention.customers import upsert_customer
from webhooks.handlers._common import skip_unknown_shop
from webhooks.registry import DeliveryContext


def handle_customer(
    session: Session, shop: Shop | None, payload: dict[str, Any], ctx: DeliveryContext
) -> None:
    """Store this customer version."""
    if shop is None:
        skip_unknown_shop(ctx)
        return
    upsert_customer(session, shop=shop, payload=payload, event_at=ctx.triggered_at, now=ctx.now)


def handle_customers_delete(
    session: Session, shop: Shop | None, payload: dict[str, Any], ctx: DeliveryContext
) -> None:
    """Mark the customer deleted so no flow writes to them again."""
    if shop is None:
        skip_unknown_shop(ctx)
        return
    delete_customer(session, shop=shop, payload=payload, event_at=ctx.triggered_at, now=ctx.now)


def handle_email_consent_update(
    session: Session, shop: Shop | None, payload: dict[str, Any], ctx: DeliveryContext
) -> None:
    """Apply the customer's email marketing consent (no longer in customer payloads)."""
    if shop is None:
        skip_unknown_shop(ctx)
        return
    apply_email_consent(
        session, shop=shop, payload=payload, event_at=ctx.triggered_at, now=ctx.now
    )
