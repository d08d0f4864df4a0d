"""Privacy: export what is stored about a customer, erase it, and erase a whole shop.

Shopify sends `customers/data_request`, `customers/redact` and `shop/redact`; each action is
logged as a `PrivacyRequest` without personal data (only a data request keeps its export, for the
merchant to hand over). Other modules keep their own personal data; they join the redaction by
appending to `CUSTOMER_REDACTORS` and to the export through `CUSTOMER_EXPORTERS`. `redact_shop`
needs no registration: it deletes every row of every table that names the shop (a `shop_id` or
`shop_domain` column, or a foreign key to such a table).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from collections.abc import Collection
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.orm import Session

from shopify_app.errors import NotFound
from shopify_app.messaging import nps
from shopify_app.messaging.outbox import export_outbox
from shopify_app.messaging.outbox import redact_outbox
from shopify_app.models import Base
from shopify_app.models import Checkout
from shopify_app.models import Customer
from shopify_app.models import DeliveryStatus
from shopify_app.models import Fulfillment
from shopify_app.models import Order
from shopify_app.models import PrivacyRequest
from shopify_app.models import Refund
from shopify_app.models import Shop
from shopify_app.models import WebhookDelivery
from shopify_app.store.customers import find_customer
from shopify_app.store.customers import find_or_create_customer
from shopify_app.store.payloads import as_list
from shopify_app.store.payloads import as_mapping
from shopify_app.store.payloads import parse_id
from shopify_app.store.payloads import text

logger = logging.getLogger(__name__)

DATA_REQUEST = "customers/data_request"
CUSTOMER_REDACT = "customers/redact"
SHOP_REDACT = "shop/redact"

CustomerRedactor = Callable[[Session, Shop, Customer | None, str | None, datetime], None]
CustomerExporter = Callable[[Session, Shop, Customer | None, str | None], list[dict[str, Any]]]

CUSTOMER_REDACTORS: list[CustomerRedactor] = []
"""Run by `redact_customer` after the core tables: (session, shop, customer, email, now)."""

CUSTOMER_EXPORTERS: dict[str, CustomerExporter] = {}
"""Extra sections of a data export, by key: (session, shop, customer, email) -> rows."""

# The messaging outbox keeps emails and message contexts: it joins export and redaction.
CUSTOMER_REDACTORS.append(redact_outbox)
CUSTOMER_EXPORTERS["messages"] = export_outbox
# NPS answers stay in the score, unlinked from a redacted customer.
CUSTOMER_REDACTORS.append(nps.redact_answers)
CUSTOMER_EXPORTERS["nps_responses"] = nps.export_answers

REDACTED_PAYLOAD = b'{"redacted":true}'
"""What a processed inbox delivery that mentioned a redacted customer keeps of its body."""

SCRUBBABLE_STATUSES = (DeliveryStatus.DONE, DeliveryStatus.DEAD, DeliveryStatus.IGNORED)

SCRUB_BATCH = 500


class PrivacyRequestNotFound(NotFound):
    pass


# -- export -----------------------------------------------------------------------------------


def export_customer_data(
    session: Session,
    *,
    shop: Shop,
    customer_shopify_id: int | None,
    email: str | None,
    order_ids: Collection[int] = (),
) -> dict[str, Any]:
    """Return everything stored about one customer as JSON-ready data, orders included."""
    customer = find_customer(session, shop=shop, shopify_id=customer_shopify_id)
    email = email or (customer.email if customer is not None else None)
    orders = _customer_orders(
        session,
        shop=shop,
        customer=customer,
        customer_shopify_id=customer_shopify_id,
        email=email,
        order_ids=order_ids,
    )
    checkouts = _customer_checkouts(
        session,
        shop=shop,
        customer=customer,
        customer_shopify_id=customer_shopify_id,
        email=email,
        phone=None,
    )
    export: dict[str, Any] = {
        "shop": shop.domain,
        "customer": _customer_data(customer) if customer is not None else None,
        "orders": [_order_data(session, order) for order in orders],
        "checkouts": [_checkout_data(checkout) for checkout in checkouts],
    }
    for key, exporter in CUSTOMER_EXPORTERS.items():
        export[key] = exporter(session, shop, customer, email)
    return export


def _customer_data(customer: Customer) -> dict[str, Any]:
    return {
        "shopify_id": customer.shopify_id,
        "email": customer.email,
        "phone": customer.phone,
        "first_name": customer.first_name,
        "last_name": customer.last_name,
        "email_consent_state": customer.email_consent_state,
        "email_consent_opt_in_level": customer.email_consent_opt_in_level,
        "email_consent_updated_at": _iso(customer.email_consent_updated_at),
        "unsubscribed_at": _iso(customer.unsubscribed_at),
        "email_bounced_at": _iso(customer.email_bounced_at),
        "created_at": _iso(customer.shopify_created_at),
        "updated_at": _iso(customer.shopify_updated_at),
        "deleted_at": _iso(customer.deleted_at),
        "redacted_at": _iso(customer.redacted_at),
    }


def _order_data(session: Session, order: Order) -> dict[str, Any]:
    refunds = session.scalars(
        select(Refund).where(Refund.order_id == order.id).order_by(Refund.id)
    ).all()
    fulfillments = session.scalars(
        select(Fulfillment).where(Fulfillment.order_id == order.id).order_by(Fulfillment.id)
    ).all()
    return {
        "shopify_id": order.shopify_id,
        "name": order.name,
        "email": order.email,
        "processed_at": _iso(order.processed_at),
        "cancelled_at": _iso(order.cancelled_at),
        "test": order.is_test,
        "financial_status": order.financial_status,
        "fulfillment_status": order.fulfillment_status,
        "currency": order.currency,
        "total_price": _money(order.total_price),
        "subtotal_price": _money(order.subtotal_price),
        "total_discounts": _money(order.total_discounts),
        "total_tax": _money(order.total_tax),
        "total_refunded": _money(order.total_refunded),
        "lines": [
            {
                "shopify_id": line.shopify_id,
                "product_id": line.product_id,
                "variant_id": line.variant_id,
                "title": line.title,
                "variant_title": line.variant_title,
                "sku": line.sku,
                "quantity": line.quantity,
                "price": _money(line.price),
                "refunded_quantity": line.refunded_quantity,
            }
            for line in order.lines
        ],
        "refunds": [
            {
                "shopify_id": refund.shopify_id,
                "processed_at": _iso(refund.processed_at),
                "amount": _money(refund.amount),
            }
            for refund in refunds
        ],
        "fulfillments": [
            {
                "shopify_id": fulfillment.shopify_id,
                "status": fulfillment.status,
                "shipment_status": fulfillment.shipment_status,
                "delivered_at": _iso(fulfillment.delivered_at),
            }
            for fulfillment in fulfillments
        ],
    }


def _checkout_data(checkout: Checkout) -> dict[str, Any]:
    return {
        "token": checkout.token,
        "email": checkout.email,
        "phone": checkout.phone,
        "buyer_accepts_marketing": checkout.buyer_accepts_marketing,
        "currency": checkout.currency,
        "total_price": _money(checkout.total_price),
        "line_items": checkout.line_items,
        "created_at": _iso(checkout.shopify_created_at),
        "updated_at": _iso(checkout.shopify_updated_at),
        "completed_at": _iso(checkout.completed_at),
        "abandoned_checkout_url": checkout.abandoned_checkout_url,
    }


# -- customer redaction -----------------------------------------------------------------------


def redact_customer(
    session: Session,
    *,
    shop: Shop,
    customer_shopify_id: int | None,
    email: str | None,
    order_ids: Collection[int],
    now: datetime,
    phone: str | None = None,
    current_delivery_id: int | None = None,
) -> Customer | None:
    """Erase one customer's personal data from every table; orders stay, anonymised, for KPIs.

    The customer row stays as a redacted tombstone so a late delivery about them stores no
    personal data again. Processed inbox deliveries that mention them lose their body.
    """
    customer: Customer | None = None
    if customer_shopify_id is not None:
        customer = find_or_create_customer(session, shop=shop, shopify_id=customer_shopify_id)
    identifiers = _identifiers(customer, email=email, phone=phone)
    email = email or (customer.email if customer is not None else None)
    phone = phone or (customer.phone if customer is not None else None)
    for order in _customer_orders(
        session,
        shop=shop,
        customer=customer,
        customer_shopify_id=customer_shopify_id,
        email=email,
        order_ids=order_ids,
    ):
        order.email = None
    for checkout in _customer_checkouts(
        session,
        shop=shop,
        customer=customer,
        customer_shopify_id=customer_shopify_id,
        email=email,
        phone=phone,
    ):
        checkout.email = None
        checkout.phone = None
        # The recovery link opens the buyer's checkout with their contact and address.
        checkout.abandoned_checkout_url = None
    if customer is not None:
        customer.email = None
        customer.phone = None
        customer.first_name = None
        customer.last_name = None
        if customer.redacted_at is None:
            customer.redacted_at = now
    if customer_shopify_id is not None:
        # An export made for an earlier data request is personal data too.
        session.execute(
            update(PrivacyRequest)
            .where(
                PrivacyRequest.shop_domain == shop.domain,
                PrivacyRequest.customer_shopify_id == customer_shopify_id,
                PrivacyRequest.export.is_not(None),
            )
            .values(export=sa.null()),
            execution_options={"synchronize_session": "fetch"},
        )
    session.flush()
    for redactor in CUSTOMER_REDACTORS:
        redactor(session, shop, customer, email, now)
    _scrub_inbox(
        session,
        shop_domain=shop.domain,
        identifiers=identifiers,
        numbers=[n for n in (customer_shopify_id, *order_ids) if n is not None],
        current_delivery_id=current_delivery_id,
    )
    session.flush()
    return customer


def _identifiers(customer: Customer | None, *, email: str | None, phone: str | None) -> list[str]:
    values = [email, phone]
    if customer is not None:
        values += [customer.email, customer.phone]
    return sorted({v.strip().lower() for v in values if v and v.strip()})


def _scrub_inbox(
    session: Session,
    *,
    shop_domain: str,
    identifiers: list[str],
    numbers: list[int],
    current_delivery_id: int | None,
) -> None:
    """Empty the stored bodies of processed deliveries that mention the customer.

    Deliveries still queued keep their body: they are processed later and find the customer
    redacted, so they store no personal data.
    """
    number_pattern = (
        re.compile(rb"(?<![0-9])(" + b"|".join(str(n).encode() for n in numbers) + rb")(?![0-9])")
        if numbers
        else None
    )
    needles = [value.encode() for value in identifiers]
    condition: sa.ColumnElement[bool] = WebhookDelivery.status.in_(SCRUBBABLE_STATUSES)
    if current_delivery_id is not None:
        condition = or_(condition, WebhookDelivery.id == current_delivery_id)
    rows = session.execute(
        select(WebhookDelivery.id, WebhookDelivery.payload)
        .where(WebhookDelivery.shop_domain == shop_domain, condition)
        .execution_options(yield_per=SCRUB_BATCH)
    )
    matching = [
        delivery_id
        for delivery_id, payload in rows
        if bytes(payload) != REDACTED_PAYLOAD
        and (
            any(needle in bytes(payload).lower() for needle in needles)
            or (number_pattern is not None and number_pattern.search(bytes(payload)))
        )
    ]
    for start in range(0, len(matching), SCRUB_BATCH):
        session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id.in_(matching[start : start + SCRUB_BATCH]))
            .values(payload=REDACTED_PAYLOAD),
            execution_options={"synchronize_session": False},
        )
    scrubbed = set(matching)
    for obj in list(session.identity_map.values()):
        if isinstance(obj, WebhookDelivery) and obj.id in scrubbed:
            session.expire(obj, ["payload"])


def _customer_orders(
    session: Session,
    *,
    shop: Shop,
    customer: Customer | None,
    customer_shopify_id: int | None,
    email: str | None,
    order_ids: Collection[int],
) -> list[Order]:
    conditions: list[sa.ColumnElement[bool]] = []
    if customer is not None:
        conditions.append(Order.customer_id == customer.id)
    if customer_shopify_id is not None:
        conditions.append(Order.shopify_customer_id == customer_shopify_id)
    if order_ids:
        conditions.append(Order.shopify_id.in_(list(order_ids)))
    if email:
        conditions.append(func.lower(Order.email) == email.strip().lower())
    if not conditions:
        return []
    return list(
        session.scalars(
            select(Order)
            .where(Order.shop_id == shop.id, or_(*conditions))
            .order_by(Order.processed_at, Order.id)
        )
    )


def _customer_checkouts(
    session: Session,
    *,
    shop: Shop,
    customer: Customer | None,
    customer_shopify_id: int | None,
    email: str | None,
    phone: str | None,
) -> list[Checkout]:
    conditions: list[sa.ColumnElement[bool]] = []
    if customer is not None:
        conditions.append(Checkout.customer_id == customer.id)
    if customer_shopify_id is not None:
        conditions.append(Checkout.shopify_customer_id == customer_shopify_id)
    if email:
        conditions.append(func.lower(Checkout.email) == email.strip().lower())
    if phone:
        conditions.append(Checkout.phone == phone)
    if not conditions:
        return []
    return list(
        session.scalars(
            select(Checkout)
            .where(Checkout.shop_id == shop.id, or_(*conditions))
            .order_by(Checkout.id)
        )
    )


# -- shop redaction ---------------------------------------------------------------------------


def redact_shop(
    session: Session,
    *,
    shop_domain: str,
    now: datetime,
    keep_delivery_ids: Collection[int] = (),
) -> int:
    """Delete every row of the shop in every table; return how many rows went.

    *keep_delivery_ids* spares inbox rows still in use (the shop/redact delivery being
    processed); privacy requests are deleted too, and the caller logs the redaction afterwards.
    """
    shop = session.scalar(select(Shop).where(Shop.domain == shop_domain))
    session.flush()
    conditions: dict[str, sa.ColumnElement[bool] | None] = {}
    deleted = 0
    for table in reversed(Base.metadata.sorted_tables):
        if table.name == Shop.__tablename__:
            continue
        condition = _shop_condition(table, shop=shop, shop_domain=shop_domain, memo=conditions)
        if condition is None:
            continue
        if table.name == WebhookDelivery.__tablename__ and keep_delivery_ids:
            condition = sa.and_(condition, table.c.id.not_in(list(keep_delivery_ids)))
        result = session.execute(table.delete().where(condition))
        deleted += result.rowcount or 0  # type: ignore[attr-defined]
    if shop is not None:
        for obj in list(session.identity_map.values()):
            if obj is not shop and getattr(obj, "shop_id", None) == shop.id:
                session.expunge(obj)
        deleted += (
            session.execute(
                sa.delete(Shop).where(Shop.id == shop.id),
                execution_options={"synchronize_session": False},
            ).rowcount
            or 0
        )  # type: ignore[attr-defined]
        session.expunge(shop)
    logger.info("Shop redacted: %d rows deleted", deleted, extra={"shop": shop_domain})
    return deleted


def _shop_condition(
    table: sa.Table,
    *,
    shop: Shop | None,
    shop_domain: str,
    memo: dict[str, sa.ColumnElement[bool] | None],
) -> sa.ColumnElement[bool] | None:
    """Return the condition selecting the shop's rows of *table*, or None if it has none."""
    if table.name in memo:
        return memo[table.name]
    memo[table.name] = None  # guards against foreign-key cycles
    direct: list[sa.ColumnElement[bool]] = []
    if "shop_domain" in table.c:
        direct.append(table.c.shop_domain == shop_domain)
    if "shop_id" in table.c and shop is not None:
        direct.append(table.c.shop_id == shop.id)
    if direct:
        condition: sa.ColumnElement[bool] | None = or_(*direct)
    else:
        via_parents: list[sa.ColumnElement[bool]] = []
        for fk in table.foreign_keys:
            parent = fk.column.table
            if parent.name == Shop.__tablename__:
                if shop is not None:
                    via_parents.append(fk.parent == shop.id)
                continue
            parent_condition = _shop_condition(
                parent, shop=shop, shop_domain=shop_domain, memo=memo
            )
            if parent_condition is not None:
                via_parents.append(
                    fk.parent.in_(select(fk.column).where(parent_condition).scalar_subquery())
                )
        condition = or_(*via_parents) if via_parents else None
    memo[table.name] = condition
    return condition


