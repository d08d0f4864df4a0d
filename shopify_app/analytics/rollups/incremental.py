"""Keep the aggregates in step as orders and refunds arrive, one event at a time.

An event re-derives only the customers it touches: their old rows come out of the shop's counters,
their new rows go in, and only the difference is written (see shopify_app.analytics.rollups).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from collections.abc import Sequence
from zoneinfo import ZoneInfo

from sqlalchemy import delete
from sqlalchemy import select
from sqlalchemy.orm import Session

from shopify_app.analytics.rollups.facts import OrderFact
from shopify_app.analytics.rollups.facts import derive_customer
from shopify_app.analytics.rollups.facts import fact_of_order
from shopify_app.analytics.rollups.facts import refund_row
from shopify_app.analytics.rollups.facts import shop_context
from shopify_app.analytics.rollups.tables import apply_deltas
from shopify_app.analytics.rollups.tables import bump_version
from shopify_app.analytics.rollups.tables import insert_customers
from shopify_app.analytics.rollups.tables import tracked_active_windows
from shopify_app.analytics.rollups.totals import RollupTotals
from shopify_app.models import Order
from shopify_app.models import OrderLine
from shopify_app.models import Refund
from shopify_app.models import RollupCustomer
from shopify_app.models import RollupCustomerDay
from shopify_app.models import RollupCustomerMonth
from shopify_app.models import RollupCustomerProduct
from shopify_app.models import RollupOrder
from shopify_app.models import RollupRefund

# The per-customer tables, deleted and rewritten whenever one of the customer's orders changes.
CUSTOMER_MODELS = (RollupCustomerDay, RollupCustomerMonth, RollupCustomerProduct, RollupCustomer)


def note_orders_changed(session: Session, *, shop_id: int, order_ids: Collection[int]) -> None:
    """Bring the aggregates up to date after the orders of a batch were stored."""
    for order_id in sorted(order_ids):
        note_order_changed(session, shop_id=shop_id, order_id=order_id)


def note_order_changed(session: Session, *, shop_id: int, order_id: int) -> None:
    """Bring the aggregates up to date after an order was created, changed or cancelled."""
    shop_currency, zone = shop_context(session, shop_id)
    order = session.get(Order, order_id)
    if order is not None and order.shop_id != shop_id:
        raise ValueError(f"order {order_id} does not belong to shop {shop_id}")
    session.flush()
    new_fact = (
        fact_of_order(order, shop_currency=shop_currency, zone=zone) if order is not None else None
    )
    old_fact = _replace_applied_fact(session, shop_id=shop_id, order_id=order_id, fact=new_fact)

    deltas = RollupTotals()
    windows = sorted(tracked_active_windows(session, shop_id=shop_id))
    for key in sorted({fact.customer_key for fact in (old_fact, new_fact) if fact is not None}):
        _rederive_customer(session, shop_id=shop_id, key=key, windows=windows, deltas=deltas)
    _reapply_order_refunds(session, order_id=order_id, fact=new_fact, zone=zone, deltas=deltas)
    apply_deltas(session, shop_id=shop_id, deltas=deltas)
    # Every aggregate is a function of the facts and refunds: unchanged ones change nothing.
    if old_fact != new_fact or any(deltas.refunds.values()):
        bump_version(session, shop_id=shop_id)


def note_refund_recorded(session: Session, *, shop_id: int, refund_id: int) -> None:
    """Bring the per-day refund totals up to date after a refund was recorded or changed."""
    shop_currency, zone = shop_context(session, shop_id)
    session.flush()
    refund = session.get(Refund, refund_id)
    deltas = RollupTotals()
    if refund is None:
        old = session.get(RollupRefund, refund_id)
        if old is not None:
            deltas.refunds[old.local_date] -= old.amount_cents
            session.delete(old)
    else:
        if refund.shop_id != shop_id:
            raise ValueError(f"refund {refund_id} does not belong to shop {shop_id}")
        order = session.get(Order, refund.order_id)
        fact = (
            fact_of_order(order, shop_currency=shop_currency, zone=zone)
            if order is not None
            else None
        )
        _reapply_refund(session, refund, fact=fact, zone=zone, deltas=deltas)
    apply_deltas(session, shop_id=shop_id, deltas=deltas)
    if any(deltas.refunds.values()):
        bump_version(session, shop_id=shop_id)


def _replace_applied_fact(
    session: Session, *, shop_id: int, order_id: int, fact: OrderFact | None
) -> OrderFact | None:
    """Record *fact* as the order's applied contribution; return the one applied before."""
    old_row = session.get(RollupOrder, order_id)
    old_fact = OrderFact.of_rollup_order(old_row) if old_row is not None else None
    if old_row is not None:
        session.delete(old_row)
        session.flush()
    if fact is not None:
        session.add(RollupOrder(**fact.rollup_order_row(shop_id)))
        session.flush()
    return old_fact


