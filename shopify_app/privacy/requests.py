"""Answer Shopify's compliance webhooks and keep a record of each request.

Shopify sends `customers/data_request`, `customers/redact` and `shop/redact`; each action is
logged as a `PrivacyRequest` without personal data (only a data request keeps its export, for the
merchant to hand over). A replayed delivery updates its record instead of adding another.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from typing import TypedDict
from typing import Unpack

from sqlalchemy import select
from sqlalchemy.orm import Session

from shopify_app.errors import NotFound
from shopify_app.models import PrivacyRequest
from shopify_app.models import Shop
from shopify_app.privacy.export import export_customer_data
from shopify_app.privacy.redaction import redact_customer
from shopify_app.privacy.redaction import redact_shop
from shopify_app.store.payloads import as_list
from shopify_app.store.payloads import as_mapping
from shopify_app.store.payloads import parse_id
from shopify_app.store.payloads import text

logger = logging.getLogger(__name__)

DATA_REQUEST = "customers/data_request"
CUSTOMER_REDACT = "customers/redact"
SHOP_REDACT = "shop/redact"

_MAX_ID = 2**63 - 1


class PrivacyRequestNotFound(NotFound):
    pass


class RequestReceipt(TypedDict):
    """How a compliance request arrived: every answer records it the same way."""

    shop_domain: str
    webhook_id: str | None
    received_at: datetime
    now: datetime


def process_data_request(
    session: Session,
    *,
    shop: Shop | None,
    payload: Mapping[str, Any],
    **receipt: Unpack[RequestReceipt],
) -> PrivacyRequest:
    """Answer customers/data_request: build the export and keep it for the merchant."""
    shop_domain = receipt["shop_domain"]
    customer_id, customer = _named_customer(payload)
    request = _record_request(
        session,
        topic=DATA_REQUEST,
        customer_shopify_id=customer_id,
        shopify_request_id=parse_id((as_mapping(payload.get("data_request")) or {}).get("id")),
        receipt=receipt,
    )
    if shop is not None:
        request.export = _json_ready(
            export_customer_data(
                session,
                shop=shop,
                customer_shopify_id=customer_id,
                email=text(customer.get("email")),
                order_ids=_ids(payload.get("orders_requested")),
            )
        )
    else:
        request.export = {"shop": shop_domain, "customer": None, "orders": [], "checkouts": []}
    session.flush()
    logger.info("Answered a customer data request", extra={"shop": shop_domain})
    return request


def process_customer_redaction(
    session: Session,
    *,
    shop: Shop | None,
    payload: Mapping[str, Any],
    current_delivery_id: int | None = None,
    **receipt: Unpack[RequestReceipt],
) -> PrivacyRequest:
    """Answer customers/redact: erase the customer, then log that it was done."""
    customer_id, customer = _named_customer(payload)
    if shop is not None:
        redact_customer(
            session,
            shop=shop,
            customer_shopify_id=customer_id,
            email=text(customer.get("email")),
            phone=text(customer.get("phone")),
            order_ids=_ids(payload.get("orders_to_redact")),
            now=receipt["now"],
            current_delivery_id=current_delivery_id,
        )
    request = _record_request(
        session,
        topic=CUSTOMER_REDACT,
        customer_shopify_id=customer_id,
        shopify_request_id=None,
        receipt=receipt,
    )
    session.flush()
    logger.info("Redacted a customer", extra={"shop": receipt["shop_domain"]})
    return request


def process_shop_redaction(
    session: Session,
    *,
    current_delivery_id: int | None = None,
    **receipt: Unpack[RequestReceipt],
) -> PrivacyRequest:
    """Answer shop/redact: delete everything of the shop, keeping only the audit record."""
    redact_shop(
        session,
        shop_domain=receipt["shop_domain"],
        now=receipt["now"],
        keep_delivery_ids=[current_delivery_id] if current_delivery_id is not None else (),
    )
    request = _record_request(
        session,
        topic=SHOP_REDACT,
        customer_shopify_id=None,
        shopify_request_id=None,
        receipt=receipt,
    )
    session.flush()
    return request


def list_privacy_requests(session: Session, *, shop_domain: str) -> list[PrivacyRequest]:
    """Return the shop's privacy requests, newest first."""
    return list(
        session.scalars(
            select(PrivacyRequest)
            .where(PrivacyRequest.shop_domain == shop_domain)
            .order_by(PrivacyRequest.received_at.desc(), PrivacyRequest.id.desc())
        )
    )


def load_export(session: Session, *, shop_domain: str, request_id: int) -> dict[str, Any]:
    """Return the export of one of the shop's data requests."""
    if not 0 < request_id <= _MAX_ID:  # no such row, and the database would refuse the number
        raise PrivacyRequestNotFound("No data export with this id for this shop")
    request = session.get(PrivacyRequest, request_id)
    if request is None or request.shop_domain != shop_domain or request.export is None:
        raise PrivacyRequestNotFound("No data export with this id for this shop")
    return request.export


def _record_request(
    session: Session,
    *,
    topic: str,
    customer_shopify_id: int | None,
    shopify_request_id: int | None,
    receipt: RequestReceipt,
) -> PrivacyRequest:
    """Return the request's record, the one of an earlier try of the same delivery if any."""
    shop_domain, webhook_id = receipt["shop_domain"], receipt["webhook_id"]
    request = None
    if webhook_id is not None:
        request = session.scalar(
            select(PrivacyRequest).where(
                PrivacyRequest.shop_domain == shop_domain, PrivacyRequest.webhook_id == webhook_id
            )
        )
    if request is None:
        request = PrivacyRequest(
            shop_domain=shop_domain,
            topic=topic,
            webhook_id=webhook_id,
            received_at=receipt["received_at"],
        )
        session.add(request)
    request.customer_shopify_id = customer_shopify_id
    request.shopify_request_id = shopify_request_id
    request.completed_at = receipt["now"]
    return request


def _named_customer(payload: Mapping[str, Any]) -> tuple[int | None, Mapping[str, Any]]:
    """Return the id and the fields of the customer a request names."""
    customer = as_mapping(payload.get("customer")) or {}
    return parse_id(customer.get("id")), customer


def _ids(value: Any) -> list[int]:
    return [i for i in (parse_id(v) for v in as_list(value)) if i is not None]


def _json_ready(data: dict[str, Any]) -> dict[str, Any]:
    """Round-trip through JSON so the stored export is exactly what the merchant downloads."""
    loaded: dict[str, Any] = json.loads(json.dumps(data, default=str))
    return loaded
