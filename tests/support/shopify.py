"""Build what Shopify would send: session tokens, signed webhooks, signed OAuth callbacks."""

from __future__ import annotations

import json
import uuid
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from typing import Any

import jwt

from shopify_app.gateway.signatures import sign_query
from shopify_app.gateway.signatures import sign_webhook

API_KEY = "test-api-key"
API_SECRET = "test-api-secret-" + "0123456789abcdef" * 3


def make_session_token(
    shop_domain: str,
    *,
    secret: str = API_SECRET,
    audience: str = API_KEY,
    now: datetime | None = None,
    lifetime: timedelta = timedelta(minutes=1),
    algorithm: str = "HS256",
    **overrides: Any,
) -> str:
    """Return an App Bridge-style session token; *overrides* replace or drop (None) claims."""
    now = now or datetime.now(UTC)
    claims: dict[str, Any] = {
        "iss": f"https://{shop_domain}/admin",
        "dest": f"https://{shop_domain}",
        "aud": audience,
        "sub": "42",
        "exp": int((now + lifetime).timestamp()),
        "nbf": int(now.timestamp()),
        "iat": int(now.timestamp()),
        "jti": str(uuid.uuid4()),
        "sid": str(uuid.uuid4()),
    }
    for key, value in overrides.items():
        if value is None:
            claims.pop(key, None)
        else:
            claims[key] = value
    return jwt.encode(claims, secret, algorithm=algorithm)


def signed_oauth_query(params: dict[str, str], *, secret: str = API_SECRET) -> dict[str, str]:
    signed = dict(params)
    signed["hmac"] = sign_query(params, secret)
    return signed


def webhook_headers(
    topic: str,
    body: bytes,
    *,
    shop_domain: str,
    secret: str = API_SECRET,
    webhook_id: str | None = None,
    triggered_at: datetime | None = None,
    api_version: str = "2026-07",
    event_id: str | None = None,
) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "X-Shopify-Topic": topic,
        "X-Shopify-Hmac-Sha256": sign_webhook(body, secret),
        "X-Shopify-Shop-Domain": shop_domain,
        "X-Shopify-API-Version": api_version,
        "X-Shopify-Webhook-Id": webhook_id or str(uuid.uuid4()),
        "X-Shopify-Event-Id": event_id or str(uuid.uuid4()),
        "X-Shopify-Triggered-At": (triggered_at or datetime.now(UTC)).isoformat(),
    }


def json_body(payload: Any) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


def token_response(
    *,
    access_token: str = "shpat_test_access",
    refresh_token: str | None = "shprt_test_refresh",
    scope: str = "read_orders,read_customers,read_fulfillments,write_customers",
    expires_in: int | None = 3600,
    refresh_expires_in: int | None = 7_776_000,
) -> dict[str, Any]:
    body: dict[str, Any] = {"access_token": access_token, "scope": scope}
    if expires_in is not None:
        body["expires_in"] = expires_in
    if refresh_token is not None:
        body["refresh_token"] = refresh_token
    if refresh_expires_in is not None:
        body["refresh_token_expires_in"] = refresh_expires_in
    return body
