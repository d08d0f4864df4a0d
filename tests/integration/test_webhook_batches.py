"""Batches of deliveries: one transaction each; one delivery's fate never touches another's."""

from __future__ import annotations

import json
from collections.abc import Callable
from collections.abc import Iterator
from datetime import datetime
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.orm import Session

from bench.processing import order_bodies
from shopify_app.db import Database
from shopify_app.models import DeliveryStatus
from shopify_app.models import Order
from shopify_app.models import OrderLine
from shopify_app.models import RollupDay
from shopify_app.models import RollupOrder
from shopify_app.models import Shop
from shopify_app.models import WebhookDelivery
from tests.support.inbox_runs import drain_in_batches
from tests.support.inbox_runs import status_counts
from webhooks import batch
from webhooks import inbox
from webhooks import order_sets
from webhooks import worker

SHOP = "alpha.myshopify.com"


def without_total_price(body: bytes) -> bytes:
    """Return *body* with its order total removed: a payload no retry can make storable."""
    payload = json.loads(body)
    payload.update(total_price_set=None, total_price=None)
    return json.dumps(payload).encode()


@pytest.fixture
def commits(database: Database) -> Iterator[list[int]]:
    """Count the outermost transactions committed while the test runs (savepoints are not)."""
    counted: list[int] = []

    def count(session: Session) -> None:
        if not session.in_nested_transaction():
            counted.append(1)

    event.listen(Session, "after_commit", count)
    yield counted
    event.remove(Session, "after_commit", count)


def claim_all(database: Database, now: datetime) -> list[inbox.Claim]:
    with database.session_scope() as session:
        return inbox.claim_due(session, now=now, limit=1000)


def test_one_poisoned_delivery_in_a_batch_of_50_leaves_49_done_and_one_dead_with_its_reason(
    database: Database,
    session: Session,
    store: Callable[..., int],
    make_shop: Callable[..., Shop],
    now: datetime,
) -> None:
    make_shop(SHOP)
    bodies = order_bodies(50)
    ids = [store(body) for body in bodies]
    poisoned = ids[17]
    with database.session_scope() as write:
        delivery = write.get(WebhookDelivery, poisoned)
        assert delivery is not None
        delivery.payload = without_total_price(bodies[17])

    claims = claim_all(database, now)
    outcomes = batch.process_batch(database, claims=claims, now=now, budget=timedelta(hours=1))

    assert len(claims) == 50
    assert (
        outcomes == [worker.Outcome.DONE] * 17 + [worker.Outcome.DEAD] + [worker.Outcome.DONE] * 32
    )
    assert status_counts(session) == {DeliveryStatus.DONE: 49, DeliveryStatus.DEAD: 1}
    dead = session.get(WebhookDelivery, poisoned)
    assert dead is not None
    assert dead.attempts == 1
    assert dead.last_error == (
        "The webhook payload does not match the orders/create schema: "
        "an order needs total_price or total_price_set"
    )
    assert session.scalar(select(func.count()).select_from(Order)) == 49


OUT_OF_RANGE_ID = 2**63
"""An order id the schema takes (any integer) and no 64-bit column can hold."""

REFUSAL = {
    "sqlite": "OverflowError: Python int too large to convert to SQLite INTEGER",
    "postgresql": "NumericValueOutOfRange: bigint out of range",
}
"""How each backend refuses the out-of-range id: the error the poisoned delivery keeps."""


def counting_orders(count: int) -> list[bytes]:
    """Return *count* orders of their own that count for the KPIs (not test, not cancelled)."""
    bodies = []
    for body in order_bodies(count):
        payload = json.loads(body)
        payload.update(test=False, cancelled_at=None, cancel_reason=None)
        bodies.append(json.dumps(payload).encode())
    return bodies


def test_an_order_only_the_database_refuses_is_bisected_out_of_its_set_of_50_and_dies_alone(
    database: Database,
    database_backend: str,
    session: Session,
    store: Callable[..., int],
    make_shop: Callable[..., Shop],
    monkeypatch: pytest.MonkeyPatch,
    now: datetime,
) -> None:
    make_shop(SHOP)
    bodies = counting_orders(50)
    poisoned_payload = json.loads(bodies[17])
    poisoned_payload["id"] = OUT_OF_RANGE_ID
    bodies[17] = json.dumps(poisoned_payload).encode()
    ids = [store(body) for body in bodies]
    set_sizes: list[int] = []
    upsert_orders = order_sets.upsert_orders

    def counted_upsert(session: Session, **arguments: Any) -> Any:
        set_sizes.append(len(arguments["versions"]))
        return upsert_orders(session, **arguments)

    monkeypatch.setattr(order_sets, "upsert_orders", counted_upsert)

    outcomes = batch.process_batch(
        database, claims=claim_all(database, now), now=now, budget=timedelta(hours=1)
    )

    # The whole set was written first; its failure was bisected down to the poisoned order.
    assert set_sizes[0] == 50
    assert set_sizes.count(1) >= 1
    assert (
        outcomes
        == [worker.Outcome.DONE] * 17 + [worker.Outcome.FAILED] + [worker.Outcome.DONE] * 32
    )
    poisoned = session.get(WebhookDelivery, ids[17])
    assert poisoned is not None
    assert (poisoned.attempts, poisoned.last_error) == (1, REFUSAL[database_backend])
    session.commit()

    # A retry cannot cure it: after the last attempt it is dead, and it never touched the others.
    drain_in_batches(database, sizes=[50], now=now)

    assert status_counts(session) == {DeliveryStatus.DONE: 49, DeliveryStatus.DEAD: 1}
    session.refresh(poisoned)
    assert (poisoned.attempts, poisoned.last_error) == (6, REFUSAL[database_backend])
    others = session.scalars(select(WebhookDelivery).where(WebhookDelivery.id != ids[17])).all()
    assert {(d.attempts, d.last_error) for d in others} == {(1, None)}
    stored = session.scalars(select(Order.shopify_id)).all()
    expected = {json.loads(body)["id"] for body in bodies} - {OUT_OF_RANGE_ID}
    assert (len(stored), set(stored)) == (49, expected)
    lines = len(json.loads(bodies[0])["line_items"])
    assert session.scalar(select(func.count()).select_from(OrderLine)) == 49 * lines
    assert session.scalar(select(func.count()).select_from(RollupOrder)) == 49
    assert session.scalar(select(func.sum(RollupDay.orders))) == 49


