"""Render orders/create, orders/updated and orders/cancelled: an order as it stands right now.

The `current_*` amounts follow refunds and a cancellation; the original `total_*` never change.
The order embeds its fulfilments and refunds, rendered as their own webhooks render them.
"""

from __future__ import annotations

import base64
from typing import Any

from shopify_app.demo.generator.customer_payloads import buyer_payload
from shopify_app.demo.generator.facts import Checkout
from shopify_app.demo.generator.facts import Line
from shopify_app.demo.generator.facts import Order
from shopify_app.demo.generator.facts import lines_weight
from shopify_app.demo.generator.fulfillment_payloads import fulfillment_payload
from shopify_app.demo.generator.ids import ORDER_NUMBER_BASE
from shopify_app.demo.generator.refund_payloads import refund_payload
from shopify_app.demo.generator.rendering import ZERO
from shopify_app.demo.generator.rendering import ShopFormat
from shopify_app.demo.generator.rendering import discount_allocations
from shopify_app.demo.generator.rendering import discount_codes
from shopify_app.demo.generator.rendering import fill
from shopify_app.demo.generator.rendering import line_name
from shopify_app.demo.generator.rendering import part
from shopify_app.money import cents_text

_TOPIC = "orders/create"
_APP_ID = 580111
"""The id of Shopify's Online Store channel, which places every demo order."""


def order_payload(fmt: ShopFormat, order: Order) -> dict[str, Any]:
    """Return *order* as it stands, as every orders/* webhook carries it."""
    customer = order.customer
    address = dict(customer.address)
    return fill(
        part(_TOPIC),
        **_order_identity(fmt, order),
        **_current_amounts(fmt, order),
        **_original_amounts(fmt, order),
        buyer_accepts_marketing=customer.is_subscribed,
        contact_email=customer.email,
        email=customer.email,
        phone=customer.phone,
        billing_address=address,
        customer=buyer_payload(fmt, customer, topic=_TOPIC),
        discount_codes=discount_codes(order.checkout.discount_code, order.discounts),
        discount_applications=_discount_applications(order.checkout),
        fulfillments=[fulfillment_payload(fmt, order, f) for f in order.fulfillments],
        line_items=[_order_line(fmt, order, line) for line in order.lines],
        refunds=[refund_payload(fmt, order, refund) for refund in order.refunds],
        shipping_address=dict(address),
        shipping_lines=[_shipping_line(fmt, order)],
    )


def _order_identity(fmt: ShopFormat, order: Order) -> dict[str, Any]:
    """Return the fields that name the order and say where it stands (no amounts, no lines)."""
    shop = fmt.shop
    return {
        "id": order.id,
        "admin_graphql_api_id": f"gid://shopify/Order/{order.id}",
        "app_id": _APP_ID,
        "browser_ip": order.browser_ip,
        "cancel_reason": order.cancel_reason,
        "cancelled_at": fmt.time(order.cancelled_at),
        "cart_token": order.checkout.cart_token,
        "checkout_token": order.checkout.token,
        "confirmation_number": order.confirmation_number,
        "confirmed": True,
        "created_at": fmt.time(order.created_at),
        "currency": shop.currency,
        "customer_locale": "en",
        "financial_status": order.financial_status,
        "fulfillment_status": order.fulfillment_status,
        "landing_site": order.landing_site,
        "merchant_business_entity_id": base64.b64encode(str(shop.shopify_id).encode())
        .decode()
        .rstrip("="),
        "name": order.name,
        "number": order.number - ORDER_NUMBER_BASE,
        "order_number": order.number,
        "order_status_url": (
            f"https://{shop.domain}/{shop.shopify_id}/orders/{order.token}"
            f"/authenticate?key={order.status_key}"
        ),
        "payment_gateway_names": [order.gateway],
        "presentment_currency": shop.currency,
        "processed_at": fmt.time(order.created_at),
        "referring_site": order.referring_site,
        "source_name": "web",
        "tags": "",
        "test": order.is_test,
        "token": order.token,
        "updated_at": fmt.time(order.updated_at),
    }


