"""Customers as retention needs them: who they are, how to reach them, and their email consent.

Since API 2025-01 consent no longer travels in customer payloads; it comes from the
`customers_email_marketing_consent/update` topic (and GraphQL), applied by `apply_email_consent`.
A redacted customer keeps its row (so KPIs can still tell repeat buyers apart) but never gets
personal data back, whatever late delivery arrives.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
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
# The columns `apply_snapshot` may write; the batch path upserts exactly these.
SNAPSHOT_COLUMNS = (
    "email",
    "phone",
    "first_name",
    "last_name",
    "shopify_created_at",
    "shopify_updated_at",
    "last_event_at",
    "email_consent_state",
    "email_consent_opt_in_level",
    "email_consent_updated_at",
)


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
    snapshot = read_snapshot(payload, version_at=version_at, event_at=event_at)
    return store_snapshot(session, shop=shop, snapshot=snapshot)


@dataclass(frozen=True)
class Consent:
    state: str | None
    opt_in_level: str | None
    updated_at: datetime | None


@dataclass(frozen=True)
class CustomerSnapshot:
    """A customer version read whole from its payload, before anything is written."""

    shopify_id: int
    updated_at: datetime | None
    event_at: datetime | None
    personal: Mapping[str, str | None]
    created_at: datetime | None
    consent: Consent | None


def read_snapshot(
    payload: Mapping[str, Any], *, version_at: datetime | None, event_at: datetime | None
) -> CustomerSnapshot:
    """Read a customer payload; the single and the batch path apply what this returns."""
    consent = as_mapping(payload.get("email_marketing_consent"))
    return CustomerSnapshot(
        shopify_id=require_id(payload),
        updated_at=parse_datetime(payload.get("updated_at")) or version_at,
        event_at=event_at,
        personal={
            "email": text(payload.get("email"), limit=320),
            "phone": text(payload.get("phone"), limit=64),
            "first_name": text(payload.get("first_name"), limit=255),
            "last_name": text(payload.get("last_name"), limit=255),
        },
        created_at=parse_datetime(payload.get("created_at")),
        # API versions before 2025-01 still carry consent in the customer payload.
        consent=read_consent(consent, event_at=event_at) if consent is not None else None,
    )


def nested_snapshot(
    payload: Mapping[str, Any], *, version_at: datetime | None, event_at: datetime | None
) -> CustomerSnapshot | None:
    """Read the `customer` nested in an order or checkout (None for guests)."""
    nested = as_mapping(payload.get("customer"))
    if nested is None or parse_id(nested.get("id")) is None:
        return None
    return read_snapshot(nested, version_at=version_at, event_at=event_at)


def store_snapshot(session: Session, *, shop: Shop, snapshot: CustomerSnapshot) -> Customer:
    """Apply *snapshot* to its customer, recorded first if unknown (the single path)."""
    customer = find_or_create_customer(session, shop=shop, shopify_id=snapshot.shopify_id)
    apply_snapshot(customer, snapshot)
    session.flush()
    return customer


def apply_snapshot(customer: Customer, snapshot: CustomerSnapshot) -> None:
    """Apply *snapshot* to *customer* unless a newer version is stored; leave the write to flush."""
    if is_stale(
        stored_updated_at=customer.shopify_updated_at,
        stored_event_at=customer.last_event_at,
        updated_at=snapshot.updated_at,
        event_at=snapshot.event_at,
    ):
        return
    if customer.redacted_at is None:
        for name, value in snapshot.personal.items():
            setattr(customer, name, value)
    if snapshot.created_at is not None:
        customer.shopify_created_at = snapshot.created_at
    customer.shopify_updated_at = snapshot.updated_at
    customer.last_event_at = snapshot.event_at
    if snapshot.consent is not None:
        _apply_consent(customer, snapshot.consent)


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
    _apply_consent(customer, read_consent(consent, event_at=event_at))
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
    snapshot = nested_snapshot(payload, version_at=version_at, event_at=event_at)
    return store_snapshot(session, shop=shop, snapshot=snapshot) if snapshot is not None else None


def read_consent(consent: Mapping[str, Any], *, event_at: datetime | None) -> Consent:
    return Consent(
        state=text(consent.get("state"), limit=32),
        opt_in_level=text(consent.get("opt_in_level"), limit=32),
        updated_at=parse_datetime(consent.get("consent_updated_at")) or event_at,
    )


def _apply_consent(customer: Customer, consent: Consent) -> None:
    stored = customer.email_consent_updated_at
    if consent.updated_at is not None and stored is not None and consent.updated_at < stored:
        return
    customer.email_consent_state = consent.state
    customer.email_consent_opt_in_level = consent.opt_in_level
    customer.email_consent_updated_at = consent.updated_at
