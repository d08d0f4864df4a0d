"""Who a privacy request is about, and the orders and checkouts that name them.

Shopify names the customer by id, email, phone and order ids; a row that carries any of them
belongs to the request, so a guest order with only the email is exported and erased too.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy.orm import Session

from shopify_app.models import Checkout
from shopify_app.models import Customer
from shopify_app.models import Order
from shopify_app.models import Shop


@dataclass(frozen=True)
class DataSubject:
    """The person a request is about: their stored customer and whatever else names them."""

    customer: Customer | None
    shopify_id: int | None
    email: str | None
    phone: str | None = None
    order_ids: Collection[int] = ()


def subject_orders(session: Session, *, shop: Shop, subject: DataSubject) -> list[Order]:
    """Return the shop's orders that name the subject, oldest first."""
    conditions = _naming_conditions(Order, subject)
    if subject.order_ids:
        conditions.append(Order.shopify_id.in_(list(subject.order_ids)))
    if not conditions:
        return []
    return list(
        session.scalars(
            select(Order)
            .where(Order.shop_id == shop.id, or_(*conditions))
            .order_by(Order.processed_at, Order.id)
        )
    )


def subject_checkouts(session: Session, *, shop: Shop, subject: DataSubject) -> list[Checkout]:
    """Return the shop's checkouts that name the subject, in the order they were stored."""
    conditions = _naming_conditions(Checkout, subject)
    if subject.phone:
        conditions.append(Checkout.phone == subject.phone)
    if not conditions:
        return []
    return list(
        session.scalars(
            select(Checkout)
            .where(Checkout.shop_id == shop.id, or_(*conditions))
            .order_by(Checkout.id)
        )
    )


def _naming_conditions(
    model: type[Order] | type[Checkout], subject: DataSubject
) -> list[sa.ColumnElement[bool]]:
    """Return the conditions for a row that names the subject by customer or email."""
    conditions: list[sa.ColumnElement[bool]] = []
    if subject.customer is not None:
        conditions.append(model.customer_id == subject.customer.id)
    if subject.shopify_id is not None:
        conditions.append(model.shopify_customer_id == subject.shopify_id)
    if subject.email:
        conditions.append(func.lower(model.email) == subject.email.strip().lower())
    return conditions
