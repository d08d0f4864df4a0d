"""Render checkouts/create and checkouts/update: the cart, the buyer, the recovery link."""

from __future__ import annotations

from typing import Any

from shopify_app.demo.generator.customer_payloads import buyer_payload
from shopify_app.demo.generator.facts import Checkout
from shopify_app.demo.generator.facts import Line
from shopify_app.demo.generator.facts import lines_discount
from shopify_app.demo.generator.facts import lines_total
from shopify_app.demo.generator.facts import lines_weight
from shopify_app.demo.generator.rendering import ShopFormat
from shopify_app.demo.generator.rendering import discount_codes
from shopify_app.demo.generator.rendering import fill
from shopify_app.demo.generator.rendering import part
from shopify_app.money import cents_text

_TOPIC = "checkouts/create"


def checkout_payload(fmt: ShopFormat, checkout: Checkout) -> dict[str, Any]:
    """Return *checkout* as checkouts/create and checkouts/update carry it."""
    shop = fmt.shop
    customer = checkout.customer
    address = dict(customer.address) if checkout.has_shipping_address else None
    line_total = lines_total(checkout.lines)
    discounts = lines_discount(checkout.lines)
    return fill(
        part(_TOPIC),
        token=checkout.token,
        cart_token=checkout.cart_token,
        email=customer.email,
        buyer_accepts_marketing=customer.is_subscribed,
        created_at=fmt.time(checkout.created_at),
        updated_at=fmt.time(checkout.updated_at),
        landing_site="/",
        total_weight=lines_weight(checkout.lines),
        currency=shop.currency,
        completed_at=fmt.time(checkout.completed_at),
        phone=customer.phone,
        customer_locale="en",
        line_items=[_checkout_line(fmt, line) for line in checkout.lines],
        name=f"#{checkout.name_id}",
        abandoned_checkout_url=(
            f"https://{shop.domain}/{shop.shopify_id}/checkouts/{checkout.token}"
            f"/recover?key={checkout.recovery_key}"
        ),
        discount_codes=discount_codes(checkout.discount_code, discounts),
        tax_lines=[],
        presentment_currency=shop.currency,
        total_discounts=cents_text(discounts),
        total_line_items_price=cents_text(line_total),
        total_price=cents_text(line_total - discounts),
        total_tax="0.00",
        subtotal_price=cents_text(line_total - discounts),
        billing_address=address,
        shipping_address=dict(address) if address else None,
        customer=buyer_payload(fmt, customer, topic=_TOPIC),
    )


def _checkout_line(fmt: ShopFormat, line: Line) -> dict[str, Any]:
    return fill(
        part(_TOPIC, "line_items", 0),
        applied_discounts=[],
        discount_allocations=[],
        key=format(line.id, "032x"),
        destination_location_id=None,
        origin_location_id=fmt.shop.location_id,
        grams=line.product.grams,
        presentment_title=line.product.title,
        presentment_variant_title=line.variant.title,
        product_id=line.product.id,
        quantity=line.quantity,
        sku=line.variant.sku,
        tax_lines=[],
        title=line.product.title,
        variant_id=line.variant.id,
        variant_title=line.variant.title,
        variant_price=cents_text(line.product.price),
        vendor=line.product.vendor,
        line_price=cents_text(line.total),
        price=cents_text(line.product.price),
    )
