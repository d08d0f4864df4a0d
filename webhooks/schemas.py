"""Per-topic schemas (msgspec Structs): a payload is validated before its handler runs.

Each schema checks only what the handlers rely on and lets every other field through: Shopify
adds fields in every API version, and a valid-but-unusual payload must reach its handler, never
crash the worker. `webhooks.processing.parse_payload` converts the parsed JSON with
`msgspec.convert` only to decide; the handler gets the JSON object itself, unknown fields and
all, in the same shape backfill hands over (`shopify_app.store.payloads` reads both).

What the types decide:
- ids are strict integers of any size: a float id has already lost digits (ids exceed 2**53),
  and neither "12" nor true is an id;
- money is a Decimal, from a string ("12.34") or a JSON number; NaN and infinities are refused;
- timestamps are RFC 3339 text (a naive one is read as UTC by the handlers);
- flags are JSON booleans, text is JSON strings;
- a field with a default may be missing or null, one without is required and never null.

A payload that fails is dead-lettered with msgspec's message, which names the first wrong field
by its path ("Expected `int`, got `float` - at `$.line_items[0].id`"), readable in
`webhooks failed`.
"""

from __future__ import annotations

import functools
from datetime import datetime
from decimal import Decimal
from typing import Any

import msgspec


class PayloadSchema(msgspec.Struct, kw_only=True, gc=False):
    """The base of every schema: refuses amounts that are not finite.

    msgspec reads "NaN" and "Infinity" (and the JSON parser's NaN) as Decimals; no shop charges
    them, and the database could not sum them. `gc=False`: a validated payload is thrown away at
    once and holds no cycles, so the garbage collector need not track it.
    """

    def __post_init__(self) -> None:
        for name in _amount_fields(type(self)):
            amount = getattr(self, name)
            if amount is not None and not amount.is_finite():
                raise ValueError(f"`{name}` is not a finite amount: {amount}")


@functools.cache
def _amount_fields(schema: type[PayloadSchema]) -> tuple[str, ...]:
    return tuple(f.name for f in msgspec.structs.fields(schema) if f.type == Decimal | None)


class MoneySchema(PayloadSchema, kw_only=True):
    amount: Decimal | None = None
    currency_code: str | None = None


class MoneySetSchema(PayloadSchema, kw_only=True):
    shop_money: MoneySchema | None = None


class NestedCustomerSchema(PayloadSchema, kw_only=True):
    id: int | None = None
    email: str | None = None
    phone: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


class OrderLineSchema(PayloadSchema, kw_only=True):
    id: int
    product_id: int | None = None
    variant_id: int | None = None
    quantity: int | None = None
    price: Decimal | None = None
    price_set: MoneySetSchema | None = None


class RefundLineSchema(PayloadSchema, kw_only=True):
    line_item_id: int
    quantity: int | None = None
    subtotal: Decimal | None = None
    subtotal_set: MoneySetSchema | None = None


class TransactionSchema(PayloadSchema, kw_only=True):
    kind: str | None = None
    status: str | None = None
    amount: Decimal | None = None


class _RefundFields(PayloadSchema, kw_only=True):
    id: int
    created_at: datetime | None = None
    processed_at: datetime | None = None
    refund_line_items: list[RefundLineSchema] | None = None
    transactions: list[TransactionSchema] | None = None


class RefundSchema(_RefundFields, kw_only=True):
    order_id: int


class NestedRefundSchema(_RefundFields, kw_only=True):
    # Inside an order the refund's order is the order itself.
    order_id: int | None = None


class _FulfillmentFields(PayloadSchema, kw_only=True):
    id: int
    status: str | None = None
    shipment_status: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


class FulfillmentSchema(_FulfillmentFields, kw_only=True):
    order_id: int


class NestedFulfillmentSchema(_FulfillmentFields, kw_only=True):
    order_id: int | None = None


