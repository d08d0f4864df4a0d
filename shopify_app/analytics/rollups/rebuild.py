"""Recompute one shop's aggregates from scratch: the nightly job's check on incremental upkeep.

It derives every customer with the same functions the incremental path uses and writes the sums
in bulk, one multi-row statement per table and batch.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Collection
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete
from sqlalchemy import select
from sqlalchemy.orm import Session

from shopify_app.analytics.rollups.facts import DEFAULT_ACTIVE_DAYS
from shopify_app.analytics.rollups.facts import ORDER_COLUMNS
from shopify_app.analytics.rollups.facts import REFUND_COLUMNS
from shopify_app.analytics.rollups.facts import DerivedCustomer
from shopify_app.analytics.rollups.facts import OrderFact
from shopify_app.analytics.rollups.facts import derive_customer
from shopify_app.analytics.rollups.facts import fact_of_order
from shopify_app.analytics.rollups.facts import refund_row
from shopify_app.analytics.rollups.facts import shop_context
from shopify_app.analytics.rollups.tables import INSERT_BATCH
from shopify_app.analytics.rollups.tables import ROLLUP_MODELS
from shopify_app.analytics.rollups.tables import bump_version
from shopify_app.analytics.rollups.tables import counter_rows
from shopify_app.analytics.rollups.tables import insert_customers
from shopify_app.analytics.rollups.tables import insert_rows
from shopify_app.analytics.rollups.tables import tracked_active_windows
from shopify_app.analytics.rollups.totals import RollupTotals
from shopify_app.models import Order
from shopify_app.models import OrderLine
from shopify_app.models import Refund
from shopify_app.models import RollupOrder
from shopify_app.models import RollupRefund

logger = logging.getLogger(__name__)

# Derived customer rows are written once this many day rows are pending, to bound memory.
PENDING_DAY_ROWS = INSERT_BATCH * 10


def rebuild_rollups(
    session: Session,
    *,
    shop_id: int,
    now: datetime,
    active_days: Collection[int] | None = None,
) -> int:
    """Recompute every aggregate of one shop from its orders; return the orders counted.

    active_days names the windows N whose activity deltas to keep besides the default; None
    keeps the ones the shop keeps now.
    """
    shop_currency, zone = shop_context(session, shop_id)
    session.flush()
    if active_days is None:
        windows = sorted(tracked_active_windows(session, shop_id=shop_id))
    else:
        windows = sorted({DEFAULT_ACTIVE_DAYS, *active_days})
    for model in ROLLUP_MODELS:
        session.execute(
            delete(model).where(model.shop_id == shop_id),
            execution_options={"synchronize_session": False},
        )
    session.expire_all()

    facts = _load_facts(session, shop_id=shop_id, shop_currency=shop_currency, zone=zone)
    priced = {fact.order_id: fact.is_priced for fact in facts}
    totals = RollupTotals()
    customer_count = _write_customers(
        session,
        shop_id=shop_id,
        facts=facts,
        products=_load_products(session, shop_id=shop_id, priced=priced),
        windows=windows,
        totals=totals,
    )
    refunds = _count_refunds(session, shop_id=shop_id, zone=zone, priced=priced, totals=totals)
    for start in range(0, len(facts), INSERT_BATCH):
        insert_rows(
            session,
            RollupOrder,
            [fact.rollup_order_row(shop_id) for fact in facts[start : start + INSERT_BATCH]],
        )
    insert_rows(session, RollupRefund, refunds)
    _write_totals(session, shop_id=shop_id, totals=totals)
    bump_version(session, shop_id=shop_id)
    logger.info(
        "Rebuilt KPI rollups from %d orders and %d customers",
        len(facts),
        customer_count,
        extra={"shop_id": shop_id, "at": now.isoformat()},
    )
    return len(facts)


def _load_facts(
    session: Session, *, shop_id: int, shop_currency: str, zone: ZoneInfo
) -> list[OrderFact]:
    """Return the contribution of every counting order of the shop."""
    facts = []
    for row in session.execute(select(*ORDER_COLUMNS).where(Order.shop_id == shop_id)):
        fact = fact_of_order(row, shop_currency=shop_currency, zone=zone)
        if fact is not None:
            facts.append(fact)
    return facts


def _load_products(
    session: Session, *, shop_id: int, priced: Collection[int]
) -> dict[int, set[int]]:
    """Return the products of each counting order, by order id."""
    products: dict[int, set[int]] = defaultdict(set)
    for order_id, product_id in session.execute(
        select(OrderLine.order_id, OrderLine.product_id).where(
            OrderLine.shop_id == shop_id, OrderLine.product_id.is_not(None)
        )
    ):
        if order_id in priced and product_id is not None:
            products[order_id].add(product_id)
    return products


def _write_customers(
    session: Session,
    *,
    shop_id: int,
    facts: Sequence[OrderFact],
    products: dict[int, set[int]],
    windows: Sequence[int],
    totals: RollupTotals,
) -> int:
    """Derive and insert every customer's rows, adding them to *totals*; return how many."""
    by_customer: dict[str, list[OrderFact]] = defaultdict(list)
    for fact in facts:
        by_customer[fact.customer_key].append(fact)
    pending: list[DerivedCustomer] = []
    pending_days = 0
    for key, customer_facts in by_customer.items():
        derived = derive_customer(
            shop_id=shop_id, key=key, facts=customer_facts, products_by_order=products
        )
        totals.add_customer(derived.days, derived.products, windows)
        pending.append(derived)
        pending_days += len(derived.days)
        if pending_days >= PENDING_DAY_ROWS:
            insert_customers(session, pending)
            pending.clear()
            pending_days = 0
    insert_customers(session, pending)
    return len(by_customer)


def _count_refunds(
    session: Session,
    *,
    shop_id: int,
    zone: ZoneInfo,
    priced: dict[int, bool],
    totals: RollupTotals,
) -> list[dict[str, Any]]:
    """Return the rows of the refunds that count, adding them to the per-day refund totals."""
    rows = []
    for refund in session.execute(select(*REFUND_COLUMNS).where(Refund.shop_id == shop_id)):
        # Refunds only count against orders that count and whose money is in the shop currency.
        if not priced.get(refund.order_id, False):
            continue
        row = refund_row(refund, zone=zone)
        rows.append(row)
        totals.refunds[row["local_date"]] += row["amount_cents"]
    return rows


def _write_totals(session: Session, *, shop_id: int, totals: RollupTotals) -> None:
    """Insert the shop-level counter rows that *totals* add up to, leaving out empty ones."""
    for counter, rows in counter_rows(totals, shop_id=shop_id):
        insert_rows(session, counter.model, [row for row in rows if counter.keeps(row)])