def _reapply_order_refunds(
    session: Session, *, order_id: int, fact: OrderFact | None, zone: ZoneInfo, deltas: RollupTotals
) -> None:
    """Re-date and re-count the order's refunds, and take out those that no longer exist."""
    for refund in session.scalars(select(Refund).where(Refund.order_id == order_id)).all():
        _reapply_refund(session, refund, fact=fact, zone=zone, deltas=deltas)
    for gone in session.scalars(
        select(RollupRefund).where(
            RollupRefund.order_id == order_id,
            RollupRefund.refund_id.not_in(select(Refund.id).where(Refund.order_id == order_id)),
        )
    ).all():
        deltas.refunds[gone.local_date] -= gone.amount_cents
        session.delete(gone)


def _reapply_refund(
    session: Session,
    refund: Refund,
    *,
    fact: OrderFact | None,
    zone: ZoneInfo,
    deltas: RollupTotals,
) -> None:
    old = session.get(RollupRefund, refund.id)
    # Refunds only count against orders that count and whose money is in the shop currency.
    new = refund_row(refund, zone=zone) if fact is not None and fact.is_priced else None
    if old is not None:
        deltas.refunds[old.local_date] -= old.amount_cents
        session.delete(old)
        session.flush()
    if new is not None:
        deltas.refunds[new["local_date"]] += new["amount_cents"]
        session.add(RollupRefund(**new))
        session.flush()


def _rederive_customer(
    session: Session, *, shop_id: int, key: str, windows: Sequence[int], deltas: RollupTotals
) -> None:
    """Replace one customer's rows with ones derived from their applied facts, noting the change."""
    _take_out_customer(session, shop_id=shop_id, key=key, windows=windows, deltas=deltas)
    facts = [
        OrderFact.of_rollup_order(row)
        for row in session.scalars(
            select(RollupOrder).where(
                RollupOrder.shop_id == shop_id, RollupOrder.customer_key == key
            )
        ).all()
    ]
    if not facts:
        return
    products: dict[int, set[int]] = defaultdict(set)
    for order_id, product_id in session.execute(
        select(OrderLine.order_id, OrderLine.product_id).where(
            OrderLine.order_id.in_([f.order_id for f in facts]),
            OrderLine.product_id.is_not(None),
        )
    ):
        if product_id is not None:
            products[order_id].add(product_id)
    derived = derive_customer(shop_id=shop_id, key=key, facts=facts, products_by_order=products)
    insert_customers(session, [derived])
    deltas.add_customer(derived.days, derived.products, windows)


def _take_out_customer(
    session: Session, *, shop_id: int, key: str, windows: Sequence[int], deltas: RollupTotals
) -> None:
    """Delete one customer's rows, taking what they contributed out of *deltas*."""
    # Lock the customer's row so two workers cannot both re-derive the same customer at once.
    locked = session.scalar(
        select(RollupCustomer)
        .where(RollupCustomer.shop_id == shop_id, RollupCustomer.customer_key == key)
        .with_for_update()
    )
    old_days = session.scalars(
        select(RollupCustomerDay).where(
            RollupCustomerDay.shop_id == shop_id, RollupCustomerDay.customer_key == key
        )
    ).all()
    old_products = session.scalars(
        select(RollupCustomerProduct).where(
            RollupCustomerProduct.shop_id == shop_id, RollupCustomerProduct.customer_key == key
        )
    ).all()
    deltas.add_customer(old_days, old_products, windows, sign=-1)
    for model in CUSTOMER_MODELS:
        session.execute(
            delete(model).where(model.shop_id == shop_id, model.customer_key == key),
            execution_options={"synchronize_session": False},
        )
    # The rows just deleted in bulk must not linger in the identity map.
    for stale in (locked, *old_days, *old_products):
        if stale is not None:
            session.expunge(stale)
