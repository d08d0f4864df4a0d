"""A small GraphQL Admin API client that respects Shopify's cost-based rate limit."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from shopify_app.gateway import API_VERSION
from shopify_app.gateway.errors import ShopifyAuthError
from shopify_app.gateway.errors import ShopifyError
from shopify_app.gateway.errors import ShopifyGraphQLError
from shopify_app.gateway.errors import ShopifyThrottled
from shopify_app.gateway.http import post_with_retries

logger = logging.getLogger(__name__)


def graphql_endpoint(shop_domain: str, api_version: str = API_VERSION) -> str:
    return f"https://{shop_domain}/admin/api/{api_version}/graphql.json"


class GraphQLClient:
    """Run GraphQL queries for one shop.

    Reads `extensions.cost.throttleStatus` from every answer: when the bucket is too low for the
    next query, or Shopify answers THROTTLED, it waits for the bucket to refill instead of failing.
    """

    def __init__(
        self,
        shop_domain: str,
        access_token: str,
        *,
        max_throttle_waits: int = 5,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.shop_domain = shop_domain
        self._access_token = access_token
        self._max_throttle_waits = max_throttle_waits
        self._sleep = sleep
        self._available: float | None = None
        self._restore_rate: float = 50.0
        self._last_cost: float = 0.0

    def execute(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        for _ in range(self._max_throttle_waits + 1):
            self._wait_for_budget()
            payload = self._post(query, variables)
            errors = payload.get("errors") or []
            if _is_throttled(errors):
                wait = self._refill_time(self._last_cost or 50.0)
                logger.info("GraphQL throttled for %s; waiting %.2fs", self.shop_domain, wait)
                self._sleep(wait)
                continue
            if errors:
                messages = "; ".join(str(e.get("message", e)) for e in errors)
                raise ShopifyGraphQLError(f"GraphQL errors: {messages}", errors)
            data = payload.get("data")
            if not isinstance(data, dict):
                raise ShopifyGraphQLError("GraphQL answer has no data")
            return data
        raise ShopifyThrottled(f"still throttled after {self._max_throttle_waits} waits")

    def _post(self, query: str, variables: dict[str, Any] | None) -> dict[str, Any]:
        response = post_with_retries(
            graphql_endpoint(self.shop_domain),
            json={"query": query, "variables": variables or {}},
            headers={
                "X-Shopify-Access-Token": self._access_token,
                "Content-Type": "application/json",
                "Accept": "application/json",
            },
        )
        if response.status_code in {401, 403}:
            raise ShopifyAuthError(
                f"Shopify refused the access token (HTTP {response.status_code})"
            )
        if response.status_code != 200:
            raise ShopifyError(f"unexpected HTTP {response.status_code} from the GraphQL API")
        try:
            payload: dict[str, Any] = response.json()
        except ValueError as exc:
            raise ShopifyError("the GraphQL API answered with invalid JSON") from exc
        self._record_cost(payload)
        return payload

    def _record_cost(self, payload: dict[str, Any]) -> None:
        cost = (payload.get("extensions") or {}).get("cost") or {}
        status = cost.get("throttleStatus") or {}
        try:
            self._available = float(status["currentlyAvailable"])
            self._restore_rate = float(status.get("restoreRate") or self._restore_rate)
        except (KeyError, TypeError, ValueError):
            return
        requested = cost.get("requestedQueryCost") or cost.get("actualQueryCost")
        if isinstance(requested, int | float):
            self._last_cost = float(requested)

    def _wait_for_budget(self) -> None:
        if self._available is None or not self._last_cost:
            return
        if self._available < self._last_cost:
            self._sleep(self._refill_time(self._last_cost))

    def _refill_time(self, needed: float) -> float:
        available = self._available or 0.0
        missing = max(needed - available, 0.0)
        return min(missing / max(self._restore_rate, 1.0) + 0.05, 30.0)


def _is_throttled(errors: list[dict[str, Any]]) -> bool:
    return any((e.get("extensions") or {}).get("code") == "THROTTLED" for e in errors)
