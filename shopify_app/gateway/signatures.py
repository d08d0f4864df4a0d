"""HMAC signatures Shopify puts on query strings and webhook bodies, checked in constant time."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable
from collections.abc import Mapping
from collections.abc import Sequence
from urllib.parse import quote


def _encoded_query_for_signature(params: Mapping[str, str | Sequence[str]]) -> str:
    # Shopify's rule: drop hmac (and the legacy signature), sort, join k=v with '&'; array
    # parameters (`ids[]`) are rendered as ["a", "b"]. Escape '%', '&' and '=' in keys/values.
    def escape(text: str, *, is_key: bool) -> str:
        text = text.replace("%", "%25").replace("&", "%26")
        return text.replace("=", "%3D") if is_key else text

    pairs: list[str] = []
    for key in sorted(params):
        if key in {"hmac", "signature"}:
            continue
        value = params[key]
        if isinstance(value, str):
            rendered = escape(value, is_key=False)
        else:
            rendered = "[" + ", ".join(f'"{escape(v, is_key=False)}"' for v in value) + "]"
        pairs.append(f"{escape(key, is_key=True)}={rendered}")
    return "&".join(pairs)


def sign_query(params: Mapping[str, str | Sequence[str]], secret: str) -> str:
    """Return the hex HMAC-SHA256 Shopify puts in a query string's `hmac` parameter."""
    message = _encoded_query_for_signature(params).encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def is_valid_query_hmac(params: Mapping[str, str | Sequence[str]], secrets: Iterable[str]) -> bool:
    received = params.get("hmac")
    if not isinstance(received, str) or not received:
        return False
    return any(
        hmac.compare_digest(sign_query(params, secret), received.lower()) for secret in secrets
    )


def sign_webhook(body: bytes, secret: str) -> str:
    """Return the base64 HMAC-SHA256 of the raw body, as in `X-Shopify-Hmac-Sha256`."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def is_valid_webhook_hmac(body: bytes, received: str, secrets: Iterable[str]) -> bool:
    received_bytes = received.strip().encode()
    return any(
        hmac.compare_digest(sign_webhook(body, secret).encode(), received_bytes)
        for secret in secrets
    )


def query_string_for(params: Mapping[str, str]) -> str:
    return "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in params.items())
