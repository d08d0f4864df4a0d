"""Repair what webhooks missed: ask Shopify what changed since the last successful sync.

Shopify retries a webhook 8 times over about 4 hours; after a longer outage the events are gone.
Per shop and resource a watermark says up to when everything has been fed through the upserts.
Each run asks for objects updated since the watermark (minus an overlap, because Shopify's search
index lags behind writes), feeds every page through the same upserts as webhooks (a page of
orders is one `upsert_orders` call, as a batch of order deliveries is), and moves the watermark to
the run's start only once every page succeeded.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm import sessionmaker

from shopify_app.errors import NotFound
from shopify_app.gateway.bulk import CHECKOUT_FIELDS
from shopify_app.gateway.bulk import CHECKOUT_LINE_ITEM_FIELDS
from shopify_app.gateway.bulk import MONEY_FIELDS
from shopify_app.gateway.bulk import ORDER_FIELDS
from shopify_app.gateway.bulk import ORDER_LINE_ITEM_FIELDS
from shopify_app.gateway.graphql import GraphQLClient
from shopify_app.models import Shop
from shopify_app.models import SyncWatermark
from shopify_app.store import checkouts
from shopify_app.store.order_batches import OrderVersion
from shopify_app.store.order_batches import upsert_orders
from shopify_app.store.sync import graphql_shapes
from shopify_app.store.sync.graphql_shapes import UnconvertibleObject

logger = logging.getLogger(__name__)

RESOURCES = ("orders", "checkouts")
OVERLAP = timedelta(minutes=15)
"""Re-read this much before the watermark: search results can trail writes by a few minutes."""

FIRST_LOOKBACK = timedelta(days=2)
"""How far back a shop's first reconciliation looks (the backfill covers older history)."""

# Kept small so one page stays well under the single-query cost cap (about 1000 points).
PAGE_SIZE = 10
LINE_ITEMS_PER_ORDER = 30
REFUNDS_PER_ORDER = 5
REFUND_LINES_PER_REFUND = 10
MAX_ERROR_LENGTH = 500

ORDERS_PAGE_QUERY = f"""
query ReconcileOrders($first: Int!, $after: String, $query: String!) {{
  orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {{
    pageInfo {{ hasNextPage endCursor }}
    nodes {{
      {ORDER_FIELDS}
      refunds(first: {REFUNDS_PER_ORDER}) {{
        id createdAt totalRefundedSet {{ {MONEY_FIELDS} }}
        refundLineItems(first: {REFUND_LINES_PER_REFUND}) {{
          nodes {{ quantity lineItem {{ id }} subtotalSet {{ {MONEY_FIELDS} }} }}
        }}
      }}
      lineItems(first: {LINE_ITEMS_PER_ORDER}) {{
        pageInfo {{ hasNextPage endCursor }}
        nodes {{ {ORDER_LINE_ITEM_FIELDS} }}
      }}
    }}
  }}
}}
"""

ORDER_LINE_ITEMS_QUERY = f"""
query OrderLineItems($id: ID!, $after: String) {{
  order(id: $id) {{
    lineItems(first: 100, after: $after) {{
      pageInfo {{ hasNextPage endCursor }}
      nodes {{ {ORDER_LINE_ITEM_FIELDS} }}
    }}
  }}
}}
"""

CHECKOUTS_PAGE_QUERY = f"""
query ReconcileCheckouts($first: Int!, $after: String, $query: String!) {{
  abandonedCheckouts(first: $first, after: $after, query: $query) {{
    pageInfo {{ hasNextPage endCursor }}
    nodes {{
      {CHECKOUT_FIELDS}
      lineItems(first: {LINE_ITEMS_PER_ORDER}) {{
        pageInfo {{ hasNextPage endCursor }}
        nodes {{ {CHECKOUT_LINE_ITEM_FIELDS} }}
      }}
    }}
  }}
}}
"""


@dataclass
class ShopReconciliation:
    """What one shop's reconciliation did, per resource."""

    shop_id: int
    shop_domain: str
    counts: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    error: str | None = None

    @property
    def is_success(self) -> bool:
        return self.error is None


def updated_since_query(since: datetime) -> str:
    """Return the search filter for objects updated at or after *since*."""
    return f"updated_at:>='{since.strftime('%Y-%m-%dT%H:%M:%SZ')}'"


