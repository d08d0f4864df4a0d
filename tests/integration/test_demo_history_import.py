"""The demo history is imported as a backfill is: in chunks, one rebuild, as webhooks would end."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.orm import Session

from shopify_app.analytics.rollups.incremental import note_order_changed
from shopify_app.analytics.rollups.rebuild import rebuild_rollups
from shopify_app.analytics.rollups.tables import ROLLUP_MODELS
from shopify_app.db import Database
from shopify_app.demo import DEMO_SHOP_DOMAIN
from shopify_app.demo import history_import
from shopify_app.demo.deliveries import Delivery
from shopify_app.demo.generator import DemoEvent
from shopify_app.demo.generator import ShopSimulation
from shopify_app.demo.generator import history
from shopify_app.models import Order
from shopify_app.models import Refund
from shopify_app.models import Shop
from tests.support.rollups import rollup_rows
from webhooks.handlers import HANDLERS
from webhooks.processing import parse_payload
from webhooks.registry import DeliveryContext

NOW = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)
# The aggregates keyed by days, weeks and Shopify's product ids: comparable between two shops.
SHOP_LEVEL_TABLES = (
    "rollup_days",
    "rollup_weeks",
    "rollup_products",
    "rollup_product_gaps",
    "rollup_active_days",
)


def _events() -> list[DemoEvent]:
    return list(history(ShopSimulation(seed=5, customers=12, now=NOW, history_days=120)))


def _deliver_one_by_one(session: Session, shop: Shop, events: list[DemoEvent]) -> None:
    """Apply every event through its webhook handler, in stream order, as lone deliveries are."""
    for position, event in enumerate(events):
        delivery = Delivery.of_event(position, event)
        context = DeliveryContext(
            delivery_id=position,
            shop_domain=shop.domain,
            topic=delivery.topic,
            webhook_id=delivery.webhook_id,
            triggered_at=delivery.triggered_at,
            api_version=None,
            now=NOW,
        )
        payload = parse_payload(delivery.body, topic=delivery.topic)
        HANDLERS[delivery.topic](session, shop, payload, context)
    session.commit()


def _shop_level(session: Session, shop_id: int) -> dict[str, list[tuple[Any, ...]]]:
    """Return the shop-level aggregates without their shop id column."""
    rows = rollup_rows(session, shop_id)
    return {name: sorted(row[1:] for row in rows[name]) for name in SHOP_LEVEL_TABLES}


def test_history_is_imported_in_chunks_with_one_rebuild_and_ends_as_webhooks_would(
    session: Session,
    database: Database,
    make_shop: Callable[..., Shop],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    demo = make_shop(DEMO_SHOP_DOMAIN)
    other = make_shop("other.myshopify.com", access_token="shpat_other")
    events = _events()
    rebuilds: list[int] = []
    chunks: list[DemoEvent] = []

    def counted_rebuild(*args: Any, **kwargs: Any) -> int:
        rebuilds.append(kwargs["shop_id"])
        return rebuild_rollups(*args, **kwargs)

    monkeypatch.setattr(history_import, "rebuild_rollups", counted_rebuild)
    summary = history_import.import_history(
        database.session_factory,
        shop_id=demo.id,
        events=events,
        now=NOW,
        chunk_size=40,
        on_chunk=chunks.append,
    )
    stored_other = session.get(Shop, other.id)
    assert stored_other is not None
    _deliver_one_by_one(session, stored_other, events)

    assert (summary.events, summary.delivered, summary.failed) == (len(events), len(events), 0)
    assert len(chunks) == -(-len(events) // 40)
    assert chunks[-1] == events[-1]
    assert rebuilds == [demo.id]
    for model in (Order, Refund):
        counts = [
            session.scalar(select(func.count()).select_from(model).where(model.shop_id == s.id))
            for s in (demo, other)
        ]
        assert counts[0] == counts[1] > 0
    imported = _shop_level(session, demo.id)
    assert imported["rollup_days"]
    assert imported == _shop_level(session, other.id)
    kept = rollup_rows(session, demo.id)
    for model in ROLLUP_MODELS:
        session.execute(delete(model).where(model.shop_id == demo.id))
    for order_id in session.scalars(select(Order.id).where(Order.shop_id == demo.id)).all():
        note_order_changed(session, shop_id=demo.id, order_id=order_id)
    session.flush()
    assert rollup_rows(session, demo.id) == kept
