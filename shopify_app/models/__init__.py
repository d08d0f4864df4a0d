"""Typed SQLAlchemy models, one module per concept; importing this package registers them all."""

from shopify_app.models.backfill_run import BackfillRun
from shopify_app.models.base import Base
from shopify_app.models.base import utcnow
from shopify_app.models.checkout import Checkout
from shopify_app.models.customer import Customer
from shopify_app.models.customer_prediction import CustomerPrediction
from shopify_app.models.customer_prediction import PredictionModelFit
from shopify_app.models.email_template import EmailTemplateOverride
from shopify_app.models.flow_settings import FlowSettings
from shopify_app.models.flow_settings import SchedulerLease
from shopify_app.models.kpi_snapshot import KpiSnapshot
from shopify_app.models.message import EmailSuppression
from shopify_app.models.message import Message
from shopify_app.models.message import MessageAttribution
from shopify_app.models.message import MessageStatus
from shopify_app.models.nps import NpsResponse
from shopify_app.models.oauth_state import OAuthState
from shopify_app.models.order import Fulfillment
from shopify_app.models.order import Order
from shopify_app.models.order import OrderLine
from shopify_app.models.order import Refund
from shopify_app.models.order import RefundLine
from shopify_app.models.privacy_request import PrivacyRequest
from shopify_app.models.replenishment import ReplenishmentInterval
from shopify_app.models.rollups import RollupActiveDay
from shopify_app.models.rollups import RollupCustomer
from shopify_app.models.rollups import RollupCustomerDay
from shopify_app.models.rollups import RollupCustomerMonth
from shopify_app.models.rollups import RollupCustomerProduct
from shopify_app.models.rollups import RollupDay
from shopify_app.models.rollups import RollupOrder
from shopify_app.models.rollups import RollupProduct
from shopify_app.models.rollups import RollupProductGap
from shopify_app.models.rollups import RollupRefund
from shopify_app.models.rollups import RollupVersion
from shopify_app.models.rollups import RollupWeek
from shopify_app.models.shop import Shop
from shopify_app.models.shop import ShopCredential
from shopify_app.models.sync_watermark import SyncWatermark
from shopify_app.models.webhook_delivery import DeliveryStatus
from shopify_app.models.webhook_delivery import WebhookDelivery

__all__ = [
    "EmailSuppression",
    "EmailTemplateOverride",
    "NpsResponse",
    "FlowSettings",
    "KpiSnapshot",
    "Message",
    "MessageAttribution",
    "MessageStatus",
    "ReplenishmentInterval",
    "SchedulerLease",
    "BackfillRun",
    "Base",
    "Checkout",
    "Customer",
    "CustomerPrediction",
    "DeliveryStatus",
    "Fulfillment",
    "OAuthState",
    "Order",
    "OrderLine",
    "PredictionModelFit",
    "PrivacyRequest",
    "Refund",
    "RefundLine",
    "RollupActiveDay",
    "RollupCustomer",
    "RollupCustomerDay",
    "RollupCustomerMonth",
    "RollupCustomerProduct",
    "RollupDay",
    "RollupOrder",
    "RollupProduct",
    "RollupProductGap",
    "RollupRefund",
    "RollupVersion",
    "RollupWeek",
    "Shop",
    "ShopCredential",
    "SyncWatermark",
    "WebhookDelivery",
    "utcnow",
]
