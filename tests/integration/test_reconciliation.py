"""Reconciliation fetches what webhooks missed; the watermark moves only after success."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from datetime import datetime
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import responses
from flask.testing import FlaskCliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from shopify_app.analytics.rollups.rebuild import rebuild_rollups
from shopify_app.db import Database
from shopify_app.gateway.errors import ShopifyGraphQLError
from shopify_app.gateway.errors import ShopifyUnavailable
from shopify_app.gateway.graphql import GraphQLClient
from shopify_app.models import Checkout
from shopify_app.models import Order
from shopify_app.models import Shop
from shopify_app.models import SyncWatermark
from shopify_app.store import orders
from shopify_app.store.sync import graphql_shapes
from shopify_app.store.sync import reconciliation
from tests.support.rollups import rollup_rows

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
ALPHA = "alpha.myshopify.com"
BETA = "beta.myshopify.com"


def _graphql_url(domain: str) -> str:
    return f"https://{domain}/admin/api/2026-07/graphql.json"


def _jsonl(name: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (FIXTURES / name).read_text().splitlines() if line]


def _nodes_with_children(name: str) -> list[dict[str, Any]]:
    """Turn grouped bulk lines back into query nodes with a `lineItems` connection."""
    nodes: list[dict[str, Any]] = []
    for obj in _jsonl(name):
        parent = obj.pop("__parentId", None)
        if parent is None:
            obj["lineItems"] = {"pageInfo": {"hasNextPage": False, "endCursor": None}, "nodes": []}
            nodes.append(obj)
        else:
            nodes[-1]["lineItems"]["nodes"].append(obj)
    return nodes


ORDER_NODES = _nodes_with_children("bulk_orders.jsonl")
CHECKOUT_NODES = _nodes_with_children("bulk_abandoned_checkouts.jsonl")
COST = {
    "requestedQueryCost": 120,
    "actualQueryCost": 80,
    "throttleStatus": {"maximumAvailable": 2000, "currentlyAvailable": 1900, "restoreRate": 100},
}


def _page(root: str, nodes: list[dict[str, Any]], cursor: str | None) -> str:
    page_info = {"hasNextPage": cursor is not None, "endCursor": cursor}
    return json.dumps(
        {"data": {root: {"pageInfo": page_info, "nodes": nodes}}, "extensions": {"cost": COST}}
    )


class FakeShopify:
    """Answer the reconciliation queries of one shop from queued order and checkout pages."""

    def __init__(self, mock: responses.RequestsMock, domain: str = ALPHA) -> None:
        self.order_pages: list[tuple[list[dict[str, Any]], str | None]] = [
            (ORDER_NODES[0:2], "cursor-1"),
            (ORDER_NODES[2:3], None),
        ]
        self.checkout_pages: list[tuple[list[dict[str, Any]], str | None]] = [
            (CHECKOUT_NODES[0:1], None)
        ]
        self.extra_lines: dict[str, list[dict[str, Any]]] = {}
        self.requests: list[dict[str, Any]] = []
        self.failures: list[tuple[int, str]] = []
        # (n, answers): from the n-th request on, answer these instead (one per request).
        self.failures_from: tuple[int, list[tuple[int, str]]] | None = None
        mock.add_callback(responses.POST, _graphql_url(domain), callback=self._answer)

    def _answer(self, request: Any) -> tuple[int, dict[str, str], str]:
        body = json.loads(request.body)
        self.requests.append(body)
        if self.failures_from is not None and len(self.requests) == self.failures_from[0]:
            self.failures = list(self.failures_from[1])
        if self.failures:
            status, text = self.failures.pop(0)
            return status, {"Retry-After": "0"} if status == 429 else {}, text
        query = body["query"]
        variables = body["variables"]
        if "ReconcileOrders" in query:
            index = 0 if variables["after"] is None else int(variables["after"].split("-")[1])
            nodes, cursor = self.order_pages[index]
            return 200, {}, _page("orders", nodes, cursor)
        if "ReconcileCheckouts" in query:
            index = 0 if variables["after"] is None else int(variables["after"].split("-")[1])
            nodes, cursor = self.checkout_pages[index]
            return 200, {}, _page("abandonedCheckouts", nodes, cursor)
        if "OrderLineItems" in query:
            lines = self.extra_lines[variables["id"]]
            connection = {"pageInfo": {"hasNextPage": False, "endCursor": None}, "nodes": lines}
            return 200, {}, json.dumps({"data": {"order": {"lineItems": connection}}})
        return 400, {}, json.dumps({"errors": [{"message": "unexpected query"}]})

    def order_queries(self) -> list[dict[str, Any]]:
        return [r["variables"] for r in self.requests if "ReconcileOrders" in r["query"]]


@pytest.fixture
def shopify(mock: responses.RequestsMock) -> FakeShopify:
    return FakeShopify(mock)


@pytest.fixture
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the HTTP retry backoff zero so 5xx retries do not slow the suite down."""
    monkeypatch.setattr(random, "uniform", lambda a, b: 0.0)