def _current_amounts(fmt: ShopFormat, order: Order) -> dict[str, Any]:
    """Return the `current_*` amounts: after refunds, and all zero once cancelled."""
    if order.is_cancelled:
        subtotal = total = discounts = shipping = ZERO
    else:
        refunded_lines = sum(
            (line.refund_subtotal(line.refunded_quantity) for line in order.lines), ZERO
        )
        subtotal = order.subtotal - refunded_lines
        total = order.total - order.refunded
        discounts = order.discounts
        shipping = order.shipping
    return {
        "current_shipping_price_set": fmt.money_set(shipping),
        "current_subtotal_price": cents_text(subtotal),
        "current_subtotal_price_set": fmt.money_set(subtotal),
        "current_total_discounts": cents_text(discounts),
        "current_total_discounts_set": fmt.money_set(discounts),
        "current_total_price": cents_text(total),
        "current_total_price_set": fmt.money_set(total),
        "current_total_tax": "0.00",
        "current_total_tax_set": fmt.money_set(ZERO),
    }


def _original_amounts(fmt: ShopFormat, order: Order) -> dict[str, Any]:
    """Return the amounts as the order was placed, and what is still to be paid."""
    outstanding = order.total if order.financial_status == "pending" else ZERO
    return {
        "subtotal_price": cents_text(order.subtotal),
        "subtotal_price_set": fmt.money_set(order.subtotal),
        "total_discounts": cents_text(order.discounts),
        "total_discounts_set": fmt.money_set(order.discounts),
        "total_line_items_price": cents_text(order.line_items_total),
        "total_line_items_price_set": fmt.money_set(order.line_items_total),
        "total_outstanding": cents_text(outstanding),
        "total_price": cents_text(order.total),
        "total_price_set": fmt.money_set(order.total),
        "total_shipping_price_set": fmt.money_set(order.shipping),
        "total_tax": "0.00",
        "total_tax_set": fmt.money_set(ZERO),
        "total_weight": lines_weight(order.lines),
    }


def _order_line(fmt: ShopFormat, order: Order, line: Line) -> dict[str, Any]:
    is_fulfilled = bool(order.fulfillments)
    return fill(
        part(_TOPIC, "line_items", 0),
        id=line.id,
        admin_graphql_api_id=f"gid://shopify/LineItem/{line.id}",
        attributed_staffs=[],
        current_quantity=0 if order.is_cancelled else line.quantity - line.refunded_quantity,
        fulfillable_quantity=0 if is_fulfilled or order.is_cancelled else line.quantity,
        fulfillment_status="fulfilled" if is_fulfilled else None,
        grams=line.product.grams,
        name=line_name(line),
        price=cents_text(line.product.price),
        price_set=fmt.money_set(line.product.price),
        product_id=line.product.id,
        quantity=line.quantity,
        sku=line.variant.sku,
        title=line.product.title,
        total_discount="0.00",
        total_discount_set=fmt.money_set(ZERO),
        variant_id=line.variant.id,
        variant_inventory_management="shopify",
        variant_title=line.variant.title,
        vendor=line.product.vendor,
        discount_allocations=discount_allocations(fmt, line, set_before_index=True),
    )


def _shipping_line(fmt: ShopFormat, order: Order) -> dict[str, Any]:
    shipping = order.shipping
    return fill(
        part(_TOPIC, "shipping_lines", 0),
        id=order.shipping_line_id,
        code="Standard",
        current_discounted_price_set=fmt.money_set(ZERO if order.is_cancelled else shipping),
        discounted_price=cents_text(shipping),
        discounted_price_set=fmt.money_set(shipping),
        price=cents_text(shipping),
        price_set=fmt.money_set(shipping),
        title="Free Shipping" if not shipping else "Standard Shipping",
    )


def _discount_applications(checkout: Checkout) -> list[dict[str, Any]]:
    if not checkout.discount_code:
        return []
    return [
        {
            "target_type": "line_item",
            "type": "discount_code",
            "value": f"{checkout.discount_percent}.0",
            "value_type": "percentage",
            "allocation_method": "across",
            "target_selection": "all",
            "code": checkout.discount_code,
        }
    ]
