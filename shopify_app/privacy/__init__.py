"""Privacy: export what is stored about a customer, redact it, and answer compliance requests.

The edges (compliance webhooks, the dashboard, the CLI) and other modules use the names below;
`export`, `redaction` and `requests` hold them.
"""

from shopify_app.privacy.export import CUSTOMER_EXPORTERS
from shopify_app.privacy.export import export_customer_data
from shopify_app.privacy.redaction import CUSTOMER_REDACTORS
from shopify_app.privacy.redaction import redact_customer
from shopify_app.privacy.redaction import redact_shop
from shopify_app.privacy.requests import PrivacyRequestNotFound
from shopify_app.privacy.requests import RequestReceipt
from shopify_app.privacy.requests import list_privacy_requests
from shopify_app.privacy.requests import load_export
from shopify_app.privacy.requests import process_customer_redaction
from shopify_app.privacy.requests import process_data_request
from shopify_app.privacy.requests import process_shop_redaction

__all__ = [
    "CUSTOMER_EXPORTERS",
    "CUSTOMER_REDACTORS",
    "PrivacyRequestNotFound",
    "RequestReceipt",
    "export_customer_data",
    "list_privacy_requests",
    "load_export",
    "process_customer_redaction",
    "process_data_request",
    "process_shop_redaction",
    "redact_customer",
    "redact_shop",
]
