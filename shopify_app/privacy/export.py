"""Export what is stored about one customer, for a data request or an operator.

The core tables are exported here; other modules keep their own personal data and join the
export with a section in `CUSTOMER_EXPORTERS`.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shopify_app.messaging import nps
from shopify_app.messaging.outbox import export_outbox
from shopify_app.models import Checkout
from shopify_app.models import Customer
from shopify_app.models import Fulfillment
from shopify_app.models import Order
from shopify_app.models import Refund
from shopify_app.models import Shop
from shopify_app.money import amount_text
from shopify_app.privacy.subject import DataSubject
from shopify_app.privacy.subject import subject_checkouts
from shopify_app.privacy.subject import subject_orders
from shopify_app.store.customers import find_customer

CustomerExporter = Callable[[Session, Shop, Customer | None, str | None], list[dict[str, Any]]]

CUSTOMER_EXPORTERS: dict[str, CustomerExporter] = {
    # The messaging outbox keeps emails and message contexts.
    "messages": export_outbox,
    "nps_responses": nps.export_answers,
}
"""Extra sections of a data export, by key: (session, shop, customer, email) -> rows."""


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
    subject = DataSubject(
        customer=customer,
        shopify_id=customer_shopify_id,
        email=email or (customer.email if customer is not None else None),
        order_ids=order_ids,
    )
    orders = subject_orders(session, shop=shop, subject=subject)
    checkouts = subject_checkouts(session, shop=shop, subject=subject)
    export: dict[str, Any] = {
        "shop": shop.domain,
        "customer": _customer_data(customer) if customer is not None else None,
        "orders": [_order_data(session, order) for order in orders],
        "checkouts": [_checkout_data(checkout) for checkout in checkouts],
    }
    for key, exporter in CUSTOMER_EXPORTERS.items():
        export[key] = exporter(session, shop, customer, subject.email)
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
        "total_price": amount_text(order.total_price),
        "subtotal_price": amount_text(order.subtotal_price),
        "total_discounts": amount_text(order.total_discounts),
        "total_tax": amount_text(order.total_tax),
        "total_refunded": amount_text(order.total_refunded),
        "lines": [
            {
                "shopify_id": line.shopify_id,
                "product_id": line.product_id,
                "variant_id": line.variant_id,
                "title": line.title,
                "variant_title": line.variant_title,
                "sku": line.sku,
                "quantity": line.quantity,
                "price": amount_text(line.price),
                "refunded_quantity": line.refunded_quantity,
            }
            for line in order.lines
        ],
        "refunds": _refund_data(session, order),
        "fulfillments": _fulfillment_data(session, order),
    }


def _refund_data(session: Session, order: Order) -> list[dict[str, Any]]:
    refunds = session.scalars(select(Refund).where(Refund.order_id == order.id).order_by(Refund.id))
    return [
        {
            "shopify_id": refund.shopify_id,
            "processed_at": _iso(refund.processed_at),
            "amount": amount_text(refund.amount),
        }
        for refund in refunds
    ]


def _fulfillment_data(session: Session, order: Order) -> list[dict[str, Any]]:
    fulfillments = session.scalars(
        select(Fulfillment).where(Fulfillment.order_id == order.id).order_by(Fulfillment.id)
    )
    return [
        {
            "shopify_id": fulfillment.shopify_id,
            "status": fulfillment.status,
            "shipment_status": fulfillment.shipment_status,
            "delivered_at": _iso(fulfillment.delivered_at),
        }
        for fulfillment in fulfillments
    ]


def _checkout_data(checkout: Checkout) -> dict[str, Any]:
    return {
        "token": checkout.token,
        "email": checkout.email,
        "phone": checkout.phone,
        "buyer_accepts_marketing": checkout.buyer_accepts_marketing,
        "currency": checkout.currency,
        "total_price": amount_text(checkout.total_price),
        "line_items": checkout.line_items,
        "created_at": _iso(checkout.shopify_created_at),
        "updated_at": _iso(checkout.shopify_updated_at),
        "completed_at": _iso(checkout.completed_at),
        "abandoned_checkout_url": checkout.abandoned_checkout_url,
    }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None
