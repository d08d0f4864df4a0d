"""Typed errors for calls to Shopify, so callers can tell a retry from a dead end."""

from __future__ import annotations


class ShopifyError(Exception):
    """Base of every failure talking to Shopify."""

    is_retryable = False


class ShopifyUnavailable(ShopifyError):
    """Shopify answered 5xx or 429 (after our own retries), or the connection failed."""

    is_retryable = True


class ShopifyThrottled(ShopifyUnavailable):
    """GraphQL cost or REST rate limit kept us waiting longer than allowed."""


class ShopifyAuthError(ShopifyError):
    """The token or grant was refused (401/403, or 400 from the token endpoint)."""


class ShopifyGraphQLError(ShopifyError):
    """The GraphQL response carried errors other than throttling."""

    def __init__(self, message: str, errors: list[dict[str, object]] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or []
