"""Turn GraphQL Admin API objects into the REST/webhook-shaped dicts the upsert services take.

Backfill (bulk JSONL) and reconciliation (paginated queries) both feed orders and checkouts through
the same `upsert_order` / `upsert_checkout` as webhooks do; this module is the one place that knows
how the two shapes differ, so a field fixed here is fixed for both.
"""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from shopify_app.errors import AppError

# GraphQL's display fulfillment status is richer than REST's; REST has only these values.
_FULFILLMENT_STATUS = {
    "FULFILLED": "fulfilled",
    "PARTIALLY_FULFILLED": "partial",
    "RESTOCKED": "restocked",
}


_MONEY_KEYS = (("shopMoney", "shop_money"), ("presentmentMoney", "presentment_money"))


class UnconvertibleObject(AppError):
    """Raise when a GraphQL object lacks what its REST shape needs (e.g. a checkout token)."""

    status_code = 422


def gid_to_int(gid: object) -> int | None:
    """Return the numeric id in `gid://shopify/Type/123` (REST ids are these numbers)."""
    if gid is None:
        return None
    if isinstance(gid, int):
        return gid
    text = str(gid)
    tail = text.rsplit("/", 1)[-1].split("?", 1)[0]
    try:
        return int(tail)
    except ValueError:
        return None


def gid_type(gid: object) -> str | None:
    """Return the type part of a GID (`Order` for `gid://shopify/Order/1`)."""
    if not isinstance(gid, str) or not gid.startswith("gid://"):
        return None
    parts = gid.split("/")
    return parts[3] if len(parts) > 4 else None


def money_amount(money_bag: object) -> str | None:
    """Return the shop-currency amount of a MoneyBag as REST's decimal string."""
    shop_money = _shop_money(money_bag)
    amount = shop_money.get("amount") if shop_money else None
    return None if amount is None else str(amount)


def money_set(money_bag: object) -> dict[str, Any] | None:
    """Return a MoneyBag as REST's `*_set` object (`shop_money` / `presentment_money`)."""
    if not isinstance(money_bag, Mapping):
        return None
    result: dict[str, Any] = {}
    for graphql_key, rest_key in _MONEY_KEYS:
        money = money_bag.get(graphql_key)
        if isinstance(money, Mapping) and money.get("amount") is not None:
            result[rest_key] = {
                "amount": str(money["amount"]),
                "currency_code": money.get("currencyCode"),
            }
    return result or None


def connection_nodes(connection: object) -> list[dict[str, Any]]:
    """Return the nodes of a connection given as `{nodes: [...]}` or `{edges: [{node}]}`."""
    if not isinstance(connection, Mapping):
        return []
    if isinstance(connection.get("nodes"), list):
        return [n for n in connection["nodes"] if isinstance(n, dict)]
    if isinstance(connection.get("edges"), list):
        return [
            e["node"]
            for e in connection["edges"]
            if isinstance(e, Mapping) and isinstance(e.get("node"), dict)
        ]
    return []


