"""Verify App Bridge session tokens (ID tokens): HS256 JWTs signed with the app's secret."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

import shopify.session_token

from shopify_app.gateway.shop_domain import is_valid_shop_domain


class SessionTokenRejection(enum.StrEnum):
    MISSING = "missing session token"
    MALFORMED_HEADER = "authorization header is not a Bearer token"
    INVALID = "invalid session token"
    BAD_SHOP = "session token does not name a valid shop"


class InvalidSessionToken(Exception):
    def __init__(self, reason: SessionTokenRejection, detail: str = "") -> None:
        super().__init__(f"{reason.value}: {detail}" if detail else reason.value)
        self.reason = reason


@dataclass(frozen=True)
class SessionClaims:
    shop_domain: str
    user_id: str | None
    session_id: str | None
    token: str


def decode_session_token(
    token: str | None, *, api_key: str, secrets: Iterable[str]
) -> SessionClaims:
    """Return the claims of a valid session token or raise InvalidSessionToken.

    ShopifyAPI checks the signature (HS256 only), `aud`, `exp`/`nbf` with 10 s leeway and that
    `iss` and `dest` share a host; it neither requires `exp` nor validates the shop strictly, so
    both are checked here too.
    """
    if not token:
        raise InvalidSessionToken(SessionTokenRejection.MISSING)
    last_error: Exception | None = None
    for secret in secrets:
        try:
            payload = shopify.session_token.decode_from_header(f"Bearer {token}", api_key, secret)
        except shopify.session_token.SessionTokenError as exc:
            last_error = exc
            continue
        break
    else:
        raise InvalidSessionToken(SessionTokenRejection.INVALID, str(last_error or ""))

    if not isinstance(payload.get("exp"), int | float) or not isinstance(
        payload.get("nbf"), int | float
    ):
        raise InvalidSessionToken(SessionTokenRejection.INVALID, "exp and nbf are required")
    iss_host = urlsplit(str(payload.get("iss", ""))).hostname or ""
    dest_parts = urlsplit(str(payload.get("dest", "")))
    dest_host = dest_parts.hostname or ""
    if (
        dest_parts.scheme != "https"
        or dest_host != iss_host
        or not is_valid_shop_domain(dest_host)
        or dest_parts.netloc != dest_host
    ):
        raise InvalidSessionToken(SessionTokenRejection.BAD_SHOP)
    return SessionClaims(
        shop_domain=dest_host,
        user_id=str(payload["sub"]) if payload.get("sub") is not None else None,
        session_id=str(payload["sid"]) if payload.get("sid") is not None else None,
        token=token,
    )


def bearer_token(authorization_header: str | None) -> str:
    if not authorization_header:
        raise InvalidSessionToken(SessionTokenRejection.MISSING)
    scheme, _, token = authorization_header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidSessionToken(SessionTokenRejection.MALFORMED_HEADER)
    return token.strip()
