"""GraphQL orders and abandoned checkouts become the same dicts webhooks deliver."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from shopify_app.gateway.bulk import BulkResultCorrupt
from shopify_app.gateway.bulk import group_bulk_objects
from shopify_app.store.sync import graphql_shapes
from shopify_app.store.sync.graphql_shapes import UnconvertibleObject

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def _money(amount: str, currency: str = "EUR") -> dict[str, Any]:
    return {
        "shopMoney": {"amount": amount, "currencyCode": currency},
        "presentmentMoney": {"amount": amount, "currencyCode": "USD"},
    }


def _order_node(**overrides: Any) -> dict[str, Any]:
    node: dict[str, Any] = {
        "id": "gid://shopify/Order/820982911946154508",
        "name": "#1001",
        "email": "jon@example.com",
        "createdAt": "2026-02-01T10:00:00Z",
        "updatedAt": "2026-02-02T11:30:00Z",
        "processedAt": "2026-02-01T10:00:05Z",
        "cancelledAt": None,
        "test": False,
        "currencyCode": "EUR",
        "presentmentCurrencyCode": "USD",
        "checkoutToken": "abc123token",
        "sourceName": "web",
        "displayFinancialStatus": "PARTIALLY_REFUNDED",
        "displayFulfillmentStatus": "PARTIALLY_FULFILLED",
        "totalPriceSet": _money("121.40"),
        "subtotalPriceSet": _money("104.95"),
        "totalDiscountsSet": _money("10.00"),
        "totalTaxSet": _money("16.45"),
        "customer": {
            "id": "gid://shopify/Customer/115310627314723954",
            "firstName": "Jon",
            "lastName": "Snow",
            "createdAt": "2025-12-01T00:00:00Z",
            "updatedAt": "2026-02-01T10:00:00Z",
            "defaultEmailAddress": {
                "emailAddress": "jon@example.com",
                "marketingState": "SUBSCRIBED",
                "marketingOptInLevel": "CONFIRMED_OPT_IN",
                "marketingUpdatedAt": "2026-01-05T08:00:00Z",
            },
            "defaultPhoneNumber": {"phoneNumber": "+4915112345678"},
        },
        "refunds": [
            {
                "id": "gid://shopify/Refund/890088186047892319",
                "createdAt": "2026-02-03T09:00:00Z",
                "totalRefundedSet": _money("89.99"),
                "refundLineItems": {
                    "nodes": [
                        {
                            "id": "gid://shopify/RefundLineItem/1",
                            "quantity": 1,
                            "lineItem": {"id": "gid://shopify/LineItem/487817672276298554"},
                            "subtotalSet": _money("89.99"),
                        }
                    ]
                },
            }
        ],
        "lineItems": {
            "nodes": [
                {
                    "id": "gid://shopify/LineItem/487817672276298554",
                    "title": "Aviator sunglasses",
                    "name": "Aviator sunglasses - Gold",
                    "variantTitle": "Gold",
                    "sku": "SKU2006-001",
                    "quantity": 2,
                    "product": {"id": "gid://shopify/Product/788032119674292922"},
                    "variant": {"id": "gid://shopify/ProductVariant/642667041472713922"},
                    "originalUnitPriceSet": _money("89.99"),
                },
                {
                    "id": "gid://shopify/LineItem/976318377106520349",
                    "title": "Gift wrapping",
                    "variantTitle": None,
                    "sku": None,
                    "quantity": 1,
                    "product": None,
                    "variant": None,
                    "originalUnitPriceSet": _money("3.00"),
                },
            ]
        },
    }
    node.update(overrides)
    return node


def test_order_ids_money_and_statuses_take_the_rest_webhook_shape() -> None:
    payload = graphql_shapes.order_to_rest(_order_node())

    assert payload["id"] == 820982911946154508
    assert payload["updated_at"] == "2026-02-02T11:30:00Z"
    assert payload["total_price_set"]["shop_money"] == {"amount": "121.40", "currency_code": "EUR"}
    assert payload["total_price_set"]["presentment_money"]["currency_code"] == "USD"
    assert payload["subtotal_price_set"]["shop_money"]["amount"] == "104.95"
    assert payload["total_discounts_set"]["shop_money"]["amount"] == "10.00"
    assert payload["total_tax_set"]["shop_money"]["amount"] == "16.45"
    assert payload["currency"] == "EUR"
    assert payload["financial_status"] == "partially_refunded"
    assert payload["fulfillment_status"] == "partial"
    assert payload["checkout_token"] == "abc123token"
    assert payload["test"] is False


def test_order_line_items_carry_numeric_product_and_variant_ids_and_shop_money_price() -> None:
    lines = graphql_shapes.order_to_rest(_order_node())["line_items"]

    assert lines[0] == {
        "id": 487817672276298554,
        "admin_graphql_api_id": "gid://shopify/LineItem/487817672276298554",
        "product_id": 788032119674292922,
        "variant_id": 642667041472713922,
        "title": "Aviator sunglasses",
        "name": "Aviator sunglasses - Gold",
        "variant_title": "Gold",
        "sku": "SKU2006-001",
        "quantity": 2,
        "price": "89.99",
        "price_set": {
            "shop_money": {"amount": "89.99", "currency_code": "EUR"},
            "presentment_money": {"amount": "89.99", "currency_code": "USD"},
        },
    }
    # A custom line item has neither product nor variant.
    assert lines[1]["product_id"] is None
    assert lines[1]["variant_id"] is None


def test_order_customer_uses_default_email_and_maps_marketing_consent_to_rest_terms() -> None:
    customer = graphql_shapes.order_to_rest(_order_node())["customer"]

    assert customer["id"] == 115310627314723954
    assert customer["email"] == "jon@example.com"
    assert customer["phone"] == "+4915112345678"
    assert customer["first_name"] == "Jon"
    assert customer["email_marketing_consent"] == {
        "state": "subscribed",
        "opt_in_level": "confirmed_opt_in",
        "consent_updated_at": "2026-01-05T08:00:00Z",
    }


def test_guest_order_has_no_customer_and_keeps_the_order_email() -> None:
    payload = graphql_shapes.order_to_rest(_order_node(customer=None, email="guest@example.net"))

    assert payload["customer"] is None
    assert payload["email"] == "guest@example.net"


def test_refund_becomes_a_rest_refund_with_lines_and_a_successful_refund_transaction() -> None:
    refund = graphql_shapes.order_to_rest(_order_node())["refunds"][0]

    assert refund["id"] == 890088186047892319
    assert refund["order_id"] == 820982911946154508
    assert refund["processed_at"] == "2026-02-03T09:00:00Z"
    assert refund["refund_line_items"] == [
        {
            "id": 1,
            "line_item_id": 487817672276298554,
            "quantity": 1,
            "subtotal": "89.99",
            "subtotal_set": {
                "shop_money": {"amount": "89.99", "currency_code": "EUR"},
                "presentment_money": {"amount": "89.99", "currency_code": "USD"},
            },
        }
    ]
    assert refund["transactions"] == [{"kind": "refund", "status": "success", "amount": "89.99"}]


def test_order_without_refunds_field_leaves_refunds_out_rather_than_claiming_none() -> None:
    node = _order_node()
    del node["refunds"]

    assert "refunds" not in graphql_shapes.order_to_rest(node)


def test_unfulfilled_order_has_a_null_fulfillment_status_as_in_rest() -> None:
    payload = graphql_shapes.order_to_rest(_order_node(displayFulfillmentStatus="UNFULFILLED"))

    assert payload["fulfillment_status"] is None


def test_bulk_children_given_separately_replace_the_nested_connection() -> None:
    child = {
        "id": "gid://shopify/LineItem/5",
        "title": "Filters",
        "quantity": 3,
        "originalUnitPriceSet": _money("5.50"),
    }
    payload = graphql_shapes.order_to_rest(_order_node(lineItems=None), [child])

    assert [(line["id"], line["quantity"], line["price"]) for line in payload["line_items"]] == [
        (5, 3, "5.50")
    ]


def test_order_without_an_id_is_refused() -> None:
    with pytest.raises(UnconvertibleObject):
        graphql_shapes.order_to_rest(_order_node(id=None))


def test_edges_and_nodes_connections_read_the_same() -> None:
    node = {"id": "gid://shopify/LineItem/1"}

    assert graphql_shapes.connection_nodes({"edges": [{"node": node}]}) == [node]
    assert graphql_shapes.connection_nodes({"nodes": [node]}) == [node]
    assert graphql_shapes.connection_nodes(None) == []


@pytest.mark.parametrize(
    ("url", "token"),
    [
        (
            "https://shop.myshopify.com/60123456/checkouts/ac/0af3c9e1d2b4/recover?key=x&locale=en",
            "0af3c9e1d2b4",
        ),
        (
            "https://checkout.local/548380009/checkouts/123123123/recover?key=example-secret-token",
            "123123123",
        ),
        ("https://shop.example.com/cart", None),
        ("https://shop.example.com/checkouts/ac/recover", None),
        (None, None),
    ],
)
def test_checkout_token_is_read_from_the_recovery_url(url: str | None, token: str | None) -> None:
    assert graphql_shapes.checkout_token_from_url(url) == token


def test_abandoned_checkout_takes_the_checkout_webhook_shape() -> None:
    node = {
        "id": "gid://shopify/AbandonedCheckout/33001",
        "abandonedCheckoutUrl": "https://s.myshopify.com/1/checkouts/ac/tok123/recover?key=k",
        "createdAt": "2026-02-01T10:00:00Z",
        "updatedAt": "2026-02-01T10:40:00Z",
        "completedAt": None,
        "totalPriceSet": _money("33.40"),
        "subtotalPriceSet": _money("30.00"),
        "customer": {
            "id": "gid://shopify/Customer/9101",
            "defaultEmailAddress": {"emailAddress": "ada@example.com"},
        },
        "lineItems": {
            "edges": [
                {
                    "node": {
                        "id": "gid://shopify/AbandonedCheckoutLineItem/1",
                        "title": "Coffee",
                        "variantTitle": "1 kg",
                        "sku": "COF-1KG",
                        "quantity": 2,
                        "product": {"id": "gid://shopify/Product/7001"},
                        "variant": {"id": "gid://shopify/ProductVariant/8001"},
                        "originalUnitPriceSet": _money("15.00"),
                    }
                }
            ]
        },
    }

    payload = graphql_shapes.checkout_to_rest(node)

    assert payload["token"] == "tok123"
    assert payload["email"] == "ada@example.com"
    assert payload["abandoned_checkout_url"].endswith("/tok123/recover?key=k")
    assert payload["currency"] == "EUR"
    assert payload["total_price"] == "33.40"
    assert payload["subtotal_price"] == "30.00"
    assert payload["completed_at"] is None
    assert payload["customer"]["id"] == 9101
    assert payload["line_items"][0]["product_id"] == 7001
    assert payload["line_items"][0]["variant_id"] == 8001
    assert payload["line_items"][0]["quantity"] == 2
    assert payload["line_items"][0]["price"] == "15.00"


def test_abandoned_checkout_without_a_token_in_its_url_is_refused() -> None:
    with pytest.raises(UnconvertibleObject):
        graphql_shapes.checkout_to_rest({"id": "gid://shopify/AbandonedCheckout/1"})


def test_recorded_bulk_file_regroups_every_order_with_its_own_line_items() -> None:
    with (FIXTURES / "bulk_orders.jsonl").open() as handle:
        numbered = [(n, json.loads(line)) for n, line in enumerate(handle, start=1)]
    child_count = sum(1 for _, obj in numbered if "__parentId" in obj)

    objects = list(group_bulk_objects(iter(numbered)))

    assert len(objects) == 36
    assert sum(len(o.children) for o in objects) == child_count
    assert objects[-1].last_line == len(numbered)
    for obj in objects:
        payload = graphql_shapes.order_to_rest(obj.root, obj.children)
        assert payload["line_items"], payload["id"]
        assert all("__parentId" not in child for child in obj.children)


def test_child_line_that_does_not_follow_its_parent_is_reported_as_corrupt() -> None:
    lines = [
        (1, {"id": "gid://shopify/Order/1"}),
        (2, {"id": "gid://shopify/Order/2"}),
        (3, {"id": "gid://shopify/LineItem/9", "__parentId": "gid://shopify/Order/1"}),
    ]

    with pytest.raises(BulkResultCorrupt):
        list(group_bulk_objects(iter(lines)))
