"""Verify a webhook request before anything reads its body as JSON.

`verify_webhook` returns either a `WebhookEnvelope` (the verified delivery: its headers and raw
bytes) or a `Rejection` that carries a `RejectionReason`. One table, `STATUS_FOR`, turns a reason
into the HTTP status, so the endpoint never decides a status on its own.

The checks run cheapest first and never parse the payload before its HMAC matched: method,
required headers (all missing ones reported at once), declared size, body, HMAC over the raw bytes
(constant-time, current and previous secret), and last the format of the headers the inbox keys on.
A request without the secret therefore learns nothing beyond "missing header" or "invalid HMAC".
"""

from __future__ import annotations

import enum
import json
import re
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime

from flask import Request

from shopify_app.gateway.shop_domain import is_valid_shop_domain
from shopify_app.gateway.signatures import is_valid_webhook_hmac

TOPIC_HEADER = "X-Shopify-Topic"
HMAC_HEADER = "X-Shopify-Hmac-Sha256"
SHOP_DOMAIN_HEADER = "X-Shopify-Shop-Domain"
WEBHOOK_ID_HEADER = "X-Shopify-Webhook-Id"
API_VERSION_HEADER = "X-Shopify-API-Version"
EVENT_ID_HEADER = "X-Shopify-Event-Id"
TRIGGERED_AT_HEADER = "X-Shopify-Triggered-At"

REQUIRED_HEADERS = (TOPIC_HEADER, HMAC_HEADER, SHOP_DOMAIN_HEADER, WEBHOOK_ID_HEADER)
"""What a delivery cannot be stored without: its topic, signature, shop and dedup key.

`X-Shopify-API-Version` is stored when present but not required: compliance deliveries have been
seen without it (Shopify/shopify-api-js#1145), and refusing them would block every privacy request.
"""

COMPLIANCE_TOPICS = frozenset({"customers/data_request", "customers/redact", "shop/redact"})
"""Mandatory privacy topics; their payload names the shop, which stands in for a missing header
(seen without `X-Shopify-Shop-Domain`, Shopify/shopify-api-ruby#1261)."""

ALLOWED_METHOD = "POST"

# Sized to the inbox columns, so a valid delivery can always be stored. The topic pattern is loose
# on purpose: an unknown topic is recorded and acknowledged, never refused.
_TOPIC = re.compile(r"[A-Za-z0-9_./-]+")
_MAX_TOPIC_LENGTH = 128
_MAX_ID_LENGTH = 255
_MAX_API_VERSION_LENGTH = 32


class RejectionReason(enum.Enum):
    METHOD_NOT_ALLOWED = "method_not_allowed"
    MISSING_HEADERS = "missing_headers"
    BODY_TOO_LARGE = "body_too_large"
    MISSING_BODY = "missing_body"
    INVALID_HMAC = "invalid_hmac"
    MALFORMED_HEADERS = "malformed_headers"


STATUS_FOR: dict[RejectionReason, int] = {
    RejectionReason.METHOD_NOT_ALLOWED: 405,
    RejectionReason.MISSING_HEADERS: 400,
    RejectionReason.BODY_TOO_LARGE: 413,
    RejectionReason.MISSING_BODY: 400,
    RejectionReason.INVALID_HMAC: 401,
    RejectionReason.MALFORMED_HEADERS: 400,
}


@dataclass(frozen=True)
class Rejection:
    """Why a request was refused; *headers* names the missing or malformed ones."""

    reason: RejectionReason
    headers: tuple[str, ...] = ()

    @property
    def status_code(self) -> int:
        return STATUS_FOR[self.reason]

    @property
    def message(self) -> str:
        names = ", ".join(self.headers)
        messages = {
            RejectionReason.METHOD_NOT_ALLOWED: "Webhooks must be sent with POST",
            RejectionReason.MISSING_HEADERS: f"Missing required webhook headers: {names}",
            RejectionReason.BODY_TOO_LARGE: "The webhook body is larger than the allowed limit",
            RejectionReason.MISSING_BODY: "The webhook body is empty",
            RejectionReason.INVALID_HMAC: "The webhook HMAC does not match the body",
            RejectionReason.MALFORMED_HEADERS: f"Malformed webhook headers: {names}",
        }
        return messages[self.reason]


@dataclass(frozen=True)
class WebhookEnvelope:
    """A delivery whose HMAC matched: the routing headers and the untouched body bytes."""

    topic: str
    shop_domain: str
    webhook_id: str
    api_version: str | None
    event_id: str | None
    triggered_at: datetime | None
    body: bytes


