"""A shop's stored state without surrogate keys, so two shops fed alike compare equal."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Table
from sqlalchemy import inspect
from sqlalchemy import select
from sqlalchemy.orm import Session

from shopify_app.analytics.rollups.tables import ROLLUP_MODELS
from shopify_app.models import Checkout
from shopify_app.models import Customer
from shopify_app.models import Fulfillment
from shopify_app.models import Order
from shopify_app.models import Refund
from shopify_app.models import Shop

IGNORED_COLUMNS = {
    "id",
    "shop_id",
    "created_at",
    "order_id",
    "refund_id",
    "customer_id",
    "recovered_order_id",
}


def _row(obj: Any) -> dict[str, Any]:
    return {
        attr.key: getattr(obj, attr.key)
        for attr in inspect(obj).mapper.column_attrs
        if attr.key not in IGNORED_COLUMNS
    }


def final_state(session: Session, shop: Shop) -> dict[str, Any]:
    """Return the shop's local model without surrogate keys, links resolved to Shopify ids."""
    session.expire_all()
    orders = session.scalars(select(Order).where(Order.shop_id == shop.id)).all()
    order_ids = {order.id: order.shopify_id for order in orders}
    customers = session.scalars(select(Customer).where(Customer.shop_id == shop.id)).all()
    customer_ids = {customer.id: customer.shopify_id for customer in customers}
    checkouts = session.scalars(select(Checkout).where(Checkout.shop_id == shop.id)).all()
    state = {
        "orders": sorted(
            (
                {
                    **_row(order),
                    "customer": customer_ids.get(order.customer_id or 0),
                    "lines": sorted((_row(line) for line in order.lines), key=str),
                }
                for order in orders
            ),
            key=str,
        ),
        "customers": sorted((_row(c) for c in customers), key=str),
        "checkouts": sorted(
            (
                {
                    **_row(checkout),
                    "customer": customer_ids.get(checkout.customer_id or 0),
                    "recovered_order": order_ids.get(checkout.recovered_order_id or 0),
                }
                for checkout in checkouts
            ),
            key=str,
        ),
        "refunds": sorted(
            (
                {
                    **_row(r),
                    "order": order_ids[r.order_id],
                    "lines": sorted((_row(line) for line in r.lines), key=str),
                }
                for r in session.scalars(select(Refund).where(Refund.shop_id == shop.id))
            ),
            key=str,
        ),
        "fulfillments": sorted(
            (
                {**_row(f), "order": order_ids[f.order_id]}
                for f in session.scalars(select(Fulfillment).where(Fulfillment.shop_id == shop.id))
            ),
            key=str,
        ),
    }
    session.commit()
    return state


def rollup_state(session: Session, shop: Shop) -> dict[str, list[tuple[Any, ...]]]:
    """Return every rollup row of the shop, local ids in them replaced by Shopify ids."""
    session.expire_all()
    orders = dict(
        session.execute(select(Order.id, Order.shopify_id).where(Order.shop_id == shop.id)).all()
    )
    refunds = dict(
        session.execute(select(Refund.id, Refund.shopify_id).where(Refund.shop_id == shop.id)).all()
    )
    customers = dict(
        session.execute(
            select(Customer.id, Customer.shopify_id).where(Customer.shop_id == shop.id)
        ).all()
    )
    owners = {"c": customers, "o": orders}

    def shopify_key(key: str) -> str:
        kind, _, local = key.partition(":")
        return f"{kind}:{owners[kind][int(local)]}" if kind in owners else key

    translate: dict[str, Callable[[Any], Any]] = {
        "order_id": orders.__getitem__,
        "refund_id": refunds.__getitem__,
        "customer_key": shopify_key,
    }
    tables: dict[str, list[tuple[Any, ...]]] = {}
    for model in ROLLUP_MODELS:
        table: Table = model.__table__
        rows = session.execute(select(table).where(table.c.shop_id == shop.id)).mappings().all()
        tables[table.name] = sorted(
            tuple(
                (name, translate[name](value) if name in translate else value)
                for name, value in row.items()
                if name != "shop_id"
            )
            for row in rows
        )
    session.commit()
    return tables