# -- privacy requests -------------------------------------------------------------------------


def process_data_request(
    session: Session,
    *,
    shop: Shop | None,
    shop_domain: str,
    payload: Mapping[str, Any],
    webhook_id: str | None,
    received_at: datetime,
    now: datetime,
) -> PrivacyRequest:
    """Answer customers/data_request: build the export and keep it for the merchant."""
    customer = as_mapping(payload.get("customer")) or {}
    customer_id = parse_id(customer.get("id"))
    request = _log_request(
        session,
        shop_domain=shop_domain,
        topic=DATA_REQUEST,
        webhook_id=webhook_id,
        customer_shopify_id=customer_id,
        shopify_request_id=parse_id((as_mapping(payload.get("data_request")) or {}).get("id")),
        received_at=received_at,
    )
    if shop is not None:
        request.export = _json_ready(
            export_customer_data(
                session,
                shop=shop,
                customer_shopify_id=customer_id,
                email=text(customer.get("email")),
                order_ids=_ids(payload.get("orders_requested")),
            )
        )
    else:
        request.export = {"shop": shop_domain, "customer": None, "orders": [], "checkouts": []}
    request.completed_at = now
    session.flush()
    logger.info("Answered a customer data request", extra={"shop": shop_domain})
    return request


def process_customer_redaction(
    session: Session,
    *,
    shop: Shop | None,
    shop_domain: str,
    payload: Mapping[str, Any],
    webhook_id: str | None,
    received_at: datetime,
    now: datetime,
    current_delivery_id: int | None = None,
) -> PrivacyRequest:
    """Answer customers/redact: erase the customer, then log that it was done."""
    customer = as_mapping(payload.get("customer")) or {}
    customer_id = parse_id(customer.get("id"))
    if shop is not None:
        redact_customer(
            session,
            shop=shop,
            customer_shopify_id=customer_id,
            email=text(customer.get("email")),
            phone=text(customer.get("phone")),
            order_ids=_ids(payload.get("orders_to_redact")),
            now=now,
            current_delivery_id=current_delivery_id,
        )
    request = _log_request(
        session,
        shop_domain=shop_domain,
        topic=CUSTOMER_REDACT,
        webhook_id=webhook_id,
        customer_shopify_id=customer_id,
        shopify_request_id=None,
        received_at=received_at,
    )
    request.completed_at = now
    session.flush()
    logger.info("Redacted a customer", extra={"shop": shop_domain})
    return request


