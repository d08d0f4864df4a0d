"""Noting orders and refunds a batch at a time gives the rows a rebuild gives, at a fixed cost."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from sqlalchemy import event
from sqlalchemy import select
from sqlalchemy.orm import Session

from bench.processing import order_bodies
from shopify_app.analytics.rollups.incremental import note_orders_changed
from shopify_app.analytics.rollups.incremental import note_refunds_recorded
from shopify_app.db import Database
from shopify_app.models import Order
from shopify_app.models import Shop
from shopify_app.store.order_batches import OrderVersion
from shopify_app.store.order_batches import upsert_orders
from shopify_app.store.refunds import read_refund
from shopify_app.store.refunds import store_refund
from tests.support.rollups import incremental_and_rebuilt

START = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
NOW = datetime(2026, 6, 1, tzinfo=UTC)
# A statement budget for noting a batch, whatever its size: it is a fixed number of steps.
STATEMENT_BUDGET = 30
# (Shopify customer id, email): customers, one guest under two spellings, and nobody at all.
BUYERS = [(101, None), (102, None), (103, None), (None, "guest@example.com"), (None, " GUEST@x.io")]
BUYERS.append((None, None))


@dataclass(frozen=True)
class OrderChange:
    """Store a new version of order *number*: created the first time, updated afterwards."""

    number: int
    day: int
    hour: int
    amount: str
    buyer: tuple[int | None, str | None]
    currency: str
    cancelled: bool
    test: bool
    products: frozenset[int]


@dataclass(frozen=True)
class RefundChange:
    """Record a refund of order *number*, if it is stored, on a day of its own."""

    number: int
    day: int
    amount: str


@dataclass(frozen=True)
class Deletion:
    """Delete order *number*, if it is stored, with its lines and refunds."""

    number: int


Change = OrderChange | RefundChange | Deletion
numbers = st.integers(0, 5)
order_changes = st.builds(
    OrderChange,
    number=numbers,
    day=st.integers(0, 40),
    hour=st.sampled_from([0, 5, 23]),
    amount=st.sampled_from(["0.00", "10.00", "19.99"]),
    buyer=st.sampled_from(BUYERS),
    currency=st.sampled_from(["USD", "USD", "CAD"]),
    cancelled=st.sampled_from([False, False, False, True]),
    test=st.sampled_from([False, False, False, True]),
    products=st.frozensets(st.integers(1, 3), max_size=2),
)
refund_changes = st.builds(
    RefundChange, number=numbers, day=st.integers(0, 60), amount=st.sampled_from(["0.00", "5.00"])
)
changes: st.SearchStrategy[Change] = st.one_of(
    order_changes, order_changes, order_changes, refund_changes, st.builds(Deletion, number=numbers)
)
batches = st.lists(st.lists(changes, min_size=1, max_size=8), min_size=1, max_size=6)


def order_payload(change: OrderChange, *, version: int) -> dict[str, Any]:
    """Return the REST shape of the order, newer than every version before it."""
    at = START + timedelta(days=change.day, hours=change.hour)
    customer_id, email = change.buyer
    shopify_id = 7000 + change.number
    return {
        "id": shopify_id,
        "name": f"#{change.number}",
        "updated_at": (START + timedelta(seconds=version)).isoformat(),
        "created_at": at.isoformat(),
        "processed_at": at.isoformat(),
        "email": email,
        "customer": {"id": customer_id, "email": f"c{customer_id}@x.io"} if customer_id else None,
        "total_price_set": {
            "shop_money": {"amount": change.amount, "currency_code": change.currency}
        },
        "test": change.test,
        "cancelled_at": at.isoformat() if change.cancelled else None,
        "line_items": [
            {"id": shopify_id * 10 + p, "product_id": p, "title": f"P{p}", "quantity": 1}
            for p in sorted(change.products)
        ],
    }


def counting(payload: dict[str, Any], *, hour: int) -> dict[str, Any]:
    """Return the benchmark's sample order as one that counts (it is a cancelled test order)."""
    at = (START + timedelta(hours=hour)).isoformat()
    return {**payload, "test": False, "cancelled_at": None, "processed_at": at}


def stored_order(session: Session, shop: Shop, number: int) -> Order | None:
    return session.scalar(
        select(Order).where(Order.shop_id == shop.id, Order.shopify_id == 7000 + number)
    )