class OrderSchema(PayloadSchema, kw_only=True):
    id: int
    created_at: datetime | None = None
    updated_at: datetime | None = None
    processed_at: datetime | None = None
    cancelled_at: datetime | None = None
    test: bool | None = None
    total_price: Decimal | None = None
    total_price_set: MoneySetSchema | None = None
    subtotal_price: Decimal | None = None
    subtotal_price_set: MoneySetSchema | None = None
    total_discounts: Decimal | None = None
    total_discounts_set: MoneySetSchema | None = None
    total_tax: Decimal | None = None
    total_tax_set: MoneySetSchema | None = None
    checkout_token: str | None = None
    customer: NestedCustomerSchema | None = None
    line_items: list[OrderLineSchema] | None = None
    refunds: list[NestedRefundSchema] | None = None
    fulfillments: list[NestedFulfillmentSchema] | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        money_set = self.total_price_set
        shop_money = money_set.shop_money if money_set is not None else None
        if self.total_price is None and (shop_money is None or shop_money.amount is None):
            raise ValueError("an order needs total_price or total_price_set")


class CheckoutLineSchema(PayloadSchema, kw_only=True):
    product_id: int | None = None
    variant_id: int | None = None
    quantity: int | None = None
    price: Decimal | None = None


class CheckoutSchema(PayloadSchema, kw_only=True):
    token: str
    cart_token: str | None = None
    email: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    completed_at: datetime | None = None
    buyer_accepts_marketing: bool | None = None
    total_price: Decimal | None = None
    subtotal_price: Decimal | None = None
    customer: NestedCustomerSchema | None = None
    line_items: list[CheckoutLineSchema] | None = None


class CheckoutDeletionSchema(PayloadSchema, kw_only=True):
    id: int | None = None
    token: str | None = None
    cart_token: str | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.token and not self.cart_token:
            raise ValueError("a checkout deletion needs token or cart_token")


class ConsentSchema(PayloadSchema, kw_only=True):
    state: str | None = None
    opt_in_level: str | None = None
    consent_updated_at: datetime | None = None


class CustomerSchema(PayloadSchema, kw_only=True):
    id: int
    email: str | None = None
    phone: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    email_marketing_consent: ConsentSchema | None = None


class CustomerDeletionSchema(PayloadSchema, kw_only=True):
    id: int


class EmailConsentUpdateSchema(PayloadSchema, kw_only=True):
    customer_id: int
    email_address: str | None = None
    email_marketing_consent: ConsentSchema


class ShopSchema(PayloadSchema, kw_only=True):
    id: int | None = None
    name: str | None = None
    email: str | None = None
    currency: str | None = None
    iana_timezone: str | None = None
    updated_at: datetime | None = None


class PrivacyCustomerSchema(PayloadSchema, kw_only=True):
    id: int | None = None
    email: str | None = None
    phone: str | None = None


class DataRequestSchema(PayloadSchema, kw_only=True):
    shop_id: int | None = None
    shop_domain: str | None = None
    customer: PrivacyCustomerSchema
    orders_requested: list[int] | None = None
    data_request: dict[str, Any] | None = None


class CustomerRedactSchema(PayloadSchema, kw_only=True):
    shop_id: int | None = None
    shop_domain: str | None = None
    customer: PrivacyCustomerSchema
    orders_to_redact: list[int] | None = None


class ShopRedactSchema(PayloadSchema, kw_only=True):
    shop_id: int | None = None
    shop_domain: str | None = None


SCHEMAS: dict[str, type[msgspec.Struct]] = {
    "orders/create": OrderSchema,
    "orders/updated": OrderSchema,
    "orders/paid": OrderSchema,
    "orders/fulfilled": OrderSchema,
    "orders/cancelled": OrderSchema,
    "fulfillments/create": FulfillmentSchema,
    "fulfillments/update": FulfillmentSchema,
    "refunds/create": RefundSchema,
    "checkouts/create": CheckoutSchema,
    "checkouts/update": CheckoutSchema,
    "checkouts/delete": CheckoutDeletionSchema,
    "customers/create": CustomerSchema,
    "customers/update": CustomerSchema,
    "customers/delete": CustomerDeletionSchema,
    "customers_email_marketing_consent/update": EmailConsentUpdateSchema,
    "app/uninstalled": ShopSchema,
    "shop/update": ShopSchema,
    "customers/data_request": DataRequestSchema,
    "customers/redact": CustomerRedactSchema,
    "shop/redact": ShopRedactSchema,
}