def get_watermark(session: Session, *, shop_id: int, resource: str) -> SyncWatermark | None:
    return session.scalar(
        select(SyncWatermark).where(
            SyncWatermark.shop_id == shop_id, SyncWatermark.resource == resource
        )
    )


def ensure_watermark(session: Session, *, shop_id: int, resource: str) -> SyncWatermark:
    """Return the shop's watermark row for *resource*, creating it (unset) when missing."""
    watermark = get_watermark(session, shop_id=shop_id, resource=resource)
    if watermark is not None:
        return watermark
    try:
        with session.begin_nested():
            watermark = SyncWatermark(shop_id=shop_id, resource=resource, consecutive_failures=0)
            session.add(watermark)
    except IntegrityError:
        # Another process created it first; the unique constraint keeps one row per resource.
        watermark = get_watermark(session, shop_id=shop_id, resource=resource)
        assert watermark is not None
    return watermark


def reconcile_since(watermark: SyncWatermark | None, *, now: datetime) -> datetime:
    """Return the instant this run asks Shopify for changes from."""
    if watermark is None or watermark.synced_until is None:
        return now - FIRST_LOOKBACK
    return watermark.synced_until - OVERLAP


def installed_shop_ids(session: Session) -> list[int]:
    return list(
        session.scalars(
            select(Shop.id)
            .where(Shop.installed_at.is_not(None), Shop.uninstalled_at.is_(None))
            .order_by(Shop.id)
        )
    )


def reconcile_shop(
    session_factory: sessionmaker[Session],
    *,
    shop_id: int,
    client: GraphQLClient,
    now: datetime,
    resources: tuple[str, ...] = RESOURCES,
    page_size: int = PAGE_SIZE,
) -> ShopReconciliation:
    """Reconcile one shop; every page is committed on its own, the watermark last.

    Takes a session factory because no transaction may stay open across HTTP calls (on SQLite
    that would hold the write lock webhook ingestion needs). Raises on the first failure, after
    recording it on the resource's watermark, which stays where it was.
    """
    with _transaction(session_factory) as session:
        shop = session.get(Shop, shop_id)
        if shop is None:
            raise NotFound(f"shop {shop_id} does not exist")
        result = ShopReconciliation(shop_id=shop_id, shop_domain=shop.domain)

    for resource in resources:
        with _transaction(session_factory) as session:
            watermark = ensure_watermark(session, shop_id=shop_id, resource=resource)
            since = reconcile_since(watermark, now=now)
            watermark.last_attempt_at = now
        try:
            imported, skipped = _reconcile_resource(
                session_factory,
                shop_id=shop_id,
                resource=resource,
                client=client,
                since=since,
                now=now,
                page_size=page_size,
            )
        except Exception as exc:
            result.error = f"{resource}: {type(exc).__name__}: {exc}"[:MAX_ERROR_LENGTH]
            with _transaction(session_factory) as session:
                watermark = ensure_watermark(session, shop_id=shop_id, resource=resource)
                watermark.last_error = result.error
                watermark.consecutive_failures += 1
            raise
        with _transaction(session_factory) as session:
            watermark = ensure_watermark(session, shop_id=shop_id, resource=resource)
            # The run's start, not the newest updated_at seen: objects changed while we paged
            # are picked up by the next run (and the overlap covers search-index lag).
            watermark.synced_until = now
            watermark.last_success_at = now
            watermark.last_error = None
            watermark.consecutive_failures = 0
        result.counts[resource] = imported
        result.skipped[resource] = skipped
    logger.info(
        "Reconciled %s: %s",
        result.shop_domain,
        ", ".join(f"{k}={v}" for k, v in result.counts.items()),
        extra={"shop": result.shop_domain},
    )
    return result


def reconcile_all_shops(
    session_factory: sessionmaker[Session],
    *,
    client_for: Callable[[int], GraphQLClient],
    now: datetime,
    shop_ids: list[int] | None = None,
) -> list[ShopReconciliation]:
    """Reconcile every installed shop; one shop's failure is recorded and the others go on."""
    if shop_ids is None:
        with _transaction(session_factory) as session:
            shop_ids = installed_shop_ids(session)
    results: list[ShopReconciliation] = []
    for shop_id in shop_ids:
        try:
            results.append(
                reconcile_shop(
                    session_factory, shop_id=shop_id, client=client_for(shop_id), now=now
                )
            )
        except Exception as exc:  # noqa: BLE001 - recorded per shop; the other shops go on
            logger.warning("Reconciliation of shop %d failed: %s", shop_id, type(exc).__name__)
            with _transaction(session_factory) as session:
                shop = session.get(Shop, shop_id)
                domain = shop.domain if shop is not None else str(shop_id)
            results.append(
                ShopReconciliation(
                    shop_id=shop_id,
                    shop_domain=domain,
                    error=f"{type(exc).__name__}: {exc}"[:MAX_ERROR_LENGTH],
                )
            )
    return results