def customer_to_rest(node: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Return a GraphQL Customer as a REST customer object (contact, names, timestamps)."""
    if not node:
        return None
    email_address = node.get("defaultEmailAddress") or {}
    phone_number = node.get("defaultPhoneNumber") or {}
    customer: dict[str, Any] = {
        "id": gid_to_int(node.get("legacyResourceId") or node.get("id")),
        "admin_graphql_api_id": node.get("id"),
        # `Customer.email` is deprecated since 2025-04; prefer the default email address.
        "email": email_address.get("emailAddress") or node.get("email"),
        "phone": phone_number.get("phoneNumber") or node.get("phone"),
        "first_name": node.get("firstName"),
        "last_name": node.get("lastName"),
        "created_at": node.get("createdAt"),
        "updated_at": node.get("updatedAt"),
    }
    state = email_address.get("marketingState")
    if state:
        # Webhooks stopped carrying consent in 2025-01; GraphQL still has it, in REST's terms.
        level = email_address.get("marketingOptInLevel")
        customer["email_marketing_consent"] = {
            "state": str(state).lower(),
            "opt_in_level": str(level).lower() if level else None,
            "consent_updated_at": email_address.get("marketingUpdatedAt"),
        }
    return customer


def order_line_item_to_rest(node: Mapping[str, Any]) -> dict[str, Any]:
    """Return a GraphQL LineItem as a REST order line item."""
    price_bag = node.get("originalUnitPriceSet")
    return {
        "id": gid_to_int(node.get("id")),
        "admin_graphql_api_id": node.get("id"),
        "product_id": gid_to_int((node.get("product") or {}).get("id")),
        "variant_id": gid_to_int((node.get("variant") or {}).get("id")),
        "title": node.get("title"),
        "name": node.get("name") or node.get("title"),
        "variant_title": node.get("variantTitle"),
        "sku": node.get("sku"),
        "quantity": int(node.get("quantity") or 0),
        "price": money_amount(price_bag),
        "price_set": money_set(price_bag),
    }


def refund_to_rest(node: Mapping[str, Any], *, order_id: int | None) -> dict[str, Any]:
    """Return a GraphQL Refund as a REST refund (lines only when the query asked for them)."""
    refund_lines = []
    for line in connection_nodes(node.get("refundLineItems")):
        refund_lines.append(
            {
                "id": gid_to_int(line.get("id")),
                "line_item_id": gid_to_int((line.get("lineItem") or {}).get("id")),
                "quantity": int(line.get("quantity") or 0),
                "subtotal": money_amount(line.get("subtotalSet")),
                "subtotal_set": money_set(line.get("subtotalSet")),
            }
        )
    total = money_amount(node.get("totalRefundedSet"))
    created_at = node.get("createdAt")
    return {
        "id": gid_to_int(node.get("legacyResourceId") or node.get("id")),
        "admin_graphql_api_id": node.get("id"),
        "order_id": order_id,
        "created_at": created_at,
        "processed_at": node.get("processedAt") or created_at,
        "refund_line_items": refund_lines,
        "transactions": (
            [{"kind": "refund", "status": "success", "amount": total}] if total is not None else []
        ),
    }


def order_to_rest(
    node: Mapping[str, Any], line_items: Iterable[Mapping[str, Any]] | None = None
) -> dict[str, Any]:
    """Return a GraphQL Order as the dict an `orders/updated` webhook would carry.

    *line_items* are the order's LineItem children when they came as separate bulk JSONL lines;
    otherwise they are read from the node's `lineItems` connection.
    """
    order_id = gid_to_int(node.get("legacyResourceId") or node.get("id"))
    if order_id is None:
        raise UnconvertibleObject(f"GraphQL order without a usable id: {node.get('id')!r}")
    lines = list(line_items) if line_items is not None else connection_nodes(node.get("lineItems"))
    fulfillment = node.get("displayFulfillmentStatus")
    financial = node.get("displayFinancialStatus")
    total_bag = node.get("totalPriceSet")
    currency = node.get("currencyCode") or (_shop_money(total_bag) or {}).get("currencyCode")
    customer = customer_to_rest(node.get("customer"))
    refunds = node.get("refunds")
    payload: dict[str, Any] = {
        "id": order_id,
        "admin_graphql_api_id": node.get("id"),
        "name": node.get("name"),
        "email": node.get("email") or (customer or {}).get("email"),
        "phone": node.get("phone"),
        "created_at": node.get("createdAt"),
        "updated_at": node.get("updatedAt"),
        "processed_at": node.get("processedAt") or node.get("createdAt"),
        "cancelled_at": node.get("cancelledAt"),
        "test": bool(node.get("test")),
        "currency": currency,
        "presentment_currency": node.get("presentmentCurrencyCode") or currency,
        "total_price": money_amount(total_bag),
        "total_price_set": money_set(total_bag),
        "subtotal_price": money_amount(node.get("subtotalPriceSet")),
        "subtotal_price_set": money_set(node.get("subtotalPriceSet")),
        "total_discounts": money_amount(node.get("totalDiscountsSet")),
        "total_discounts_set": money_set(node.get("totalDiscountsSet")),
        "total_tax": money_amount(node.get("totalTaxSet")),
        "total_tax_set": money_set(node.get("totalTaxSet")),
        "financial_status": str(financial).lower() if financial else None,
        "fulfillment_status": _FULFILLMENT_STATUS.get(str(fulfillment)) if fulfillment else None,
        "checkout_token": node.get("checkoutToken"),
        "cart_token": node.get("cartToken"),
        "source_name": node.get("sourceName"),
        "customer": customer,
        "line_items": [order_line_item_to_rest(line) for line in lines],
    }
    if isinstance(refunds, list):
        payload["refunds"] = [
            refund_to_rest(r, order_id=order_id) for r in refunds if isinstance(r, Mapping)
        ]
    return payload


def checkout_token_from_url(url: object) -> str | None:
    """Return the checkout token inside an `abandonedCheckoutUrl` (`.../<token>/recover?...`).

    GraphQL's AbandonedCheckout has no `token` field, but webhooks key checkouts by token and
    the recovery URL carries it as the path segment before `recover`.
    """
    if not isinstance(url, str) or not url:
        return None
    segments = [s for s in urlsplit(url).path.split("/") if s]
    if "recover" not in segments:
        return None
    index = segments.index("recover")
    if index == 0:
        return None
    token = segments[index - 1]
    return token if token not in {"checkouts", "ac"} else None


def checkout_line_item_to_rest(node: Mapping[str, Any]) -> dict[str, Any]:
    """Return a GraphQL AbandonedCheckoutLineItem as a REST checkout line item."""
    price_bag = node.get("originalUnitPriceSet")
    return {
        "id": node.get("id"),
        "product_id": gid_to_int((node.get("product") or {}).get("id")),
        "variant_id": gid_to_int((node.get("variant") or {}).get("id")),
        "title": node.get("title"),
        "variant_title": node.get("variantTitle"),
        "sku": node.get("sku"),
        "quantity": int(node.get("quantity") or 0),
        "price": money_amount(price_bag),
        "line_price": money_amount(node.get("originalTotalPriceSet")),
    }


def checkout_to_rest(
    node: Mapping[str, Any], line_items: Iterable[Mapping[str, Any]] | None = None
) -> dict[str, Any]:
    """Return a GraphQL AbandonedCheckout as the dict a `checkouts/update` webhook would carry."""
    url = node.get("abandonedCheckoutUrl")
    token = checkout_token_from_url(url)
    if token is None:
        raise UnconvertibleObject(f"abandoned checkout {node.get('id')!r} has no token in its URL")
    lines = list(line_items) if line_items is not None else connection_nodes(node.get("lineItems"))
    total_bag = node.get("totalPriceSet")
    customer = customer_to_rest(node.get("customer"))
    return {
        "token": token,
        "admin_graphql_api_id": node.get("id"),
        "name": node.get("name"),
        "email": (customer or {}).get("email"),
        "phone": (customer or {}).get("phone"),
        "created_at": node.get("createdAt"),
        "updated_at": node.get("updatedAt"),
        "completed_at": node.get("completedAt"),
        "abandoned_checkout_url": url,
        "currency": (_shop_money(total_bag) or {}).get("currencyCode"),
        "total_price": money_amount(total_bag),
        "subtotal_price": money_amount(node.get("subtotalPriceSet")),
        "total_tax": money_amount(node.get("totalTaxSet")),
        "total_discounts": money_amount(node.get("totalDiscountSet")),
        "customer": customer,
        "line_items": [checkout_line_item_to_rest(line) for line in lines],
    }


def _shop_money(money_bag: object) -> Mapping[str, Any] | None:
    if not isinstance(money_bag, Mapping):
        return None
    shop_money = money_bag.get("shopMoney")
    return shop_money if isinstance(shop_money, Mapping) else None
