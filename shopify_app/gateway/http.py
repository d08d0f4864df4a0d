"""One HTTP session for calls to Shopify: timeouts, and retries with jitter on 429 and 5xx."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import Any

import requests

from shopify_app.gateway.errors import ShopifyUnavailable

logger = logging.getLogger(__name__)

TIMEOUT = (3.05, 20.0)
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


def post_with_retries(
    url: str,
    *,
    json: dict[str, Any],
    headers: dict[str, str] | None = None,
    max_attempts: int = 4,
    base_delay: float = 0.5,
    sleep: Callable[[float], None] = time.sleep,
) -> requests.Response:
    """POST *json* to *url*, retrying 429/5xx and connection errors with full-jitter backoff.

    Honors Retry-After on 429. Returns the last response (possibly 4xx) for the caller to judge;
    raises ShopifyUnavailable only when every attempt failed to produce a non-retryable answer.
    """
    last_problem = ""
    for attempt in range(1, max_attempts + 1):
        try:
            response = requests.post(url, json=json, headers=headers, timeout=TIMEOUT)
        except requests.RequestException as exc:
            last_problem = type(exc).__name__
        else:
            if response.status_code not in RETRY_STATUSES:
                return response
            last_problem = f"HTTP {response.status_code}"
            retry_after = response.headers.get("Retry-After")
            if retry_after and attempt < max_attempts:
                try:
                    sleep(min(float(retry_after), 30.0))
                    continue
                except ValueError:
                    pass
        if attempt < max_attempts:
            delay = random.uniform(0, base_delay * 2 ** (attempt - 1))  # jitter, not a secret
            logger.warning(
                "Shopify call failed (%s); retry %d in %.2fs", last_problem, attempt, delay
            )
            sleep(delay)
    raise ShopifyUnavailable(f"Shopify did not answer successfully: {last_problem}")
