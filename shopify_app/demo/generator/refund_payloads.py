"""Render refunds/create: the lines given back, the restock, and the refund transaction."""

from __future__ import annotations

from typing import Any

from shopify_app.demo.generator.facts import Order
from shopify_app.demo.generator.facts import Refund
from shopify_app.demo.generator.facts import RefundLine
from shopify_app.demo.generator.fulfillment_payloads import line_item
from shopify_app.demo.generator.rendering import ZERO
from shopify_app.demo.generator.rendering import ShopFormat
from shopify_app.demo.generator.rendering import fill
from shopify_app.demo.generator.rendering import part
from shopify_app.money import cents_text

_TOPIC = "refunds/create"


def refund_payload(fmt: ShopFormat, order: Order, refund: Refund) -> dict[str, Any]:
    """Return *refund* of *order* as refunds/create (and the order's `refunds`) carry it."""
    return fill(
        part(_TOPIC),
        id=refund.id,
        order_id=order.id,
        created_at=fmt.time(refund.created_at),
        note=refund.note,
        user_id=None,
        processed_at=fmt.time(refund.created_at),
        restock=refund.restock,
        admin_graphql_api_id=f"gid://shopify/Refund/{refund.id}",
        refund_line_items=[_refund_line(fmt, order, refund, line) for line in refund.lines],
        transactions=[_refund_transaction(fmt, order, refund)],
    )


def _restock_type(order: Order, refund: Refund) -> str:
    if order.is_cancelled or not order.fulfillments:
        return "cancel"
    return "return" if refund.restock else "no_restock"


def _refund_line(
    fmt: ShopFormat, order: Order, refund: Refund, refund_line: RefundLine
) -> dict[str, Any]:
    line = refund_line.line
    return fill(
        part(_TOPIC, "refund_line_items", 0),
        id=refund_line.id,
        quantity=refund_line.quantity,
        line_item_id=line.id,
        location_id=fmt.shop.location_id if refund.restock else None,
        restock_type=_restock_type(order, refund),
        subtotal=float(refund_line.subtotal),
        total_tax=0.0,
        subtotal_set=fmt.money_set(refund_line.subtotal),
        total_tax_set=fmt.money_set(ZERO),
        line_item=line_item(
            fmt,
            line,
            part(_TOPIC, "refund_line_items", 0, "line_item"),
            quantity=line.quantity,
            fulfilled=bool(order.fulfillments),
        ),
    )


def _refund_transaction(fmt: ShopFormat, order: Order, refund: Refund) -> dict[str, Any]:
    currency = fmt.shop.currency
    return fill(
        part(_TOPIC, "transactions", 0),
        id=refund.transaction_id,
        order_id=order.id,
        kind="refund",
        gateway=order.gateway,
        status="success",
        message="Bogus Gateway: Forced success" if order.is_test else "Refund processed",
        created_at=fmt.time(refund.created_at),
        test=order.is_test,
        authorization=None,
        parent_id=order.sale_transaction_id,
        processed_at=fmt.time(refund.created_at),
        source_name="web",
        amount=cents_text(refund.amount),
        currency=currency,
        payment_id=f"{order.confirmation_number}.{order.refunds.index(refund) + 1}",
        total_unsettled_set={
            "presentment_money": {"amount": "0.0", "currency": currency},
            "shop_money": {"amount": "0.0", "currency": currency},
        },
        admin_graphql_api_id=f"gid://shopify/OrderTransaction/{refund.transaction_id}",
    )
