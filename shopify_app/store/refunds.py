"""Refunds: net revenue, and which lines must never get review or replenishment messages.

A refund never changes once created, so it is stored once by its id, from refunds/create or from
the `refunds` list of any order version. The order's `total_refunded` and each line's
`refunded_quantity` are recomputed from the stored refunds, which makes them independent of the
order in which refunds and order versions arrive.
"""

from __future__ import annotations

from collections.abc import Collection
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.orm import Session

from shopify_app.analytics.rollups.incremental import note_refund_recorded
from shopify_app.models import Order
from shopify_app.models import Refund
from shopify_app.models import RefundLine
from shopify_app.models import Shop
from shopify_app.store.parent_orders import require_parent_order
from shopify_app.store.payloads import as_list
from shopify_app.store.payloads import as_mapping
from shopify_app.store.payloads import parse_datetime
from shopify_app.store.payloads import parse_decimal
from shopify_app.store.payloads import require_id
from shopify_app.store.payloads import shop_money


def record_refund(
    session: Session,
    *,
    shop: Shop,
    payload: Mapping[str, Any],
    event_at: datetime | None,
    now: datetime,
) -> Refund:
    """Store a refunds/create payload once and bring the order's refund totals up to date."""
    order = require_parent_order(session, shop=shop, payload=payload, child="refund")
    refund = store_refund(
        session, shop=shop, order=order, version=read_refund(payload), fallback_at=event_at or now
    )
    refresh_refund_totals(session, order=order)
    session.flush()
    note_refund_recorded(session, shop_id=shop.id, refund_id=refund.id)
    return refund


@dataclass(frozen=True)
class RefundVersion:
    """A refund as stored: `processed_at` is the payload's, the order's when it has none."""

    shopify_id: int
    processed_at: datetime | None
    amount: Decimal
    lines: tuple[Mapping[str, Any], ...]

    def row(self, *, fallback_at: datetime | None) -> dict[str, Any]:
        """Return the refund's columns but its shop and order."""
        return {
            "shopify_id": self.shopify_id,
            "processed_at": self.processed_at or fallback_at,
            "amount": self.amount,
        }


def read_refund(payload: Mapping[str, Any]) -> RefundVersion:
    """Read a refund payload (refunds/create, or an order's `refunds`), lines merged by item."""
    shopify_id = require_id(payload)
    lines: dict[int, dict[str, Any]] = {}
    for line_payload in as_list(payload.get("refund_line_items")):
        if not isinstance(line_payload, Mapping):
            continue
        line_item_id = require_id(line_payload, "line_item_id")
        subtotal = shop_money(line_payload, "subtotal") or Decimal("0")
        quantity = int(line_payload.get("quantity") or 0)
        line = lines.setdefault(
            line_item_id,
            {"shopify_line_item_id": line_item_id, "quantity": 0, "subtotal": Decimal("0")},
        )
        line["quantity"] += quantity
        line["subtotal"] += subtotal
    return RefundVersion(
        shopify_id=shopify_id,
        processed_at=parse_datetime(payload.get("processed_at"))
        or parse_datetime(payload.get("created_at")),
        amount=refund_amount(payload),
        lines=tuple(lines.values()),
    )


def store_refund(
    session: Session,
    *,
    shop: Shop,
    order: Order,
    version: RefundVersion,
    fallback_at: datetime | None = None,
) -> Refund:
    """Insert the refund unless its id is stored already; return the stored one."""
    refund = session.scalar(
        select(Refund).where(Refund.shop_id == shop.id, Refund.shopify_id == version.shopify_id)
    )
    if refund is not None:
        return refund
    refund = Refund(
        shop_id=shop.id,
        order_id=order.id,
        **version.row(fallback_at=fallback_at or order.processed_at),
    )
    refund.lines = [RefundLine(**line) for line in version.lines]
    session.add(refund)
    session.flush()
    return refund


def refund_amount(payload: Mapping[str, Any]) -> Decimal:
    """Return the money refunded: successful refund transactions, else the refunded lines."""
    transactions = [
        t
        for t in as_list(payload.get("transactions"))
        if isinstance(t, Mapping) and t.get("kind") == "refund" and t.get("status") == "success"
    ]
    if transactions:
        return sum((_transaction_amount(t) for t in transactions), Decimal("0"))
    return sum(
        (
            shop_money(line, "subtotal") or Decimal("0")
            for line in as_list(payload.get("refund_line_items"))
            if isinstance(line, Mapping)
        ),
        Decimal("0"),
    )


def _transaction_amount(transaction: Mapping[str, Any]) -> Decimal:
    amount_set = as_mapping(transaction.get("amount_set"))
    shop_amount = as_mapping(amount_set.get("shop_money")) if amount_set else None
    if shop_amount is not None and shop_amount.get("amount") is not None:
        return parse_decimal(shop_amount["amount"]) or Decimal("0")
    return parse_decimal(transaction.get("amount")) or Decimal("0")


def refresh_refund_totals(session: Session, *, order: Order) -> None:
    """Recompute the order's refunded money and each line's refunded quantity from its refunds."""
    session.flush()
    order.total_refunded = refund_totals(session, order_ids=[order.id]).get(order.id, Decimal("0"))
    refunded = refunded_quantities(session, order_ids=[order.id])
    for line in order.lines:
        line.refunded_quantity = refunded.get((order.id, line.shopify_id), 0)


def refund_totals(session: Session, *, order_ids: Collection[int]) -> dict[int, Decimal]:
    """Return the money refunded on each of the orders that has refunds."""
    totals: dict[int, Decimal] = {}
    # Summed in Python: SQLite would add the amounts as floats.
    for order_id, amount in session.execute(
        select(Refund.order_id, Refund.amount).where(Refund.order_id.in_(order_ids))
    ):
        totals[order_id] = totals.get(order_id, Decimal("0")) + amount
    return totals


def refunded_quantities(
    session: Session, *, order_ids: Collection[int]
) -> dict[tuple[int, int], int]:
    """Return each refunded line's quantity refunded so far, by (order id, Shopify line id)."""
    rows = session.execute(
        select(Refund.order_id, RefundLine.shopify_line_item_id, func.sum(RefundLine.quantity))
        .join(Refund, Refund.id == RefundLine.refund_id)
        .where(Refund.order_id.in_(order_ids))
        .group_by(Refund.order_id, RefundLine.shopify_line_item_id)
    )
    return {(order_id, line_id): int(quantity or 0) for order_id, line_id, quantity in rows}