def process_shop_redaction(
    session: Session,
    *,
    shop_domain: str,
    webhook_id: str | None,
    received_at: datetime,
    now: datetime,
    current_delivery_id: int | None = None,
) -> PrivacyRequest:
    """Answer shop/redact: delete everything of the shop, keeping only the audit record."""
    redact_shop(
        session,
        shop_domain=shop_domain,
        now=now,
        keep_delivery_ids=[current_delivery_id] if current_delivery_id is not None else (),
    )
    request = _log_request(
        session,
        shop_domain=shop_domain,
        topic=SHOP_REDACT,
        webhook_id=webhook_id,
        customer_shopify_id=None,
        shopify_request_id=None,
        received_at=received_at,
    )
    request.completed_at = now
    session.flush()
    return request


def list_privacy_requests(session: Session, *, shop_domain: str) -> list[PrivacyRequest]:
    """Return the shop's privacy requests, newest first."""
    return list(
        session.scalars(
            select(PrivacyRequest)
            .where(PrivacyRequest.shop_domain == shop_domain)
            .order_by(PrivacyRequest.received_at.desc(), PrivacyRequest.id.desc())
        )
    )


_MAX_ID = 2**63 - 1


def load_export(session: Session, *, shop_domain: str, request_id: int) -> dict[str, Any]:
    """Return the export of one of the shop's data requests."""
    if not 0 < request_id <= _MAX_ID:  # no such row, and the database would refuse the number
        raise PrivacyRequestNotFound("No data export with this id for this shop")
    request = session.get(PrivacyRequest, request_id)
    if request is None or request.shop_domain != shop_domain or request.export is None:
        raise PrivacyRequestNotFound("No data export with this id for this shop")
    return request.export


def _log_request(
    session: Session,
    *,
    shop_domain: str,
    topic: str,
    webhook_id: str | None,
    customer_shopify_id: int | None,
    shopify_request_id: int | None,
    received_at: datetime,
) -> PrivacyRequest:
    request = None
    if webhook_id is not None:
        request = session.scalar(
            select(PrivacyRequest).where(
                PrivacyRequest.shop_domain == shop_domain, PrivacyRequest.webhook_id == webhook_id
            )
        )
    if request is None:
        request = PrivacyRequest(
            shop_domain=shop_domain, topic=topic, webhook_id=webhook_id, received_at=received_at
        )
        session.add(request)
    request.customer_shopify_id = customer_shopify_id
    request.shopify_request_id = shopify_request_id
    return request


def _ids(value: Any) -> list[int]:
    return [i for i in (parse_id(v) for v in as_list(value)) if i is not None]


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _money(amount: Decimal | None) -> str | None:
    return str(amount) if amount is not None else None


def _json_ready(data: dict[str, Any]) -> dict[str, Any]:
    """Round-trip through JSON so the stored export is exactly what the merchant downloads."""
    loaded: dict[str, Any] = json.loads(json.dumps(data, default=str))
    return loaded
