"""Re-derive a set of customers' rows from their applied facts, noting what changes in totals.

Incremental upkeep calls this for every customer an event touches, old owner and new alike; it
reads and writes each per-customer table once for the whole set.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete
from sqlalchemy import select
from sqlalchemy.orm import Session

from shopify_app.analytics.rollups.facts import APPLIED_COLUMNS
from shopify_app.analytics.rollups.facts import OrderFact
from shopify_app.analytics.rollups.facts import derive_customer
from shopify_app.analytics.rollups.tables import insert_customers
from shopify_app.analytics.rollups.tables import tracked_active_windows
from shopify_app.analytics.rollups.totals import RollupTotals
from shopify_app.models import OrderLine
from shopify_app.models import RollupCustomer
from shopify_app.models import RollupCustomerDay
from shopify_app.models import RollupCustomerMonth
from shopify_app.models import RollupCustomerProduct
from shopify_app.models import RollupOrder

# The per-customer tables, deleted and rewritten whenever one of the customer's orders changes.
CUSTOMER_MODELS = (RollupCustomerDay, RollupCustomerMonth, RollupCustomerProduct, RollupCustomer)


def rederive_customers(
    session: Session, *, shop_id: int, keys: Collection[str], deltas: RollupTotals
) -> None:
    """Replace the rows of the customers *keys* with ones derived from their applied facts.

    What the old rows contributed is taken out of *deltas* and what the new ones contribute is
    added, so *deltas* ends up holding the change to the shop's counters.
    """
    if not keys:
        return
    ordered = sorted(keys)
    windows = sorted(tracked_active_windows(session, shop_id=shop_id))
    _take_out_customers(session, shop_id=shop_id, keys=ordered, windows=windows, deltas=deltas)
    facts: dict[str, list[OrderFact]] = defaultdict(list)
    for row in session.execute(
        select(*APPLIED_COLUMNS).where(
            RollupOrder.shop_id == shop_id, RollupOrder.customer_key.in_(ordered)
        )
    ):
        facts[row.customer_key].append(OrderFact.of_rollup_order(row))
    products = _applied_products(session, shop_id=shop_id, keys=ordered)
    derived = [
        derive_customer(shop_id=shop_id, key=key, facts=customer_facts, products_by_order=products)
        for key, customer_facts in sorted(facts.items())
    ]
    insert_customers(session, derived)
    for customer in derived:
        deltas.add_customer(customer.days, customer.products, windows)


def _applied_products(
    session: Session, *, shop_id: int, keys: Sequence[str]
) -> dict[int, set[int]]:
    """Return the products of each applied order of the customers *keys*, by order id."""
    products: dict[int, set[int]] = defaultdict(set)
    for order_id, product_id in session.execute(
        select(OrderLine.order_id, OrderLine.product_id)
        .join(RollupOrder, RollupOrder.order_id == OrderLine.order_id)
        .where(
            RollupOrder.shop_id == shop_id,
            RollupOrder.customer_key.in_(keys),
            OrderLine.product_id.is_not(None),
        )
    ):
        if product_id is not None:
            products[order_id].add(product_id)
    return products


def _take_out_customers(
    session: Session,
    *,
    shop_id: int,
    keys: Sequence[str],
    windows: Sequence[int],
    deltas: RollupTotals,
) -> None:
    """Delete the customers' rows, taking what they contributed out of *deltas*."""
    # Lock the customers' rows, in key order, so two workers cannot both re-derive one customer.
    session.execute(
        select(RollupCustomer.customer_key)
        .where(RollupCustomer.shop_id == shop_id, RollupCustomer.customer_key.in_(keys))
        .order_by(RollupCustomer.customer_key)
        .with_for_update()
    ).all()
    old = {
        model: _delete_rows(session, model, shop_id=shop_id, keys=keys) for model in CUSTOMER_MODELS
    }
    old_days, old_products = old[RollupCustomerDay], old[RollupCustomerProduct]
    for key, days in old_days.items():
        deltas.add_customer(days, old_products.get(key, []), windows, sign=-1)


def _delete_rows(
    session: Session, model: Any, *, shop_id: int, keys: Sequence[str]
) -> dict[str, list[dict[str, Any]]]:
    """Delete the customers' rows of *model*; return them by customer."""
    table = model.__table__
    deleted: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in session.execute(
        delete(table)
        .where(table.c.shop_id == shop_id, table.c.customer_key.in_(keys))
        .returning(*table.columns)
    ):
        deleted[row.customer_key].append(row._asdict())
    return deleted
