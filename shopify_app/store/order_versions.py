"""One order version read whole from its payload: the order's columns, lines and nested facts.

The single path (`orders.store_order_version`) and the batch path (`order_batches`) both store what
`read_order` returns, so a payload means the same on either. Reading all of it before anything is
written also makes a version that can never be stored (no id, no price, a malformed line) fail
whatever is stored already, so which versions fail does not depend on the order they arrive in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from shopify_app.models import Customer
from shopify_app.store.customers import CustomerSnapshot
from shopify_app.store.customers import nested_snapshot
from shopify_app.store.fulfillments import FulfillmentVersion
from shopify_app.store.fulfillments import read_fulfillment
from shopify_app.store.payloads import InvalidPayload
from shopify_app.store.payloads import as_list
from shopify_app.store.payloads import parse_datetime
from shopify_app.store.payloads import parse_id
from shopify_app.store.payloads import require_id
from shopify_app.store.payloads import shop_currency
from shopify_app.store.payloads import shop_money
from shopify_app.store.payloads import text
from shopify_app.store.refunds import RefundVersion
from shopify_app.store.refunds import read_refund


@dataclass(frozen=True)
class OrderLineVersion:
    shopify_id: int
    columns: Mapping[str, Any]


@dataclass(frozen=True)
class ParsedOrder:
    """An order version as the local model stores it; the customer link is resolved on write."""

    shopify_id: int
    updated_at: datetime | None
    event_at: datetime | None
    columns: Mapping[str, Any]
    currency: str | None
    email: str | None
    customer: CustomerSnapshot | None
    lines: tuple[OrderLineVersion, ...]
    refunds: tuple[RefundVersion, ...]
    fulfillments: tuple[FulfillmentVersion, ...]

    @property
    def has_nested_facts(self) -> bool:
        return bool(self.refunds or self.fulfillments)


def read_order(
    payload: Mapping[str, Any], *, event_at: datetime | None, now: datetime
) -> ParsedOrder:
    """Read an order payload, or raise `InvalidPayload` saying why it can never be stored."""
    shopify_id = require_id(payload)
    total_price = shop_money(payload, "total_price")
    if total_price is None:
        raise InvalidPayload("order payload has no total_price")
    updated_at = parse_datetime(payload.get("updated_at"))
    created_at = parse_datetime(payload.get("created_at"))
    processed_at = parse_datetime(payload.get("processed_at")) or created_at or event_at or now
    columns = {
        "name": text(payload.get("name"), limit=64),
        "checkout_token": text(payload.get("checkout_token"), limit=64),
        "processed_at": processed_at,
        "shopify_created_at": created_at,
        "shopify_updated_at": updated_at,
        "cancelled_at": parse_datetime(payload.get("cancelled_at")),
        "is_test": bool(payload.get("test")),
        "financial_status": text(payload.get("financial_status"), limit=32),
        "fulfillment_status": text(payload.get("fulfillment_status"), limit=32),
        "total_price": total_price,
        "subtotal_price": shop_money(payload, "subtotal_price"),
        "total_discounts": shop_money(payload, "total_discounts"),
        "total_tax": shop_money(payload, "total_tax"),
        "source_name": text(payload.get("source_name"), limit=64),
        "last_event_at": event_at,
    }
    return ParsedOrder(
        shopify_id=shopify_id,
        updated_at=updated_at,
        event_at=event_at,
        columns=columns,
        currency=shop_currency(payload, "total_price"),
        email=text(payload.get("email") or payload.get("contact_email"), limit=320),
        customer=nested_snapshot(payload, version_at=updated_at, event_at=event_at),
        lines=_read_lines(as_list(payload.get("line_items"))),
        refunds=tuple(
            read_refund(r) for r in as_list(payload.get("refunds")) if isinstance(r, Mapping)
        ),
        fulfillments=tuple(
            read_fulfillment(f, event_at=event_at, now=now)
            for f in as_list(payload.get("fulfillments"))
            if isinstance(f, Mapping)
        ),
    )


def order_row(
    parsed: ParsedOrder, *, customer: Customer | None, fallback_currency: str
) -> dict[str, Any]:
    """Return the order columns *parsed* sets, linked to its stored *customer*.

    *fallback_currency* is the stored order's currency, else the shop's: a payload without one
    keeps what is known.
    """
    redacted = customer is not None and customer.redacted_at is not None
    return {
        **parsed.columns,
        "customer_id": customer.id if customer is not None else None,
        "shopify_customer_id": customer.shopify_id if customer is not None else None,
        "email": None if redacted else parsed.email,
        "currency": (parsed.currency or fallback_currency)[:3],
    }


def _read_lines(line_payloads: list[Any]) -> tuple[OrderLineVersion, ...]:
    """Read the version's lines, the first of each id winning, as Shopify never repeats one."""
    lines: dict[int, OrderLineVersion] = {}
    for line_payload in line_payloads:
        if not isinstance(line_payload, Mapping):
            continue
        line_id = require_id(line_payload)
        if line_id in lines:
            continue
        lines[line_id] = OrderLineVersion(
            shopify_id=line_id,
            columns={
                "product_id": parse_id(line_payload.get("product_id")),
                "variant_id": parse_id(line_payload.get("variant_id")),
                "title": text(line_payload.get("title") or line_payload.get("name")),
                "variant_title": text(line_payload.get("variant_title")),
                "sku": text(line_payload.get("sku"), limit=255),
                "quantity": int(line_payload.get("quantity") or 0),
                "price": shop_money(line_payload, "price") or Decimal("0"),
            },
        )
    return tuple(lines.values())
