"""Keep the aggregates in step as orders and refunds arrive, a set of them at a time.

A change re-derives only the customers it touches: their old rows come out of the shop's counters,
their new rows go in, and only the difference is written (see shopify_app.analytics.rollups).
Every step works on the whole set, so noting a batch of orders costs a fixed number of
statements however many orders and customers it holds.
"""

from __future__ import annotations

from collections.abc import Collection
from collections.abc import Mapping
from collections.abc import Sequence
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement
from sqlalchemy import delete
from sqlalchemy import select
from sqlalchemy.orm import Session

from shopify_app.analytics.rollups.customers import rederive_customers
from shopify_app.analytics.rollups.facts import APPLIED_COLUMNS
from shopify_app.analytics.rollups.facts import ORDER_COLUMNS
from shopify_app.analytics.rollups.facts import REFUND_COLUMNS
from shopify_app.analytics.rollups.facts import OrderFact
from shopify_app.analytics.rollups.facts import RefundColumns
from shopify_app.analytics.rollups.facts import fact_of_order
from shopify_app.analytics.rollups.facts import refund_row
from shopify_app.analytics.rollups.facts import shop_context
from shopify_app.analytics.rollups.tables import apply_deltas
from shopify_app.analytics.rollups.tables import bump_version
from shopify_app.analytics.rollups.tables import insert_rows
from shopify_app.analytics.rollups.totals import RollupTotals
from shopify_app.models import Order
from shopify_app.models import Refund
from shopify_app.models import RollupOrder
from shopify_app.models import RollupRefund


def note_order_changed(session: Session, *, shop_id: int, order_id: int) -> None:
    """Bring the aggregates up to date after an order was created, changed or cancelled."""
    note_orders_changed(session, shop_id=shop_id, order_ids=(order_id,))


def note_orders_changed(session: Session, *, shop_id: int, order_ids: Collection[int]) -> None:
    """Bring the aggregates up to date after *order_ids* were stored, changed or deleted."""
    ids = sorted(set(order_ids))
    if not ids:
        return
    shop_currency, zone = shop_context(session, shop_id)
    session.flush()
    new_facts = _current_facts(
        session, shop_id=shop_id, order_ids=ids, shop_currency=shop_currency, zone=zone
    )
    old_facts = _replace_applied_facts(session, shop_id=shop_id, facts=new_facts)

    deltas = RollupTotals()
    keys = {fact.customer_key for fact in (*old_facts.values(), *new_facts.values()) if fact}
    rederive_customers(session, shop_id=shop_id, keys=keys, deltas=deltas)
    _replace_refunds(
        session,
        scope=(RollupRefund.shop_id == shop_id) & RollupRefund.order_id.in_(ids),
        refunds=session.execute(select(*REFUND_COLUMNS).where(Refund.order_id.in_(ids))).all(),
        facts=new_facts,
        zone=zone,
        deltas=deltas,
    )
    apply_deltas(session, shop_id=shop_id, deltas=deltas)
    # Every aggregate is a function of the facts and refunds: unchanged ones change nothing.
    if old_facts != {i: fact for i, fact in new_facts.items() if fact} or any(
        deltas.refunds.values()
    ):
        bump_version(session, shop_id=shop_id)


def note_refund_recorded(session: Session, *, shop_id: int, refund_id: int) -> None:
    """Bring the per-day refund totals up to date after a refund was recorded or changed."""
    note_refunds_recorded(session, shop_id=shop_id, refund_ids=(refund_id,))


def note_refunds_recorded(session: Session, *, shop_id: int, refund_ids: Collection[int]) -> None:
    """Bring the per-day refund totals up to date after *refund_ids* were stored or deleted."""
    ids = sorted(set(refund_ids))
    if not ids:
        return
    shop_currency, zone = shop_context(session, shop_id)
    session.flush()
    refunds = session.execute(select(*REFUND_COLUMNS).where(Refund.id.in_(ids))).all()
    for refund in refunds:
        if refund.shop_id != shop_id:
            raise ValueError(f"refund {refund.id} does not belong to shop {shop_id}")
    facts = _current_facts(
        session,
        shop_id=shop_id,
        order_ids=sorted({refund.order_id for refund in refunds}),
        shop_currency=shop_currency,
        zone=zone,
    )
    deltas = RollupTotals()
    _replace_refunds(
        session,
        scope=(RollupRefund.shop_id == shop_id) & RollupRefund.refund_id.in_(ids),
        refunds=refunds,
        facts=facts,
        zone=zone,
        deltas=deltas,
    )
    apply_deltas(session, shop_id=shop_id, deltas=deltas)
    if any(deltas.refunds.values()):
        bump_version(session, shop_id=shop_id)


def _current_facts(
    session: Session,
    *,
    shop_id: int,
    order_ids: Sequence[int],
    shop_currency: str,
    zone: ZoneInfo,
) -> dict[int, OrderFact | None]:
    """Return what each order contributes now: None for one that does not count or is gone."""
    facts: dict[int, OrderFact | None] = dict.fromkeys(order_ids)
    if not order_ids:
        return facts
    for row in session.execute(
        select(Order.shop_id, *ORDER_COLUMNS).where(Order.id.in_(order_ids))
    ):
        if row.shop_id != shop_id:
            raise ValueError(f"order {row.id} does not belong to shop {shop_id}")
        facts[row.id] = fact_of_order(row, shop_currency=shop_currency, zone=zone)
    return facts


def _replace_applied_facts(
    session: Session, *, shop_id: int, facts: Mapping[int, OrderFact | None]
) -> dict[int, OrderFact]:
    """Record *facts* as the orders' applied contributions; return the ones applied before."""
    old = {
        row.order_id: OrderFact.of_rollup_order(row)
        for row in session.execute(
            delete(RollupOrder)
            .where(RollupOrder.shop_id == shop_id, RollupOrder.order_id.in_(list(facts)))
            .returning(*APPLIED_COLUMNS),
            execution_options={"synchronize_session": False},
        )
    }
    insert_rows(
        session,
        RollupOrder,
        [fact.rollup_order_row(shop_id) for _, fact in sorted(facts.items()) if fact is not None],
    )
    return old


def _replace_refunds(
    session: Session,
    *,
    scope: ColumnElement[bool],
    refunds: Sequence[RefundColumns],
    facts: Mapping[int, OrderFact | None],
    zone: ZoneInfo,
    deltas: RollupTotals,
) -> None:
    """Take the applied refunds in *scope* out and put *refunds* in, re-dated and re-counted.

    Refunds only count against orders that count and whose money is in the shop currency, as
    *facts* (by order id) say now; an applied refund that no longer exists stays out.
    """
    for gone in session.execute(
        delete(RollupRefund)
        .where(scope)
        .returning(RollupRefund.local_date, RollupRefund.amount_cents),
        execution_options={"synchronize_session": False},
    ):
        deltas.refunds[gone.local_date] -= gone.amount_cents
    rows = []
    for refund in sorted(refunds, key=lambda refund: refund.id):
        fact = facts.get(refund.order_id)
        if fact is not None and fact.is_priced:
            rows.append(refund_row(refund, zone=zone))
    insert_rows(session, RollupRefund, rows)
    for row in rows:
        deltas.refunds[row["local_date"]] += row["amount_cents"]
