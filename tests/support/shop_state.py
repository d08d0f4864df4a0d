"""A shop's stored state without surrogate keys: what two ways of ingesting one stream must share.

Rows are plain dicts keyed by column; links between rows and the rollups' customer keys are
resolved to Shopify ids, so two shops (or two databases) that stored the same events compare
equal whatever ids their rows got. Money is normalised (SQLite and PostgreSQL hand Decimals back
with different exponents) so rows also sort the same way on both backends.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from collections.abc import Mapping
from datetime import date
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import inspect
from sqlalchemy import select
from sqlalchemy.orm import Session

from shopify_app.analytics.kpis.summary import load_summary
from shopify_app.analytics.rollups.tables import ROLLUP_MODELS
from shopify_app.models import Checkout
from shopify_app.models import Customer
from shopify_app.models import Fulfillment
from shopify_app.models import Order
from shopify_app.models import Refund
from shopify_app.models import Shop

SURROGATE_COLUMNS = {
    "id",
    "shop_id",
    "created_at",
    "order_id",
    "refund_id",
    "customer_id",
    "recovered_order_id",
}
"""Columns that hold the database's own ids (or the time a row was written), never compared."""


@dataclasses.dataclass(frozen=True)
class KpiWindow:
    """The KPI period read into the state, and the clock it is read at."""

    start: date
    end: date
    now: datetime


def plain(value: Any) -> Any:
    """Return *value* with Decimals normalised, inside lists and dicts too."""
    if isinstance(value, Decimal):
        return value.normalize()
    if isinstance(value, Mapping):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    return value


def row(obj: Any) -> dict[str, Any]:
    """Return the mapped columns of *obj* but its surrogate ones."""
    return {
        attr.key: plain(getattr(obj, attr.key))
        for attr in inspect(obj).mapper.column_attrs
        if attr.key not in SURROGATE_COLUMNS
    }


def _sorted(rows: Any) -> list[dict[str, Any]]:
    return sorted(rows, key=str)


def final_state(session: Session, shop: Shop, *, kpis: KpiWindow | None = None) -> dict[str, Any]:
    """Return the shop's local model, rollups and (given *kpis*) KPI summary, links resolved."""
    session.expire_all()
    owned = Order.shop_id == shop.id
    orders = session.scalars(select(Order).where(owned)).all()
    order_ids = {order.id: order.shopify_id for order in orders}
    customers = session.scalars(select(Customer).where(Customer.shop_id == shop.id)).all()
    customer_ids = {customer.id: customer.shopify_id for customer in customers}
    refunds = session.scalars(select(Refund).where(Refund.shop_id == shop.id)).all()
    refund_ids = {refund.id: refund.shopify_id for refund in refunds}
    checkouts = session.scalars(select(Checkout).where(Checkout.shop_id == shop.id))
    fulfillments = session.scalars(select(Fulfillment).where(Fulfillment.shop_id == shop.id))
    state: dict[str, Any] = {
        "orders": _sorted(
            {
                **row(order),
                "customer": customer_ids.get(order.customer_id or 0),
                "lines": _sorted(row(line) for line in order.lines),
            }
            for order in orders
        ),
        "customers": _sorted(row(customer) for customer in customers),
        "checkouts": _sorted(
            {
                **row(checkout),
                "customer": customer_ids.get(checkout.customer_id or 0),
                "recovered_order": order_ids.get(checkout.recovered_order_id or 0),
            }
            for checkout in checkouts
        ),
        "refunds": _sorted(
            {
                **row(refund),
                "order": order_ids[refund.order_id],
                "lines": _sorted(row(line) for line in refund.lines),
            }
            for refund in refunds
        ),
        "fulfillments": _sorted(
            {**row(fulfillment), "order": order_ids[fulfillment.order_id]}
            for fulfillment in fulfillments
        ),
        "rollups": rollup_rows(
            session,
            shop,
            resolve=_resolver(orders=order_ids, customers=customer_ids, refunds=refund_ids),
        ),
    }
    if kpis is not None:
        summary = load_summary(
            session, shop_id=shop.id, period_start=kpis.start, period_end=kpis.end, now=kpis.now
        )
        state["kpis"] = plain(dataclasses.asdict(summary))
    session.commit()
    return state


def _resolver(
    *, orders: dict[int, int], customers: dict[int, int], refunds: dict[int, int]
) -> Callable[[str, Any], Any]:
    """Return a function that maps a rollup column's value from local ids to Shopify ids."""

    def resolve(column: str, value: Any) -> Any:
        if column == "order_id":
            return orders[value]
        if column == "refund_id":
            return refunds[value]
        if column == "customer_key" and value[:2] == "c:":
            return f"c:{customers[int(value[2:])]}"
        if column == "customer_key" and value[:2] == "o:":
            return f"o:{orders[int(value[2:])]}"
        return plain(value)

    return resolve


def rollup_rows(
    session: Session, shop: Shop, *, resolve: Callable[[str, Any], Any]
) -> dict[str, list[dict[str, Any]]]:
    """Return every rollup row of *shop* by table, its values passed through *resolve*."""
    tables: dict[str, list[dict[str, Any]]] = {}
    for model in ROLLUP_MODELS:
        table = model.__table__
        rows = session.execute(select(table).where(table.c.shop_id == shop.id)).mappings()
        tables[table.name] = _sorted(
            {
                column: resolve(column, value)
                for column, value in item.items()
                if column != "shop_id"
            }
            for item in rows
        )
    return tables