def verify_webhook(
    request: Request, *, secrets: tuple[str, ...], max_body_bytes: int
) -> WebhookEnvelope | Rejection:
    """Return the verified delivery in *request*, or the reason to refuse it."""
    if request.method != ALLOWED_METHOD:
        return Rejection(RejectionReason.METHOD_NOT_ALLOWED)

    values = {name: _header(request, name) or "" for name in REQUIRED_HEADERS}
    missing = tuple(name for name, value in values.items() if not value)
    is_domain_in_payload = missing == (SHOP_DOMAIN_HEADER,) and (
        values[TOPIC_HEADER] in COMPLIANCE_TOPICS
    )
    if missing and not is_domain_in_payload:
        return Rejection(RejectionReason.MISSING_HEADERS, missing)

    body = _read_body(request, max_body_bytes=max_body_bytes)
    if body is None:
        return Rejection(RejectionReason.BODY_TOO_LARGE)
    if not body:
        return Rejection(RejectionReason.MISSING_BODY)
    if not is_valid_webhook_hmac(body, values[HMAC_HEADER], secrets):
        return Rejection(RejectionReason.INVALID_HMAC)

    if is_domain_in_payload:
        # Only now, with the signature checked, may the body be read as JSON.
        values[SHOP_DOMAIN_HEADER] = _shop_domain_in(body)
        if not values[SHOP_DOMAIN_HEADER]:
            return Rejection(RejectionReason.MISSING_HEADERS, missing)
    optional = {name: _header(request, name) for name in (API_VERSION_HEADER, EVENT_ID_HEADER)}
    malformed = _malformed_headers(values, optional)
    if malformed:
        return Rejection(RejectionReason.MALFORMED_HEADERS, malformed)
    return WebhookEnvelope(
        topic=values[TOPIC_HEADER],
        shop_domain=values[SHOP_DOMAIN_HEADER].lower(),
        webhook_id=values[WEBHOOK_ID_HEADER],
        api_version=optional[API_VERSION_HEADER],
        event_id=optional[EVENT_ID_HEADER],
        triggered_at=parse_triggered_at(request.headers.get(TRIGGERED_AT_HEADER)),
        body=body,
    )


def _header(request: Request, name: str) -> str | None:
    return (request.headers.get(name) or "").strip() or None


def _shop_domain_in(body: bytes) -> str:
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return ""
    domain = payload.get("shop_domain") if isinstance(payload, dict) else None
    return domain.strip() if isinstance(domain, str) else ""


def _read_body(request: Request, *, max_body_bytes: int) -> bytes | None:
    """Return the raw body, or None when it is longer than *max_body_bytes*."""
    if request.content_length is not None and request.content_length > max_body_bytes:
        return None
    # A chunked body has no Content-Length; Werkzeug stops reading at max_content_length without
    # an error, so allow one byte more and treat reaching it as "too large".
    request.max_content_length = max_body_bytes + 1
    body = request.get_data(cache=False)
    if len(body) > max_body_bytes:
        return None
    return body


def _malformed_headers(values: dict[str, str], optional: dict[str, str | None]) -> tuple[str, ...]:
    topic = values[TOPIC_HEADER]
    api_version = optional[API_VERSION_HEADER] or ""
    event_id = optional[EVENT_ID_HEADER] or ""
    checks = {
        TOPIC_HEADER: len(topic) <= _MAX_TOPIC_LENGTH and _TOPIC.fullmatch(topic) is not None,
        SHOP_DOMAIN_HEADER: is_valid_shop_domain(values[SHOP_DOMAIN_HEADER]),
        WEBHOOK_ID_HEADER: len(values[WEBHOOK_ID_HEADER]) <= _MAX_ID_LENGTH,
        API_VERSION_HEADER: len(api_version) <= _MAX_API_VERSION_LENGTH,
        EVENT_ID_HEADER: len(event_id) <= _MAX_ID_LENGTH,
    }
    return tuple(name for name, is_valid in checks.items() if not is_valid)


def parse_triggered_at(raw: str | None) -> datetime | None:
    """Return the trigger time as aware UTC, or None when absent or unreadable.

    The header only orders events; a delivery is never refused over it.
    """
    if not raw:
        return None
    try:
        parsed = datetime.fromisoformat(raw.strip())
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)