def _watermark(session: Session, shop: Shop, resource: str) -> SyncWatermark | None:
    session.expire_all()
    return reconciliation.get_watermark(session, shop_id=shop.id, resource=resource)


def _set_watermark(session: Session, shop: Shop, resource: str, until: datetime) -> None:
    watermark = reconciliation.ensure_watermark(session, shop_id=shop.id, resource=resource)
    watermark.synced_until = until
    session.commit()


def test_reconciliation_pages_through_orders_and_moves_the_watermark_to_the_run_start(
    shop: Shop,
    session: Session,
    database: Database,
    shopify: FakeShopify,
    graphql: GraphQLClient,
    now: datetime,
) -> None:
    result = reconciliation.reconcile_shop(
        database.session_factory, shop_id=shop.id, client=graphql, now=now
    )

    assert result.counts == {"orders": 3, "checkouts": 1}
    queries = shopify.order_queries()
    assert [q["after"] for q in queries] == [None, "cursor-1"]
    since = (now - timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert queries[0]["query"] == f"updated_at:>='{since}'"
    stored = session.scalars(select(Order.shopify_id).order_by(Order.shopify_id)).all()
    assert stored == [5000, 5001, 5002]
    assert session.scalar(select(Checkout.token)) is not None
    # The shop is live: its aggregates are kept up to date page by page, as webhooks keep them.
    kept = rollup_rows(session, shop.id)
    assert kept["rollup_orders"]
    rebuild_rollups(session, shop_id=shop.id, now=now)
    assert rollup_rows(session, shop.id) == kept
    session.rollback()
    for resource in ("orders", "checkouts"):
        watermark = _watermark(session, shop, resource)
        assert watermark is not None
        assert watermark.synced_until == now
        assert watermark.last_success_at == now
        assert watermark.last_error is None


def test_next_run_asks_from_the_watermark_minus_the_overlap(
    shop: Shop,
    session: Session,
    database: Database,
    shopify: FakeShopify,
    graphql: GraphQLClient,
    now: datetime,
) -> None:
    _set_watermark(session, shop, "orders", now - timedelta(hours=6))

    reconciliation.reconcile_shop(
        database.session_factory, shop_id=shop.id, client=graphql, now=now
    )

    expected = (now - timedelta(hours=6, minutes=15)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert shopify.order_queries()[0]["query"] == f"updated_at:>='{expected}'"


def test_reconciliation_repairs_an_order_whose_webhooks_were_lost(
    shop: Shop,
    session: Session,
    database: Database,
    shopify: FakeShopify,
    graphql: GraphQLClient,
    now: datetime,
) -> None:
    # The shop saw order 5001 pending; the payment and a refund happened during an outage.
    node = ORDER_NODES[1]
    stale = graphql_shapes.order_to_rest(node)
    stale["updated_at"] = "2026-01-21T16:00:00Z"
    stale["financial_status"] = "pending"
    stored_shop = session.get(Shop, shop.id)
    assert stored_shop is not None
    orders.upsert_order(session, shop=stored_shop, payload=stale, event_at=None, now=now)
    session.commit()
    line = node["lineItems"]["nodes"][0]
    repaired = {
        **node,
        "updatedAt": "2026-03-09T10:00:00Z",
        "displayFinancialStatus": "PARTIALLY_REFUNDED",
        "refunds": [
            {
                "id": "gid://shopify/Refund/99001",
                "createdAt": "2026-03-09T09:59:00Z",
                "totalRefundedSet": line["originalUnitPriceSet"],
                "refundLineItems": {
                    "nodes": [
                        {
                            "id": "gid://shopify/RefundLineItem/1",
                            "quantity": 1,
                            "lineItem": {"id": line["id"]},
                            "subtotalSet": line["originalUnitPriceSet"],
                        }
                    ]
                },
            }
        ],
    }
    shopify.order_pages = [([repaired], None)]

    reconciliation.reconcile_shop(
        database.session_factory, shop_id=shop.id, client=graphql, now=now
    )

    session.expire_all()
    order = session.scalar(select(Order).where(Order.shopify_id == 5001))
    assert order is not None
    assert order.financial_status == "partially_refunded"
    assert order.total_refunded == Decimal(line["originalUnitPriceSet"]["shopMoney"]["amount"])
    refunded_line = next(
        item for item in order.lines if item.shopify_id == graphql_shapes.gid_to_int(line["id"])
    )
    assert refunded_line.refunded_quantity == 1


def test_order_with_more_line_items_than_one_page_is_completed_before_it_is_stored(
    shop: Shop,
    session: Session,
    database: Database,
    shopify: FakeShopify,
    graphql: GraphQLClient,
    now: datetime,
) -> None:
    node = json.loads(json.dumps(ORDER_NODES[2]))
    first, *rest = node["lineItems"]["nodes"]
    node["lineItems"] = {"pageInfo": {"hasNextPage": True, "endCursor": "li-1"}, "nodes": [first]}
    shopify.extra_lines[node["id"]] = rest
    shopify.order_pages = [([node], None)]

    reconciliation.reconcile_shop(
        database.session_factory, shop_id=shop.id, client=graphql, now=now
    )

    order = session.scalar(select(Order).where(Order.shopify_id == 5002))
    assert order is not None
    assert len(order.lines) == 1 + len(rest) == 3


def test_watermark_stays_when_shopify_answers_429_and_then_5xx_until_retries_run_out(
    shop: Shop,
    session: Session,
    database: Database,
    shopify: FakeShopify,
    graphql: GraphQLClient,
    now: datetime,
    no_backoff: None,
) -> None:
    before = now - timedelta(hours=8)
    _set_watermark(session, shop, "orders", before)
    # Page one arrives, then Shopify breaks down for every retry of page two.
    shopify.order_pages = [(ORDER_NODES[0:1], "cursor-1"), (ORDER_NODES[1:2], None)]
    shopify.failures_from = (2, [(429, "{}"), (503, "{}"), (502, "{}"), (503, "{}")])

    with pytest.raises(ShopifyUnavailable):
        reconciliation.reconcile_shop(
            database.session_factory, shop_id=shop.id, client=graphql, now=now
        )

    watermark = _watermark(session, shop, "orders")
    assert watermark is not None
    assert watermark.synced_until == before
    assert watermark.last_success_at is None
    assert watermark.last_attempt_at == now
    assert watermark.consecutive_failures == 1
    assert watermark.last_error is not None
    assert "ShopifyUnavailable" in watermark.last_error
    # What did arrive was stored; the next run asks again from the old watermark.
    assert session.scalars(select(Order.shopify_id)).all() == [5000]


def test_watermark_stays_when_graphql_answers_with_an_error(
    shop: Shop,
    session: Session,
    database: Database,
    shopify: FakeShopify,
    graphql: GraphQLClient,
    now: datetime,
) -> None:
    shopify.failures = [(200, json.dumps({"errors": [{"message": "Internal error"}]}))]

    with pytest.raises(ShopifyGraphQLError):
        reconciliation.reconcile_shop(
            database.session_factory, shop_id=shop.id, client=graphql, now=now
        )

    watermark = _watermark(session, shop, "orders")
    assert watermark is not None
    assert watermark.synced_until is None
    assert watermark.last_error is not None
    assert "Internal error" in watermark.last_error


def test_throttled_query_is_waited_out_and_retried(
    shop: Shop,
    session: Session,
    database: Database,
    shopify: FakeShopify,
    graphql: GraphQLClient,
    sleeps: list[float],
    now: datetime,
) -> None:
    throttled = {
        "errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}],
        "extensions": {
            "cost": {
                "requestedQueryCost": 500,
                "throttleStatus": {
                    "maximumAvailable": 1000,
                    "currentlyAvailable": 100,
                    "restoreRate": 50,
                },
            }
        },
    }
    shopify.failures = [(200, json.dumps(throttled))]

    result = reconciliation.reconcile_shop(
        database.session_factory, shop_id=shop.id, client=graphql, now=now
    )

    assert result.counts["orders"] == 3
    assert sleeps, "the client must wait for the bucket to refill"
    assert sleeps[0] == pytest.approx(8.05)  # (500 - 100) / 50 points per second, plus margin
    watermark = _watermark(session, shop, "orders")
    assert watermark is not None
    assert watermark.synced_until == now


def test_one_shops_failure_stays_with_that_shop(
    make_shop: Callable[..., Shop],
    session: Session,
    database: Database,
    mock: responses.RequestsMock,
    now: datetime,
) -> None:
    alpha = make_shop(ALPHA)
    beta = make_shop(BETA, access_token="shpat_beta")
    FakeShopify(mock, ALPHA)
    mock.post(_graphql_url(BETA), status=401, json={"errors": "Invalid API key or access token"})
    clients = {
        alpha.id: GraphQLClient(ALPHA, "shpat_alpha"),
        beta.id: GraphQLClient(BETA, "shpat_beta"),
    }

    results = reconciliation.reconcile_all_shops(
        database.session_factory, client_for=clients.__getitem__, now=now
    )

    outcome = {r.shop_domain: r for r in results}
    assert outcome[ALPHA].is_success
    assert outcome[ALPHA].counts == {"orders": 3, "checkouts": 1}
    assert not outcome[BETA].is_success
    assert "ShopifyAuthError" in (outcome[BETA].error or "")
    alpha_mark = _watermark(session, alpha, "orders")
    beta_mark = _watermark(session, beta, "orders")
    assert alpha_mark is not None
    assert alpha_mark.synced_until == now
    assert beta_mark is not None
    assert beta_mark.synced_until is None
    assert beta_mark.consecutive_failures == 1


def test_shops_reconcile_command_reports_each_shop(
    runner: FlaskCliRunner, shop: Shop, shopify: FakeShopify
) -> None:
    result = runner.invoke(args=["shops", "reconcile", ALPHA])

    assert result.exit_code == 0, result.output
    assert f"{ALPHA}: 3 orders, 1 checkouts" in result.output
