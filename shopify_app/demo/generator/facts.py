"""What the simulated shop knows: its profile, its customers, their checkouts, orders and parcels.

The simulation changes these records as time passes; the payload renderers write them as
Shopify's webhooks at the moment each event happens.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from decimal import Decimal
from typing import Any
from typing import NamedTuple

from shopify_app.demo import DEMO_SHOP_DOMAIN
from shopify_app.demo.catalog import Product
from shopify_app.demo.catalog import Variant
from shopify_app.money import to_cents


@dataclass(frozen=True)
class ShopProfile:
    """The demo shop as shop/update describes it."""

    domain: str = DEMO_SHOP_DOMAIN
    shopify_id: int = 69_342_011_531
    name: str = "Retention Demo Roasters"
    email: str = "owner@retention-demo.example.com"
    support_email: str = "hello@retention-demo.example.com"
    owner_first_name: str = "Sam"
    owner_last_name: str = "Rivera"
    currency: str = "USD"
    iana_timezone: str = "America/New_York"
    location_id: int = 71_460_634_795


class BasketItem(NamedTuple):
    """One product a customer means to buy: which variant, and how many."""

    product: Product
    variant: Variant
    quantity: int


Basket = list[BasketItem]


@dataclass
class Customer:
    """A customer and the habits that decide when they come back."""

    id: int
    address_id: int
    first_name: str
    last_name: str
    email: str
    phone: str | None
    address: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    has_account: bool
    consent_state: str | None
    consent_level: str | None
    consent_updated_at: datetime | None
    is_repeater: bool
    loyalty: float
    pace: float
    orders: int = 0
    has_planned_purchase: bool = False

    @property
    def is_subscribed(self) -> bool:
        return self.consent_state == "subscribed"


@dataclass
class Line:
    """A line of a checkout, kept by the order it becomes; *discount* is its share of the code."""

    id: int
    product: Product
    variant: Variant
    quantity: int
    discount: Decimal = Decimal("0")
    refunded_quantity: int = 0

    @property
    def total(self) -> Decimal:
        return self.product.price * self.quantity

    def refund_subtotal(self, quantity: int) -> Decimal:
        per_unit = (self.total - self.discount) / self.quantity
        return to_cents(per_unit * quantity)


def lines_total(lines: Iterable[Line]) -> Decimal:
    """Return the lines' price before discounts."""
    return sum((line.total for line in lines), Decimal("0"))


def lines_discount(lines: Iterable[Line]) -> Decimal:
    """Return the discount allocated to the lines."""
    return sum((line.discount for line in lines), Decimal("0"))


def lines_weight(lines: Iterable[Line]) -> int:
    """Return the lines' weight in grams."""
    return sum(line.product.grams * line.quantity for line in lines)


@dataclass
class Checkout:
    """A checkout, from its first page to the order it may become."""

    token: str
    cart_token: str
    recovery_key: str
    name_id: int
    customer: Customer
    lines: list[Line]
    discount_code: str | None
    discount_percent: int
    created_at: datetime
    updated_at: datetime
    is_first_purchase: bool
    is_reorder: bool
    is_test: bool = False
    has_shipping_address: bool = False
    completed_at: datetime | None = None


class RefundLine(NamedTuple):
    """The part of a line a refund gives back."""

    id: int
    line: Line
    quantity: int
    subtotal: Decimal


@dataclass
class Refund:
    """Money given back on an order, with the lines and quantities it covers."""

    id: int
    created_at: datetime
    lines: list[RefundLine]
    amount: Decimal
    transaction_id: int
    note: str | None
    restock: bool


@dataclass
class Fulfillment:
    """A parcel sent for an order, and whether it has arrived."""

    id: int
    name: str
    created_at: datetime
    updated_at: datetime
    tracking_company: str
    tracking_number: str
    shipment_status: str | None = None


@dataclass
class Order:
    """An order and what happened to it since: payment, parcels, refunds, a cancellation."""

    id: int
    number: int
    token: str
    status_key: str
    confirmation_number: str
    customer: Customer
    checkout: Checkout
    lines: list[Line]
    shipping_line_id: int
    shipping: Decimal
    gateway: str
    sale_transaction_id: int
    created_at: datetime
    updated_at: datetime
    financial_status: str
    landing_site: str
    referring_site: str | None
    browser_ip: str
    is_test: bool
    fulfillment_status: str | None = None
    cancelled_at: datetime | None = None
    cancel_reason: str | None = None
    fulfillments: list[Fulfillment] = field(default_factory=list)
    refunds: list[Refund] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"#{self.number}"

    @property
    def line_items_total(self) -> Decimal:
        return lines_total(self.lines)

    @property
    def discounts(self) -> Decimal:
        return lines_discount(self.lines)

    @property
    def subtotal(self) -> Decimal:
        return self.line_items_total - self.discounts

    @property
    def total(self) -> Decimal:
        return self.subtotal + self.shipping

    @property
    def refunded(self) -> Decimal:
        return sum((refund.amount for refund in self.refunds), Decimal("0"))

    @property
    def is_cancelled(self) -> bool:
        return self.cancelled_at is not None

    @property
    def is_fully_refunded(self) -> bool:
        return all(line.refunded_quantity >= line.quantity for line in self.lines)
