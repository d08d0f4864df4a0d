"""Typed SQLAlchemy models, one module per concept; importing this package registers them all."""

from shopify_app.models.base import Base
from shopify_app.models.base import utcnow
from shopify_app.models.checkout import Checkout
from shopify_app.models.customer import Customer
from shopify_app.models.oauth_state import OAuthState
from shopify_app.models.order import Fulfillment
from shopify_app.models.order import Order
from shopify_app.models.order import OrderLine
from shopify_app.models.order import Refund
from shopify_app.models.order import RefundLine
from shopify_app.models.shop import Shop
from shopify_app.models.shop import ShopCredential
from shopify_app.models.webhook_delivery import DeliveryStatus
from shopify_app.models.webhook_delivery import WebhookDelivery

__all__ = [
    "Base",
    "Checkout",
    "Customer",
    "DeliveryStatus",
    "Fulfillment",
    "OAuthState",
    "Order",
    "OrderLine",
    "Refund",
    "RefundLine",
    "Shop",
    "ShopCredential",
    "WebhookDelivery",
    "utcnow",
]
