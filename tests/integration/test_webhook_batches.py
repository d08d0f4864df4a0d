"""Batches of deliveries: one transaction each; one delivery's fate never touches another's."""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Callable
from collections.abc import Iterator
from datetime import datetime
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.orm import Session

from shopify_app.db import Database
from shopify_app.models import DeliveryStatus
from shopify_app.models import Order
from shopify_app.models import Shop
from shopify_app.models import WebhookDelivery
from webhooks import batch
from webhooks import inbox
from webhooks import worker
from webhooks.verification import WebhookEnvelope

SHOP = "alpha.myshopify.com"
FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "orders__create.json"


def order_body(number: int, **changes: Any) -> bytes:
    """Return a sample orders/create body with its own order, customer and line ids."""
    payload = copy.deepcopy(json.loads(FIXTURE.read_text()))
    order_id = 8_000_000_000_000 + number
    payload.update(id=order_id, name=f"#{number}", email=f"buyer{number}@example.com")
    if payload.get("customer"):
        payload["customer"].update(id=9_000_000_000_000 + number, email=payload["email"])
    for index, line in enumerate(payload.get("line_items", [])):
        line["id"] = order_id * 10 + index
    payload.update(changes)
    return json.dumps(payload).encode()


@pytest.fixture
def store(database: Database, now: datetime) -> Callable[[bytes], int]:
    def record(body: bytes) -> int:
        envelope = WebhookEnvelope(
            topic="orders/create",
            shop_domain=SHOP,
            webhook_id=str(uuid.uuid4()),
            api_version="2026-07",
            event_id=None,
            triggered_at=now - timedelta(seconds=5),
            body=body,
        )
        with database.session_scope() as session:
            delivery_id = inbox.record_delivery(
                session, envelope=envelope, now=now, handled_topics={"orders/create"}
            )
        assert delivery_id is not None
        return delivery_id

    return record


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


def statuses(session: Session) -> dict[DeliveryStatus, int]:
    session.expire_all()
    rows = session.execute(
        select(WebhookDelivery.status, func.count()).group_by(WebhookDelivery.status)
    ).all()
    session.commit()
    return {status: count for status, count in rows}


def claim_all(database: Database, now: datetime) -> list[inbox.Claim]:
    with database.session_scope() as session:
        return inbox.claim_due(session, now=now, limit=1000)


def test_one_poisoned_delivery_in_a_batch_of_50_leaves_49_done_and_one_dead_with_its_reason(
    database: Database,
    session: Session,
    store: Callable[[bytes], int],
    make_shop: Callable[..., Shop],
    now: datetime,
) -> None:
    make_shop(SHOP)
    ids = [store(order_body(n)) for n in range(1, 51)]
    poisoned = ids[17]
    with database.session_scope() as write:
        delivery = write.get(WebhookDelivery, poisoned)
        assert delivery is not None
        delivery.payload = order_body(18, total_price_set=None, total_price=None)

    report = worker.drain(database, now=now, batch_size=50)

    assert (report[worker.Outcome.DONE], report[worker.Outcome.DEAD]) == (49, 1)
    assert statuses(session) == {DeliveryStatus.DONE: 49, DeliveryStatus.DEAD: 1}
    dead = session.get(WebhookDelivery, poisoned)
    assert dead is not None
    assert dead.attempts == 1
    assert dead.last_error == (
        "The webhook payload does not match the orders/create schema: "
        "{'total_price': ['an order needs total_price or total_price_set']}"
    )
    assert session.scalar(select(func.count()).select_from(Order)) == 49


def test_a_batch_shares_one_transaction_and_a_spent_budget_commits_early(
    database: Database,
    store: Callable[[bytes], int],
    make_shop: Callable[..., Shop],
    commits: list[int],
    now: datetime,
) -> None:
    make_shop(SHOP)
    for n in range(1, 11):
        store(order_body(n))
    claims = claim_all(database, now)
    commits.clear()

    outcomes = batch.process_batch(
        database, claims=claims[:5], now=now, budget=timedelta(minutes=1)
    )
    assert (outcomes, len(commits)) == ([worker.Outcome.DONE] * 5, 1)

    commits.clear()
    outcomes = batch.process_batch(database, claims=claims[5:], now=now, budget=timedelta(0))
    assert (outcomes, len(commits)) == ([worker.Outcome.DONE] * 5, 5)


def test_a_batch_that_cannot_commit_is_processed_again_one_delivery_per_transaction(
    database: Database,
    session: Session,
    store: Callable[[bytes], int],
    make_shop: Callable[..., Shop],
    now: datetime,
) -> None:
    make_shop(SHOP)
    for n in range(1, 6):
        store(order_body(n))
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
    assert statuses(session) == {DeliveryStatus.DONE: 5}
    assert session.scalar(select(func.count()).select_from(Order)) == 5


def test_a_claim_taken_over_by_another_worker_is_skipped_inside_a_batch(
    database: Database,
    store: Callable[[bytes], int],
    make_shop: Callable[..., Shop],
    now: datetime,
) -> None:
    make_shop(SHOP)
    store(order_body(1))
    store(order_body(2))
    first, second = claim_all(database, now)
    stale = inbox.Claim(delivery_id=second.delivery_id, attempt=second.attempt - 1)

    outcomes = batch.process_batch(database, claims=[first, stale], now=now)

    assert outcomes == [worker.Outcome.DONE, worker.Outcome.SKIPPED]
