"""Marshmallow schemas per topic: a payload is validated before its handler runs.

Each schema checks only what the handlers rely on (ids are integers, money parses as Decimal,
timestamps parse) and keeps every other field (`unknown = INCLUDE`): Shopify adds fields in every
API version, and a valid-but-unusual payload must reach its handler, never crash the worker. A
payload that fails is marked failed with marshmallow's messages, readable in `webhooks failed`.
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

from marshmallow import INCLUDE
from marshmallow import Schema
from marshmallow import ValidationError
from marshmallow import fields
from marshmallow import validates_schema


def _id(*, required: bool = False) -> fields.Integer:
    # strict: a float id has already lost digits (ids exceed 2**53), and "12" is not an id either.
    if required:
        return fields.Integer(strict=True, required=True)
    return fields.Integer(strict=True, allow_none=True)


def _time() -> fields.AwareDateTime:
    return fields.AwareDateTime(default_timezone=UTC, allow_none=True)


def _money() -> fields.Decimal:
    return fields.Decimal(allow_none=True)


class PayloadSchema(Schema):
    class Meta:
        unknown = INCLUDE


class MoneySchema(PayloadSchema):
    amount = _money()
    currency_code = fields.String(allow_none=True)


class MoneySetSchema(PayloadSchema):
    shop_money = fields.Nested(MoneySchema, allow_none=True)


class NestedCustomerSchema(PayloadSchema):
    id = _id()
    email = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    created_at = _time()
    updated_at = _time()


class OrderLineSchema(PayloadSchema):
    id = _id(required=True)
    product_id = _id()
    variant_id = _id()
    quantity = fields.Integer(strict=True, allow_none=True)
    price = _money()
    price_set = fields.Nested(MoneySetSchema, allow_none=True)


class RefundLineSchema(PayloadSchema):
    line_item_id = _id(required=True)
    quantity = fields.Integer(strict=True, allow_none=True)
    subtotal = _money()
    subtotal_set = fields.Nested(MoneySetSchema, allow_none=True)


class TransactionSchema(PayloadSchema):
    kind = fields.String(allow_none=True)
    status = fields.String(allow_none=True)
    amount = _money()


class RefundSchema(PayloadSchema):
    id = _id(required=True)
    order_id = _id(required=True)
    created_at = _time()
    processed_at = _time()
    refund_line_items = fields.List(fields.Nested(RefundLineSchema), allow_none=True)
    transactions = fields.List(fields.Nested(TransactionSchema), allow_none=True)


class NestedRefundSchema(RefundSchema):
    # Inside an order the refund's order is the order itself.
    order_id = _id()


class FulfillmentSchema(PayloadSchema):
    id = _id(required=True)
    order_id = _id(required=True)
    status = fields.String(allow_none=True)
    shipment_status = fields.String(allow_none=True)
    created_at = _time()
    updated_at = _time()


class NestedFulfillmentSchema(FulfillmentSchema):
    order_id = _id()


class OrderSchema(PayloadSchema):
    id = _id(required=True)
    created_at = _time()
    updated_at = _time()
    processed_at = _time()
    cancelled_at = _time()
    test = fields.Boolean(allow_none=True)
    total_price = _money()
    total_price_set = fields.Nested(MoneySetSchema, allow_none=True)
    subtotal_price = _money()
    subtotal_price_set = fields.Nested(MoneySetSchema, allow_none=True)
    total_discounts = _money()
    total_discounts_set = fields.Nested(MoneySetSchema, allow_none=True)
    total_tax = _money()
    total_tax_set = fields.Nested(MoneySetSchema, allow_none=True)
    checkout_token = fields.String(allow_none=True)
    customer = fields.Nested(NestedCustomerSchema, allow_none=True)
    line_items = fields.List(fields.Nested(OrderLineSchema), allow_none=True)
    refunds = fields.List(fields.Nested(NestedRefundSchema), allow_none=True)
    fulfillments = fields.List(fields.Nested(NestedFulfillmentSchema), allow_none=True)

    @validates_schema
    def has_a_total(self, data: dict[str, Any], **_: Any) -> None:
        money_set = data.get("total_price_set") or {}
        shop_money = money_set.get("shop_money") or {}
        if data.get("total_price") is None and shop_money.get("amount") is None:
            raise ValidationError("an order needs total_price or total_price_set", "total_price")


class CheckoutLineSchema(PayloadSchema):
    product_id = _id()
    variant_id = _id()
    quantity = fields.Integer(strict=True, allow_none=True)
    price = _money()


class CheckoutSchema(PayloadSchema):
    token = fields.String(required=True)
    cart_token = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    created_at = _time()
    updated_at = _time()
    completed_at = _time()
    buyer_accepts_marketing = fields.Boolean(allow_none=True)
    total_price = _money()
    subtotal_price = _money()
    customer = fields.Nested(NestedCustomerSchema, allow_none=True)
    line_items = fields.List(fields.Nested(CheckoutLineSchema), allow_none=True)


class CheckoutDeletionSchema(PayloadSchema):
    id = _id()
    token = fields.String(allow_none=True)
    cart_token = fields.String(allow_none=True)

    @validates_schema
    def names_a_checkout(self, data: dict[str, Any], **_: Any) -> None:
        if not data.get("token") and not data.get("cart_token"):
            raise ValidationError("a checkout deletion needs token or cart_token", "token")


class ConsentSchema(PayloadSchema):
    state = fields.String(allow_none=True)
    opt_in_level = fields.String(allow_none=True)
    consent_updated_at = _time()


class CustomerSchema(PayloadSchema):
    id = _id(required=True)
    email = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    first_name = fields.String(allow_none=True)
    last_name = fields.String(allow_none=True)
    created_at = _time()
    updated_at = _time()
    email_marketing_consent = fields.Nested(ConsentSchema, allow_none=True)


class CustomerDeletionSchema(PayloadSchema):
    id = _id(required=True)


class EmailConsentUpdateSchema(PayloadSchema):
    customer_id = _id(required=True)
    email_address = fields.String(allow_none=True)
    email_marketing_consent = fields.Nested(ConsentSchema, required=True)


class ShopSchema(PayloadSchema):
    id = _id()
    name = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    currency = fields.String(allow_none=True)
    iana_timezone = fields.String(allow_none=True)
    updated_at = _time()


class PrivacyCustomerSchema(PayloadSchema):
    id = _id()
    email = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)


class DataRequestSchema(PayloadSchema):
    shop_id = _id()
    shop_domain = fields.String(allow_none=True)
    customer = fields.Nested(PrivacyCustomerSchema, required=True)
    orders_requested = fields.List(fields.Integer(strict=True), allow_none=True)
    data_request = fields.Nested(PayloadSchema, allow_none=True)


class CustomerRedactSchema(PayloadSchema):
    shop_id = _id()
    shop_domain = fields.String(allow_none=True)
    customer = fields.Nested(PrivacyCustomerSchema, required=True)
    orders_to_redact = fields.List(fields.Integer(strict=True), allow_none=True)


class ShopRedactSchema(PayloadSchema):
    shop_id = _id()
    shop_domain = fields.String(allow_none=True)


SCHEMAS: dict[str, type[Schema]] = {
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
