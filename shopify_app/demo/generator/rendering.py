"""The tools of payload rendering: Shopify's sample payloads as templates, the shop's formats.

Every payload starts from Shopify's own sample of its topic (`shopify_app/demo/samples/`): the
renderer replaces ids, people, times, money and lines and keeps the rest, in Shopify's key order.
"""

from __future__ import annotations

import functools
import json
import marshal
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

from shopify_app.demo.generator.facts import Line
from shopify_app.demo.generator.facts import ShopProfile
from shopify_app.money import cents_text

ZERO = Decimal("0")


@functools.cache
def _sample_text(topic: str) -> str:
    name = topic.replace("/", "__") + ".json"
    return resources.files("shopify_app.demo").joinpath("samples", name).read_text("utf-8")


@dataclass(frozen=True)
class Template:
    """The part under *path* of Shopify's sample payload for *topic*."""

    topic: str
    path: tuple[str | int, ...]


def part(topic: str, *path: str | int) -> Template:
    """Point at Shopify's sample payload for *topic*, or at the part of it under *path*."""
    return Template(topic, path)


@functools.cache
def _template_parts(template: Template) -> tuple[tuple[str, Any, bytes | None], ...]:
    node: Any = json.loads(_sample_text(template.topic))
    for step in template.path:
        node = node[step]
    return tuple(
        (key, None, marshal.dumps(value)) if isinstance(value, dict | list) else (key, value, None)
        for key, value in node.items()
    )


def fill(template: Template, **values: Any) -> dict[str, Any]:
    """Return the sample part *template* with *values* replacing fields, in Shopify's key order.

    Only fields the sample has may be replaced (a typo would add a field Shopify never sends);
    the fields kept from the sample are deep copies (unmarshalling cached bytes is the cheapest).
    """
    built: dict[str, Any] = {}
    for key, scalar, packed in _template_parts(template):
        if key in values:
            built[key] = values.pop(key)
        elif packed is None:
            built[key] = scalar
        else:
            built[key] = marshal.loads(packed)
    if values:
        raise KeyError(f"{sorted(values)} are not fields of the sample payload")
    return built


class ShopFormat:
    """Write times and money as *shop*'s payloads do: shop-local ISO times, its currency."""

    def __init__(self, shop: ShopProfile) -> None:
        self.shop = shop
        self.tz = ZoneInfo(shop.iana_timezone)

    def time(self, at: datetime | None) -> str | None:
        """Return *at* in the shop's time zone, to the second; None stays None."""
        return None if at is None else at.astimezone(self.tz).isoformat(timespec="seconds")

    def money_set(self, amount: Decimal) -> dict[str, Any]:
        """Return *amount* as a `*_set` field: the same money in shop and presentment currency."""
        money = {"amount": cents_text(amount), "currency_code": self.shop.currency}
        return {"shop_money": money, "presentment_money": dict(money)}


def line_name(line: Line) -> str:
    """Return a line's name as the admin shows it: "Product - Variant", or just the product."""
    if line.variant.title:
        return f"{line.product.title} - {line.variant.title}"
    return line.product.title


def discount_codes(code: str | None, amount: Decimal) -> list[dict[str, Any]]:
    """Return the `discount_codes` of a checkout or order that used *code* for *amount*."""
    if not code:
        return []
    return [{"code": code, "amount": cents_text(amount), "type": "percentage"}]


def discount_allocations(
    fmt: ShopFormat, line: Line, *, set_before_index: bool
) -> list[dict[str, Any]]:
    """Return a line's share of the order's discount code, as an order or a fulfilment lists it.

    Orders write the amount set before the application index, fulfilments after it.
    """
    if not line.discount:
        return []
    amount, amount_set = cents_text(line.discount), fmt.money_set(line.discount)
    if set_before_index:
        return [{"amount": amount, "amount_set": amount_set, "discount_application_index": 0}]
    return [{"amount": amount, "discount_application_index": 0, "amount_set": amount_set}]
