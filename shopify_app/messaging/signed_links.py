"""Signed tokens for links in emails (unsubscribe, NPS): no login, no guessable ids."""

from __future__ import annotations

from typing import Any

from itsdangerous import BadSignature
from itsdangerous import URLSafeSerializer


def make_token(secret_key: str, *, purpose: str, payload: dict[str, Any]) -> str:
    """Return a URL-safe token for *payload*, valid only for *purpose*."""
    return URLSafeSerializer(secret_key, salt=f"retention.{purpose}").dumps(payload)


def read_token(secret_key: str, *, purpose: str, token: str) -> dict[str, Any] | None:
    """Return the payload of *token*, or None if forged, altered or made for another purpose."""
    try:
        payload = URLSafeSerializer(secret_key, salt=f"retention.{purpose}").loads(token)
    except BadSignature:
        return None
    return payload if isinstance(payload, dict) else None