def customer_bodies(count: int) -> list[bytes]:
    """Return *count* customers/update bodies, each of its own customer."""
    return [
        json.dumps({"id": 9_100_000_000_000 + number, "email": f"c{number}@example.com"}).encode()
        for number in range(1, count + 1)
    ]


def test_a_batch_shares_one_transaction_and_a_spent_budget_commits_early(
    database: Database,
    store: Callable[..., int],
    make_shop: Callable[..., Shop],
    commits: list[int],
    now: datetime,
) -> None:
    make_shop(SHOP)
    for body in customer_bodies(10):
        store(body, topic="customers/update")
    claims = claim_all(database, now)
    commits.clear()

    outcomes = batch.process_batch(
        database, claims=claims[:5], now=now, budget=timedelta(minutes=1)
    )
    assert (outcomes, len(commits)) == ([worker.Outcome.DONE] * 5, 1)

    commits.clear()
    outcomes = batch.process_batch(database, claims=claims[5:], now=now, budget=timedelta(0))
    assert (outcomes, len(commits)) == ([worker.Outcome.DONE] * 5, 5)


def test_the_order_deliveries_of_a_batch_are_stored_as_one_set_in_one_transaction(
    database: Database,
    session: Session,
    store: Callable[..., int],
    make_shop: Callable[..., Shop],
    commits: list[int],
    now: datetime,
) -> None:
    make_shop(SHOP)
    for body in order_bodies(10):
        store(body)
    claims = claim_all(database, now)
    commits.clear()

    outcomes = batch.process_batch(database, claims=claims, now=now, budget=timedelta(0))

    assert (outcomes, len(commits)) == ([worker.Outcome.DONE] * 10, 1)
    assert session.scalar(select(func.count()).select_from(Order)) == 10


def test_drain_sizes_its_claims_by_the_time_budget(
    database: Database,
    store: Callable[..., int],
    make_shop: Callable[..., Shop],
    commits: list[int],
    now: datetime,
) -> None:
    make_shop(SHOP)
    for body in customer_bodies(12):
        store(body, topic="customers/update")
    commits.clear()

    report = worker.drain(database, now=now, batch_size=50, budget=timedelta(0))

    assert report[worker.Outcome.DONE] == 12
    # A spent budget commits the deliveries that are not orders one by one.
    assert len(commits) >= 12


@pytest.mark.parametrize(
    ("taken", "seconds", "expected"),
    [
        (20, 0.100, 10),  # took twice the budget: half as many next time
        (20, 0.040, 25),  # a little under: a few more
        (20, 0.001, 40),  # far under: at most double
        (20, 9.000, 10),  # far over: at most half
        (150, 0.010, 200),  # never more than the most a claim takes
        (1, 9.000, 1),  # never fewer than one
        (20, 0.000, 200),  # no time measured: the most
    ],
)
def test_the_next_claim_is_sized_to_the_budget_moving_at_most_by_half_or_double(
    taken: int, seconds: float, expected: int
) -> None:
    assert worker.next_claim_size(taken, seconds=seconds, budget=0.05, most=200) == expected


def test_a_batch_that_cannot_commit_is_processed_again_one_delivery_per_transaction(
    database: Database,
    session: Session,
    store: Callable[..., int],
    make_shop: Callable[..., Shop],
    now: datetime,
) -> None:
    make_shop(SHOP)
    for body in order_bodies(5):
        store(body)
    claims = claim_all(database, now)
    refused: list[int] = []

    def refuse_the_first_commit(session: Session) -> None:
        if not refused and not session.in_nested_transaction():
            refused.append(1)
            raise RuntimeError("the commit was refused")

    event.listen(Session, "before_commit", refuse_the_first_commit)
    try:
        outcomes = batch.process_batch(database, claims=claims, now=now)
    finally:
        event.remove(Session, "before_commit", refuse_the_first_commit)

    assert refused == [1]
    assert outcomes == [worker.Outcome.DONE] * 5
    assert status_counts(session) == {DeliveryStatus.DONE: 5}
    assert session.scalar(select(func.count()).select_from(Order)) == 5


def test_a_claim_taken_over_by_another_worker_is_skipped_inside_a_batch(
    database: Database,
    store: Callable[..., int],
    make_shop: Callable[..., Shop],
    now: datetime,
) -> None:
    make_shop(SHOP)
    for body in order_bodies(2):
        store(body)
    first, second = claim_all(database, now)
    stale = inbox.Claim(delivery_id=second.delivery_id, attempt=second.attempt - 1)

    outcomes = batch.process_batch(database, claims=[first, stale], now=now)

    assert outcomes == [worker.Outcome.DONE, worker.Outcome.SKIPPED]
