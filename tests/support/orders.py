"""Unique order payloads built from the sample `orders/create` webhook."""

from __future__ import annotations

from typing import Any

from tests.support.payloads import load_payload


def unique_order(number: int, *, base: int = 7_000_000_000_000) -> dict[str, Any]:
    """Return the sample order with its own order, customer and line item ids for *number*."""
    payload = load_payload("orders__create")
    order_id = base + number
    payload["id"] = order_id
    payload["admin_graphql_api_id"] = f"gid://shopify/Order/{order_id}"
    payload["name"] = f"#{number}"
    payload["order_number"] = number
    payload["number"] = number
    email = f"buyer{number}@example.com"
    payload["email"] = email
    payload["contact_email"] = email
    customer = payload.get("customer")
    if customer:
        customer_id = base + 500_000 + number
        customer["id"] = customer_id
        customer["admin_graphql_api_id"] = f"gid://shopify/Customer/{customer_id}"
        customer["email"] = email
    for index, line in enumerate(payload.get("line_items", [])):
        line_id = (base + number) * 10 + index
        line["id"] = line_id
        line["admin_graphql_api_id"] = f"gid://shopify/LineItem/{line_id}"
    return payload
