"""Store many order versions at once: the batch path of webhooks, backfill and reconciliation.

Shopify delivers at least once and out of order, and a batch of deliveries often holds several
versions of one order. The call replays the rule `upsert_order` applies one version at a time (the
newest `updated_at` wins, the delivery's triggered-at breaks ties) in memory, against the stored
versions read in one query, then writes each order once with a few multi-row statements
(`order_writes`), and brings the read models up to date once for all the orders of the call.

The refunds and fulfillments nested in the versions are merged set-wise too (`nested_writes`).
Only an order one of whose refunds carries no date takes the per-version path
(`orders.store_order_version`): such a refund is dated by the order as it stands when the refund
is first met, which only replaying the versions one by one tells; Shopify always dates refunds.

A version that can never be stored (no id, no price) is reported in `failures` under its key and
the others are stored; any other error (the database's) propagates, and the caller decides how to
isolate it (`webhooks.order_sets` bisects the batch in savepoints).
"""

from __future__ import annotations

from collections.abc import Hashable
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from shopify_app.analytics.rollups.incremental import note_orders_changed
from shopify_app.models import Shop
from shopify_app.store.nested_writes import write_nested_facts
from shopify_app.store.order_versions import ParsedOrder
from shopify_app.store.order_versions import read_order
from shopify_app.store.order_writes import KeyedVersion
from shopify_app.store.order_writes import write_versions
from shopify_app.store.orders import store_order_version
from shopify_app.store.payloads import InvalidPayload


@dataclass(frozen=True)
class OrderVersion:
    """One version of an order to store; *key* is the caller's handle on it (a delivery id)."""

    key: Hashable
    payload: Mapping[str, Any]
    event_at: datetime | None


@dataclass
class OrderBatchResult:
    """The local order id stored for each key, and why the versions that failed could not be."""

    order_ids: dict[Hashable, int] = field(default_factory=dict)
    failures: dict[Hashable, InvalidPayload] = field(default_factory=dict)


def upsert_orders(
    session: Session,
    *,
    shop: Shop,
    versions: Sequence[OrderVersion],
    now: datetime,
    update_rollups: bool = True,
) -> OrderBatchResult:
    """Store *versions* of *shop*'s orders; bring the rollups up to date unless told not to.

    The result is the one applying each version with `upsert_order` in the given order gives,
    which is the one of any order when the versions are told apart by the version rule.
    `update_rollups=False` is for a caller that rebuilds the read models itself afterwards
    (a backfill, which rebuilds them once at its end).
    """
    result = OrderBatchResult()
    readable: list[tuple[OrderVersion, ParsedOrder]] = []
    for version in versions:
        try:
            parsed = read_order(version.payload, event_at=version.event_at, now=now)
        except InvalidPayload as exc:
            result.failures[version.key] = exc
            continue
        readable.append((version, parsed))
    undated = {
        parsed.shopify_id
        for _, parsed in readable
        if any(refund.processed_at is None for refund in parsed.refunds)
    }
    one_by_one = [version for version, parsed in readable if parsed.shopify_id in undated]
    _store_one_by_one(session, shop=shop, versions=one_by_one, now=now, result=result)
    as_set = [
        KeyedVersion(version.key, parsed)
        for version, parsed in readable
        if parsed.shopify_id not in undated
    ]
    if as_set:
        order_ids = write_versions(session, shop=shop, versions=as_set)
        write_nested_facts(session, shop=shop, versions=as_set, order_ids=order_ids)
        result.order_ids.update(order_ids)
    if update_rollups:
        note_orders_changed(session, shop_id=shop.id, order_ids=set(result.order_ids.values()))
    return result


def _store_one_by_one(
    session: Session,
    *,
    shop: Shop,
    versions: Sequence[OrderVersion],
    now: datetime,
    result: OrderBatchResult,
) -> None:
    """Store the versions of orders with an undated refund through the single path."""
    for version in versions:
        try:
            with session.begin_nested():
                order = store_order_version(
                    session, shop=shop, payload=version.payload, event_at=version.event_at, now=now
                )
        except InvalidPayload as exc:  # a malformed refund or fulfillment
            result.failures[version.key] = exc
            continue
        result.order_ids[version.key] = order.id
