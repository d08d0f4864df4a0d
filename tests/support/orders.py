"""Unique order payloads built from the sample `orders/create` webhook."""

from __future__ import annotations

import json
from datetime import UTC
from datetime import datetime
from datetime import timedelta
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


VERSIONS_FROM = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def order_version(number: int, version: int, *, customers: int) -> bytes:
    """Version *version* of order *number* as a webhook body: a later `updated_at` and a name
    (`#number-vversion`) for each version, and one of *customers* customers shared by all orders,
    so that batches of different versions write the same order and customer rows."""
    payload = unique_order(number)
    payload["updated_at"] = (VERSIONS_FROM + timedelta(minutes=version)).isoformat()
    payload["name"] = version_name(number, version)
    shared = payload["customer"]
    shared["id"] = 6_000_000_000_000 + number % customers
    shared["admin_graphql_api_id"] = f"gid://shopify/Customer/{shared['id']}"
    shared["email"] = f"shared{number % customers}@example.com"
    payload["email"] = payload["contact_email"] = shared["email"]
    return json.dumps(payload).encode()


def version_name(number: int, version: int) -> str:
    return f"#{number}-v{version}"