def _reconcile_resource(
    session_factory: sessionmaker[Session],
    *,
    shop_id: int,
    resource: str,
    client: GraphQLClient,
    since: datetime,
    now: datetime,
    page_size: int,
) -> tuple[int, int]:
    imported = skipped = 0
    for nodes in _pages(client, resource=resource, since=since, page_size=page_size):
        payloads: list[dict[str, Any]] = []
        for node in nodes:
            try:
                payloads.append(_to_payload(client, resource=resource, node=node))
            except UnconvertibleObject as exc:
                logger.warning("Skipped a %s object: %s", resource, exc)
                skipped += 1
        with _transaction(session_factory) as session:
            shop = session.get(Shop, shop_id)
            if shop is None:
                raise NotFound(f"shop {shop_id} does not exist")
            refused = _store_page(session, shop=shop, resource=resource, payloads=payloads, now=now)
        imported += len(payloads) - refused
        skipped += refused
    return imported, skipped


def _store_page(
    session: Session, *, shop: Shop, resource: str, payloads: list[dict[str, Any]], now: datetime
) -> int:
    """Store one page through the upserts webhooks use; return how many the store refused.

    A page of orders is one `upsert_orders` call with the rollups brought up to date, since the
    shop is live; a refused version is skipped with its reason, as one that cannot be converted.
    """
    if resource != "orders":
        for payload in payloads:
            checkouts.upsert_checkout(session, shop=shop, payload=payload, event_at=None, now=now)
        return 0
    versions = [
        OrderVersion(key=position, payload=payload, event_at=None)
        for position, payload in enumerate(payloads)
    ]
    result = upsert_orders(session, shop=shop, versions=versions, now=now)
    for reason in result.failures.values():
        logger.warning("Skipped a %s object: %s", resource, reason, extra={"shop": shop.domain})
    return len(result.failures)


def _pages(
    client: GraphQLClient, *, resource: str, since: datetime, page_size: int
) -> Iterator[list[dict[str, Any]]]:
    query = ORDERS_PAGE_QUERY if resource == "orders" else CHECKOUTS_PAGE_QUERY
    root = "orders" if resource == "orders" else "abandonedCheckouts"
    cursor: str | None = None
    while True:
        data = client.execute(
            query, {"first": page_size, "after": cursor, "query": updated_since_query(since)}
        )
        connection = data.get(root) or {}
        yield graphql_shapes.connection_nodes(connection)
        page_info = connection.get("pageInfo") or {}
        cursor = page_info.get("endCursor")
        if not page_info.get("hasNextPage") or not cursor:
            return


def _to_payload(client: GraphQLClient, *, resource: str, node: dict[str, Any]) -> dict[str, Any]:
    lines = graphql_shapes.connection_nodes(node.get("lineItems"))
    page_info = (node.get("lineItems") or {}).get("pageInfo") or {}
    if resource == "orders":
        if page_info.get("hasNextPage"):
            lines += _remaining_order_lines(client, node["id"], page_info.get("endCursor"))
        return graphql_shapes.order_to_rest(node, lines)
    return graphql_shapes.checkout_to_rest(node, lines)


def _remaining_order_lines(
    client: GraphQLClient, order_id: str, cursor: str | None
) -> list[dict[str, Any]]:
    lines: list[dict[str, Any]] = []
    while cursor:
        data = client.execute(ORDER_LINE_ITEMS_QUERY, {"id": order_id, "after": cursor})
        connection = (data.get("order") or {}).get("lineItems") or {}
        lines += graphql_shapes.connection_nodes(connection)
        page_info = connection.get("pageInfo") or {}
        cursor = page_info.get("endCursor") if page_info.get("hasNextPage") else None
    return lines


@contextmanager
def _transaction(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    with session_factory() as session, session.begin():
        yield session
