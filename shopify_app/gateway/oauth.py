"""Shopify's token endpoint: token exchange, authorization-code grant and refresh.

Every grant asks for an *expiring* offline token (`expiring=1`): required for public apps created
since 2026-04 and for all public apps from 2027-01.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from typing import Any

from shopify_app.gateway.errors import ShopifyAuthError
from shopify_app.gateway.errors import ShopifyError
from shopify_app.gateway.http import post_with_retries

TOKEN_EXCHANGE_GRANT = "urn:ietf:params:oauth:grant-type:token-exchange"
ID_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:id_token"
OFFLINE_TOKEN_TYPE = "urn:shopify:params:oauth:token-type:offline-access-token"


@dataclass(frozen=True)
class TokenGrant:
    access_token: str
    scope: str
    expires_at: datetime | None
    refresh_token: str | None
    refresh_token_expires_at: datetime | None


@dataclass(frozen=True)
class AppCredentials:
    api_key: str
    api_secret: str


def token_endpoint(shop_domain: str) -> str:
    return f"https://{shop_domain}/admin/oauth/access_token"


def exchange_session_token(
    shop_domain: str, id_token: str, *, app: AppCredentials, now: datetime
) -> TokenGrant:
    """Trade an App Bridge ID token for an expiring offline access token."""
    return _request_grant(
        shop_domain,
        {
            "client_id": app.api_key,
            "client_secret": app.api_secret,
            "grant_type": TOKEN_EXCHANGE_GRANT,
            "subject_token": id_token,
            "subject_token_type": ID_TOKEN_TYPE,
            "requested_token_type": OFFLINE_TOKEN_TYPE,
            "expiring": "1",
        },
        now=now,
    )


def exchange_authorization_code(
    shop_domain: str, code: str, *, app: AppCredentials, now: datetime
) -> TokenGrant:
    """Trade an OAuth authorization code for an expiring offline access token."""
    return _request_grant(
        shop_domain,
        {
            "client_id": app.api_key,
            "client_secret": app.api_secret,
            "code": code,
            "expiring": "1",
        },
        now=now,
    )


def refresh_access_token(
    shop_domain: str, refresh_token: str, *, app: AppCredentials, now: datetime
) -> TokenGrant:
    """Trade a refresh token for a new access/refresh pair (Shopify rotates both)."""
    return _request_grant(
        shop_domain,
        {
            "client_id": app.api_key,
            "client_secret": app.api_secret,
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
        },
        now=now,
    )


def _request_grant(shop_domain: str, body: dict[str, str], *, now: datetime) -> TokenGrant:
    response = post_with_retries(
        token_endpoint(shop_domain), json=body, headers={"Accept": "application/json"}
    )
    if response.status_code in {400, 401, 403}:
        raise ShopifyAuthError(
            f"Shopify refused the token request for {shop_domain} (HTTP {response.status_code})"
        )
    if response.status_code != 200:
        raise ShopifyError(f"unexpected HTTP {response.status_code} from the token endpoint")
    try:
        data: dict[str, Any] = response.json()
        access_token = str(data["access_token"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ShopifyError("the token endpoint answered without an access_token") from exc
    return TokenGrant(
        access_token=access_token,
        scope=str(data.get("scope") or ""),
        expires_at=_expiry(now, data.get("expires_in")),
        refresh_token=str(data["refresh_token"]) if data.get("refresh_token") else None,
        refresh_token_expires_at=_expiry(now, data.get("refresh_token_expires_in")),
    )


def _expiry(now: datetime, seconds: object) -> datetime | None:
    if seconds is None:
        return None
    try:
        return now + timedelta(seconds=int(str(seconds)))
    except ValueError:
        return None
