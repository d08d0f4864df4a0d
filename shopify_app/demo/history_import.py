"""Import the demo store's history the way a new shop's history is imported: in chunks, then once.

A shop that installs the app gets its past from a bulk export, not as webhooks, and the backfill
stores it in chunks through `upsert_orders` without touching the read models, then rebuilds them
once (`shopify_app.store.sync.backfill`). The demo's years of history take the same path, in
process: each chunk of events is one transaction; its order events (every orders/* topic carries
the whole order) are one `upsert_orders` call, and every other event then goes through the
handler its webhook would reach, so refunds and fulfillments find the orders stored before them.
Bodies are validated by their topic's schema, exactly as delivered webhooks are. Live mode still
sends webhooks over HTTP (`shopify_app.demo.player`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Sequence
from datetime import datetime
from itertools import islice

from sqlalchemy.orm import Session
from sqlalchemy.orm import sessionmaker

from shopify_app.analytics.rollups.rebuild import rebuild_rollups
from shopify_app.demo.deliveries import MAX_FAILURES_KEPT
from shopify_app.demo.deliveries import Delivery
from shopify_app.demo.deliveries import DeliverySummary
from shopify_app.demo.generator import DemoEvent
from shopify_app.errors import NotFound
from shopify_app.models import Shop
from shopify_app.store.order_batches import OrderVersion
from shopify_app.store.order_batches import upsert_orders
from shopify_app.store.sync.backfill import BATCH_SIZE
from webhooks.handlers import HANDLERS
from webhooks.order_sets import is_order_topic
from webhooks.processing import parse_payload
from webhooks.registry import DeliveryContext

logger = logging.getLogger(__name__)

ChunkCallback = Callable[[DemoEvent], None]
"""Called with the last event of each chunk once the chunk is committed."""


def import_history(
    session_factory: sessionmaker[Session],
    *,
    shop_id: int,
    events: Iterable[DemoEvent],
    now: datetime,
    chunk_size: int = BATCH_SIZE,
    on_chunk: ChunkCallback | None = None,
) -> DeliverySummary:
    """Store *events* for the shop chunk by chunk, then rebuild its read models once.

    The summary counts the events applied as delivered; an event its handler refuses is failed
    with its reason and the others go on, as its delivery would.
    """
    summary = DeliverySummary()
    numbered = enumerate(events)
    while chunk := list(islice(numbered, chunk_size)):
        with session_factory() as session, session.begin():
            shop = session.get(Shop, shop_id)
            if shop is None:
                raise NotFound(f"shop {shop_id} does not exist")
            failures = _import_chunk(session, shop=shop, chunk=chunk, now=now)
        summary.events += len(chunk)
        summary.delivered += len(chunk) - len(failures)
        summary.failed += len(failures)
        summary.failures = (summary.failures + failures)[:MAX_FAILURES_KEPT]
        if on_chunk is not None:
            on_chunk(chunk[-1][1])
    with session_factory() as session, session.begin():
        rebuild_rollups(session, shop_id=shop_id, now=now)
    return summary


def _import_chunk(
    session: Session, *, shop: Shop, chunk: Sequence[tuple[int, DemoEvent]], now: datetime
) -> list[str]:
    """Apply one chunk's events, orders first; return a description of each that failed."""
    deliveries = {position: Delivery.of_event(position, event) for position, event in chunk}
    failures: list[str] = []
    versions: list[OrderVersion] = []
    others: list[tuple[int, Delivery]] = []
    for position, delivery in deliveries.items():
        if not is_order_topic(delivery.topic):
            others.append((position, delivery))
            continue
        try:
            payload = parse_payload(delivery.body, topic=delivery.topic)
        except Exception as exc:  # noqa: BLE001 - a body its schema refuses fails alone
            failures.append(_failure(delivery, exc))
            continue
        versions.append(OrderVersion(key=position, payload=payload, event_at=delivery.triggered_at))
    result = upsert_orders(session, shop=shop, versions=versions, now=now, update_rollups=False)
    failures += [
        _failure(delivery, result.failures[position])
        for position, delivery in deliveries.items()
        if position in result.failures
    ]
    for position, delivery in others:
        try:
            with session.begin_nested():
                _apply(session, shop=shop, delivery=delivery, position=position, now=now)
        except Exception as exc:  # noqa: BLE001 - an event's failure stays with that event
            failures.append(_failure(delivery, exc))
    return failures


def _apply(
    session: Session, *, shop: Shop, delivery: Delivery, position: int, now: datetime
) -> None:
    """Run the handler the event's webhook would reach; a topic without one is ignored."""
    handler = HANDLERS.get(delivery.topic)
    if handler is None:
        return
    context = DeliveryContext(
        delivery_id=position,
        shop_domain=shop.domain,
        topic=delivery.topic,
        webhook_id=delivery.webhook_id,
        triggered_at=delivery.triggered_at,
        api_version=None,
        now=now,
    )
    handler(session, shop, parse_payload(delivery.body, topic=delivery.topic), context)


def _failure(delivery: Delivery, exc: Exception) -> str:
    logger.warning("Demo history event %s failed: %s", delivery.topic, type(exc).__name__)
    return f"{delivery.topic} {delivery.webhook_id}: {type(exc).__name__}: {exc}"
