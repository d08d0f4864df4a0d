"""Render fulfillments/create and fulfillments/update: the parcel, its tracking and its lines."""

from __future__ import annotations

from typing import Any

from shopify_app.demo.generator.facts import Fulfillment
from shopify_app.demo.generator.facts import Line
from shopify_app.demo.generator.facts import Order
from shopify_app.demo.generator.rendering import ZERO
from shopify_app.demo.generator.rendering import ShopFormat
from shopify_app.demo.generator.rendering import Template
from shopify_app.demo.generator.rendering import discount_allocations
from shopify_app.demo.generator.rendering import fill
from shopify_app.demo.generator.rendering import line_name
from shopify_app.demo.generator.rendering import part
from shopify_app.money import cents_text

_TOPIC = "fulfillments/create"
_TRACKING_URLS = {
    "UPS": "https://www.ups.com/WebTracking?loc=en_US&requester=ST&trackNums=",
    "USPS": "https://tools.usps.com/go/TrackConfirmAction?tLabels=",
    "FedEx": "https://www.fedex.com/fedextrack/?trknbr=",
}


def fulfillment_payload(fmt: ShopFormat, order: Order, fulfillment: Fulfillment) -> dict[str, Any]:
    """Return *fulfillment* of *order* as fulfillments/create and fulfillments/update carry it."""
    item = part(_TOPIC, "line_items", 0)
    lines = [
        line_item(fmt, line, item, quantity=line.quantity, fulfilled=True) for line in order.lines
    ]
    tracking_url = _TRACKING_URLS[fulfillment.tracking_company] + fulfillment.tracking_number
    return fill(
        part(_TOPIC),
        id=fulfillment.id,
        order_id=order.id,
        status="success",
        created_at=fmt.time(fulfillment.created_at),
        service="manual",
        updated_at=fmt.time(fulfillment.updated_at),
        tracking_company=fulfillment.tracking_company,
        shipment_status=fulfillment.shipment_status,
        location_id=fmt.shop.location_id,
        email=order.customer.email,
        destination=dict(order.customer.address),
        line_items=lines,
        tracking_number=fulfillment.tracking_number,
        tracking_numbers=[fulfillment.tracking_number],
        tracking_url=tracking_url,
        tracking_urls=[tracking_url],
        name=fulfillment.name,
        admin_graphql_api_id=f"gid://shopify/Fulfillment/{fulfillment.id}",
    )


def line_item(
    fmt: ShopFormat, line: Line, template: Template, *, quantity: int, fulfilled: bool
) -> dict[str, Any]:
    """Return *line* as a fulfilment (or a refund line) lists the order line it concerns."""
    return fill(
        template,
        id=line.id,
        variant_id=line.variant.id,
        title=line.product.title,
        quantity=quantity,
        sku=line.variant.sku,
        variant_title=line.variant.title,
        vendor=line.product.vendor,
        product_id=line.product.id,
        name=line_name(line),
        variant_inventory_management="shopify",
        product_exists=True,
        fulfillable_quantity=0 if fulfilled else quantity,
        grams=line.product.grams,
        price=cents_text(line.product.price),
        total_discount="0.00",
        fulfillment_status="fulfilled" if fulfilled else None,
        price_set=fmt.money_set(line.product.price),
        total_discount_set=fmt.money_set(ZERO),
        discount_allocations=discount_allocations(fmt, line, set_before_index=False),
        admin_graphql_api_id=f"gid://shopify/LineItem/{line.id}",
    )