def apply_batch(session: Session, shop: Shop, batch: list[Change], counter: Iterator[int]) -> None:
    """Store the batch's orders, refunds and deletions, then note them all with one call each."""
    versions = [
        OrderVersion(key=i, payload=order_payload(c, version=next(counter)), event_at=None)
        for i, c in enumerate(batch)
        if isinstance(c, OrderChange)
    ]
    stored = upsert_orders(session, shop=shop, versions=versions, now=NOW, update_rollups=False)
    order_ids = set(stored.order_ids.values())
    refund_ids = []
    for change in batch:
        order = stored_order(session, shop, change.number)
        if order is None:
            continue
        if isinstance(change, RefundChange):
            at = START + timedelta(days=change.day, hours=3)
            payload = {
                "id": next(counter),
                "processed_at": at.isoformat(),
                "transactions": [{"kind": "refund", "status": "success", "amount": change.amount}],
            }
            version = read_refund(payload)
            refund_ids.append(store_refund(session, shop=shop, order=order, version=version).id)
        elif isinstance(change, Deletion):
            order_ids.add(order.id)
            session.delete(order)
            session.flush()
    note_orders_changed(session, shop_id=shop.id, order_ids=order_ids)
    note_refunds_recorded(session, shop_id=shop.id, refund_ids=refund_ids)


def test_batches_of_order_and_refund_changes_leave_the_rows_a_rebuild_writes(
    session: Session, make_shop: Callable[..., Shop]
) -> None:
    shops = itertools.count()

    @settings(
        max_examples=30,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(stream=batches)
    def check(stream: list[list[Change]]) -> None:
        session.rollback()  # what a failed example left, which would hold SQLite's write lock
        domain = f"batches-{next(shops)}.myshopify.com"
        shop = session.get(Shop, make_shop(domain, iana_timezone="America/New_York").id)
        assert shop is not None
        counter = itertools.count(1)
        for batch in stream:
            apply_batch(session, shop, batch, counter)
        incremental, rebuilt = incremental_and_rebuilt(session, shop.id)
        assert incremental == rebuilt

    check()


def test_a_day_with_only_refunds_or_a_zero_refund_is_kept_alike(
    session: Session, make_shop: Callable[..., Shop]
) -> None:
    shop = session.get(Shop, make_shop("alpha.myshopify.com").id)
    assert shop is not None
    counter = itertools.count(1)
    change = OrderChange(0, 0, 5, "10.00", (101, None), "USD", False, False, frozenset({1}))
    apply_batch(session, shop, [change], counter)
    apply_batch(session, shop, [RefundChange(0, 9, "5.00"), RefundChange(0, 20, "0.00")], counter)

    incremental, rebuilt = incremental_and_rebuilt(session, shop.id)

    days = [row[1].day for row in incremental["rollup_days"]]
    assert days == [5, 14], "the order's day and the day refunded 5.00; not the 0.00 refund's"
    assert incremental == rebuilt


def test_noting_fifty_orders_of_fifty_customers_takes_a_fixed_number_of_statements(
    session: Session, make_shop: Callable[..., Shop], database: Database
) -> None:
    shop = session.get(Shop, make_shop("alpha.myshopify.com").id)
    assert shop is not None
    payloads = [counting(json.loads(body), hour=i) for i, body in enumerate(order_bodies(50))]
    versions = [OrderVersion(key=i, payload=p, event_at=None) for i, p in enumerate(payloads)]
    stored = upsert_orders(session, shop=shop, versions=versions, now=NOW, update_rollups=False)
    order_ids = set(stored.order_ids.values())
    session.commit()
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    event.listen(database.engine, "before_cursor_execute", count)
    try:
        note_orders_changed(session, shop_id=shop.id, order_ids=order_ids)
        created = len(statements)
        session.commit()
        for order in session.scalars(select(Order).where(Order.id.in_(order_ids))):
            order.processed_at += timedelta(days=3)
        session.flush()
        statements.clear()
        note_orders_changed(session, shop_id=shop.id, order_ids=order_ids)
        moved = len(statements)
    finally:
        event.remove(database.engine, "before_cursor_execute", count)

    assert len(order_ids) == 50
    assert created <= STATEMENT_BUDGET, statements
    assert moved <= STATEMENT_BUDGET, statements
    incremental, rebuilt = incremental_and_rebuilt(session, shop.id)
    assert len(incremental["rollup_customers"]) == 50
    assert incremental == rebuilt
