"""Shopify answers 429, 5xx and THROTTLED for a while: calls back off, then resume."""

from __future__ import annotations

import pytest
import responses

from shopify_app.gateway.errors import ShopifyUnavailable
from shopify_app.gateway.graphql import GraphQLClient
from shopify_app.gateway.graphql import graphql_endpoint
from shopify_app.gateway.http import post_with_retries

SHOP = "alpha.myshopify.com"
URL = graphql_endpoint(SHOP)
OK = {
    "data": {"shop": {"name": "Alpha"}},
    "extensions": {
        "cost": {
            "requestedQueryCost": 10,
            "actualQueryCost": 10,
            "throttleStatus": {
                "maximumAvailable": 2000.0,
                "currentlyAvailable": 1990.0,
                "restoreRate": 100.0,
            },
        }
    },
}
THROTTLED = {
    "errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}],
    "extensions": {
        "cost": {
            "requestedQueryCost": 500,
            "actualQueryCost": None,
            "throttleStatus": {
                "maximumAvailable": 2000.0,
                "currentlyAvailable": 20.0,
                "restoreRate": 100.0,
            },
        }
    },
}


def client(waits: list[float]) -> GraphQLClient:
    return GraphQLClient(SHOP, "shpat_x", sleep=waits.append)


@responses.activate
def test_429_with_retry_after_then_5xx_then_success_waits_and_returns_the_data() -> None:
    responses.post(URL, status=429, headers={"Retry-After": "2.0"})
    responses.post(URL, status=503)
    responses.post(URL, status=502)
    responses.post(URL, json=OK)
    waits: list[float] = []

    response = post_with_retries(URL, json={"query": "{ shop { name } }"}, sleep=waits.append)

    assert response.json() == OK
    assert waits[0] == 2.0  # Retry-After honoured
    assert len(waits) == 3
    assert all(0 <= wait <= 30 for wait in waits)
    assert len(responses.calls) == 4


@responses.activate
def test_throttled_answers_wait_for_the_bucket_to_refill_then_resume() -> None:
    responses.post(URL, json=THROTTLED)
    responses.post(URL, json=THROTTLED)
    responses.post(URL, json=OK)
    waits: list[float] = []

    assert client(waits).execute("{ shop { name } }") == OK["data"]
    assert len(waits) >= 2  # it waited for the refill instead of failing
    assert all(0 < wait < 60 for wait in waits)
    assert len(responses.calls) == 3


@responses.activate
def test_long_outage_raises_a_clear_error_and_the_next_call_after_it_succeeds() -> None:
    for _ in range(4):
        responses.post(URL, status=500)
    responses.post(URL, json=OK)
    waits: list[float] = []
    graphql = client(waits)

    with pytest.raises(ShopifyUnavailable, match="HTTP 500"):
        graphql.execute("{ shop { name } }")
    assert graphql.execute("{ shop { name } }") == OK["data"]
    assert all(0 <= wait <= 30 for wait in waits)
