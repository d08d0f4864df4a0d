"""Customers as retention needs them: who they are, how to reach them, and their email consent.

Since API 2025-01 consent no longer travels in customer payloads; it comes from the
`customers_email_marketing_consent/update` topic (and GraphQL), applied by `apply_email_consent`.
A redacted customer keeps its row (so KPIs can still tell repeat buyers apart) but never gets
personal data back, whatever late delivery arrives.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shopify_app.models import Customer
from shopify_app.models import Shop
from shopify_app.store.payloads import as_mapping
from shopify_app.store.payloads import is_stale
from shopify_app.store.payloads import parse_datetime
from shopify_app.store.payloads import parse_id
from shopify_app.store.payloads import require_id
from shopify_app.store.payloads import text

logger = logging.getLogger(__name__)

EMAIL_CONSENT_TOPIC = "customers_email_marketing_consent/update"


def upsert_customer(
    session: Session,
    *,
    shop: Shop,
    payload: Mapping[str, Any],
    event_at: datetime | None,
    now: datetime,
) -> Customer:
    """Store a customers/create or customers/update payload unless a newer version is stored."""
    return upsert_customer_snapshot(
        session, shop=shop, payload=payload, version_at=None, event_at=event_at, now=now
    )


def upsert_customer_snapshot(
    session: Session,
    *,
    shop: Shop,
    payload: Mapping[str, Any],
    version_at: datetime | None,
    event_at: datetime | None,
    now: datetime,
) -> Customer:
    """Store a customer object, also one nested in an order or checkout.

    A nested customer often has no `updated_at`; *version_at* (the parent's `updated_at`) stands
    in for it, since the snapshot is as fresh as its parent.
    """
    customer = find_or_create_customer(session, shop=shop, shopify_id=require_id(payload))
    updated_at = parse_datetime(payload.get("updated_at")) or version_at
    if is_stale(
        stored_updated_at=customer.shopify_updated_at,
        stored_event_at=customer.last_event_at,
        updated_at=updated_at,
        event_at=event_at,
    ):
        return customer
    if customer.redacted_at is None:
        customer.email = text(payload.get("email"), limit=320)
        customer.phone = text(payload.get("phone"), limit=64)
        customer.first_name = text(payload.get("first_name"), limit=255)
        customer.last_name = text(payload.get("last_name"), limit=255)
    created_at = parse_datetime(payload.get("created_at"))
    if created_at is not None:
        customer.shopify_created_at = created_at
    customer.shopify_updated_at = updated_at
    customer.last_event_at = event_at
    consent = as_mapping(payload.get("email_marketing_consent"))
    if consent is not None:
        # API versions before 2025-01 still carry consent in the customer payload.
        _apply_consent(customer, consent, event_at=event_at)
    session.flush()
    return customer


def delete_customer(
    session: Session,
    *,
    shop: Shop,
    payload: Mapping[str, Any],
    event_at: datetime | None,
    now: datetime,
) -> Customer:
    """Mark a customer deleted; an unknown one is recorded so a late create cannot revive it."""
    customer = find_or_create_customer(session, shop=shop, shopify_id=require_id(payload))
    if customer.deleted_at is None:
        customer.deleted_at = event_at or now
    session.flush()
    return customer


def apply_email_consent(
    session: Session,
    *,
    shop: Shop,
    payload: Mapping[str, Any],
    event_at: datetime | None,
    now: datetime,
) -> Customer:
    """Apply a customers_email_marketing_consent/update payload unless newer consent is stored."""
    customer = find_or_create_customer(
        session, shop=shop, shopify_id=require_id(payload, "customer_id")
    )
    if customer.redacted_at is None and customer.email is None:
        customer.email = text(payload.get("email_address"), limit=320)
    consent = as_mapping(payload.get("email_marketing_consent")) or {}
    _apply_consent(customer, consent, event_at=event_at)
    session.flush()
    return customer


def find_customer(session: Session, *, shop: Shop, shopify_id: int | None) -> Customer | None:
    if shopify_id is None:
        return None
    return session.scalar(
        select(Customer).where(Customer.shop_id == shop.id, Customer.shopify_id == shopify_id)
    )


def find_or_create_customer(session: Session, *, shop: Shop, shopify_id: int) -> Customer:
    customer = find_customer(session, shop=shop, shopify_id=shopify_id)
    if customer is None:
        customer = Customer(shop_id=shop.id, shopify_id=shopify_id)
        session.add(customer)
        session.flush()
    return customer


def link_nested_customer(
    session: Session,
    *,
    shop: Shop,
    payload: Mapping[str, Any],
    version_at: datetime | None,
    event_at: datetime | None,
    now: datetime,
) -> Customer | None:
    """Store the `customer` nested in an order or checkout; return it (None for guests)."""
    nested = as_mapping(payload.get("customer"))
    if nested is None or parse_id(nested.get("id")) is None:
        return None
    return upsert_customer_snapshot(
        session, shop=shop, payload=nested, version_at=version_at, event_at=event_at, now=now
    )


def _apply_consent(
    customer: Customer, consent: Mapping[str, Any], *, event_at: datetime | None
) -> None:
    updated_at = parse_datetime(consent.get("consent_updated_at")) or event_at
    stored = customer.email_consent_updated_at
    if updated_at is not None and stored is not None and updated_at < stored:
        return
    customer.email_consent_state = text(consent.get("state"), limit=32)
    customer.email_consent_opt_in_level = text(consent.get("opt_in_level"), limit=32)
    customer.email_consent_updated_at = updated_at
