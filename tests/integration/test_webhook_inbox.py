"""The inbox worker: one transaction per delivery, backoff, dead letters, replay, and the CLI."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from datetime import timedelta
from typing import Any

import msgspec
import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask.testing import FlaskCliRunner
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy.orm import Session

from shopify_app.db import Database
from shopify_app.models import DeliveryStatus
from shopify_app.models import Shop
from shopify_app.models import WebhookDelivery
from tests.support.shopify import json_body
from tests.support.shopify import webhook_headers
from webhooks import batch
from webhooks import inbox
from webhooks import worker
from webhooks.handlers import HANDLERS
from webhooks.registry import DeliveryContext
from webhooks.schemas import SCHEMAS

SHOP = "alpha.myshopify.com"
TOPIC = "orders/create"
POLICY = inbox.DEFAULT_RETRY_POLICY


class Calls(list[tuple[Shop | None, dict[str, Any], DeliveryContext]]):
    """What a recording handler was called with."""


@pytest.fixture(autouse=True)
def _without_the_real_schema(monkeypatch: pytest.MonkeyPatch) -> None:
    """Test the worker with the handlers and schemas each test registers, not the real ones."""
    monkeypatch.delitem(SCHEMAS, TOPIC, raising=False)


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Calls:
    recorded = Calls()

    def handle(_session: Session, shop: Shop | None, payload: dict[str, Any], ctx: Any) -> None:
        recorded.append((shop, payload, ctx))

    monkeypatch.setitem(HANDLERS, TOPIC, handle)
    return recorded


def load(session: Session, delivery_id: int) -> WebhookDelivery:
    """Read a delivery fresh, then end the read so the (SQLite) write lock is free again."""
    session.expire_all()
    delivery = session.get(WebhookDelivery, delivery_id)
    session.commit()
    assert delivery is not None
    return delivery


def test_pending_delivery_is_handled_with_its_shop_payload_and_context(
    database: Database,
    session: Session,
    store: Callable[..., int],
    calls: Calls,
    make_shop: Callable[..., Shop],
    now: datetime,
) -> None:
    shop = make_shop(SHOP)
    delivery_id = store(json_body({"id": 42, "unknown_field": [1, 2]}))

    report = worker.drain(database, now=now)

    assert report[worker.Outcome.DONE] == 1
    [(handled_shop, payload, context)] = calls
    assert handled_shop is not None
    assert handled_shop.id == shop.id
    assert payload == {"id": 42, "unknown_field": [1, 2]}
    assert (context.delivery_id, context.topic, context.shop_domain, context.now) == (
        delivery_id,
        TOPIC,
        SHOP,
        now,
    )
    delivery = load(session, delivery_id)
    assert delivery.status is DeliveryStatus.DONE
    assert delivery.processed_at == now
    assert delivery.attempts == 1


def test_delivery_for_an_unknown_shop_is_handled_with_no_shop(
    database: Database, store: Callable[..., int], calls: Calls, now: datetime
) -> None:
    store(shop_domain="gone.myshopify.com")

    worker.drain(database, now=now)

    [(shop, _payload, _context)] = calls
    assert shop is None


def test_payload_is_validated_by_the_topic_schema_keeping_unknown_fields(
    database: Database,
    session: Session,
    store: Callable[..., int],
    calls: Calls,
    monkeypatch: pytest.MonkeyPatch,
    now: datetime,
) -> None:
    class OrderSchema(msgspec.Struct):
        id: int

    monkeypatch.setitem(SCHEMAS, TOPIC, OrderSchema)
    good = store(json_body({"id": 7, "extra": "kept"}))
    bad = store(json_body({"name": "#1001"}))

    worker.drain(database, now=now)

    assert [payload for _shop, payload, _ctx in calls] == [{"id": 7, "extra": "kept"}]
    assert load(session, good).status is DeliveryStatus.DONE
    failed = load(session, bad)
    assert (failed.status, failed.attempts) == (DeliveryStatus.DEAD, 1)
    assert failed.last_error is not None
    assert "does not match the orders/create schema" in failed.last_error
    assert "Object missing required field `id`" in failed.last_error


def test_non_json_body_is_dead_lettered_at_once_with_a_readable_error(
    database: Database, session: Session, store: Callable[..., int], calls: Calls, now: datetime
) -> None:
    delivery_id = store(b"this is not json")

    assert worker.drain(database, now=now)[worker.Outcome.DEAD] == 1

    delivery = load(session, delivery_id)
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.DEAD, 1)
    assert delivery.next_attempt_at is None
    assert delivery.last_error is not None
    assert delivery.last_error.startswith("The webhook body is not valid JSON")
    assert worker.drain(database, now=now + timedelta(days=30)).total == 0
    assert calls == []


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "nests deeper than the JSON parser allows"),
        (b'"just a string"', "is a JSON str, expected a JSON object"),
    ],
)
def test_bodies_no_retry_can_cure_are_dead_lettered_at_once_with_their_reason(
    database: Database,
    session: Session,
    store: Callable[..., int],
    calls: Calls,
    now: datetime,
    body: bytes,
    reason: str,
) -> None:
    delivery_id = store(body)

    worker.drain(database, now=now)

    delivery = load(session, delivery_id)
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.DEAD, 1)
    assert delivery.last_error is not None
    assert reason in delivery.last_error
    assert calls == []


def test_a_transient_failure_is_retried_with_backoff_then_dead_lettered_with_its_error(
    database: Database,
    session: Session,
    store: Callable[..., int],
    monkeypatch: pytest.MonkeyPatch,
    now: datetime,
) -> None:
    def locked_out(_s: Session, _shop: Shop | None, _payload: Any, _ctx: Any) -> None:
        raise TimeoutError("lock wait timeout")

    monkeypatch.setitem(HANDLERS, TOPIC, locked_out)
    delivery_id = store()
    clock = now
    delays = []

    for attempt in range(1, POLICY.max_attempts):
        assert worker.drain(database, now=clock)[worker.Outcome.FAILED] == 1
        delivery = load(session, delivery_id)
        assert (delivery.status, delivery.attempts) == (DeliveryStatus.FAILED, attempt)
        assert delivery.next_attempt_at is not None
        delays.append(delivery.next_attempt_at - clock)
        # Nothing is due until the backoff has passed.
        assert (
            worker.drain(database, now=delivery.next_attempt_at - timedelta(seconds=1)).total == 0
        )
        clock = delivery.next_attempt_at

    assert worker.drain(database, now=clock)[worker.Outcome.DEAD] == 1
    delivery = load(session, delivery_id)
    assert delivery.status is DeliveryStatus.DEAD
    assert delivery.attempts == POLICY.max_attempts
    assert delivery.last_error == "TimeoutError: lock wait timeout"
    assert delays == [POLICY.delay_after(n) for n in range(1, POLICY.max_attempts)]
    assert delays == sorted(delays)
    assert delays[1] == 2 * delays[0]
    assert worker.drain(database, now=clock + timedelta(days=30)).total == 0


def test_json_that_is_not_an_object_fails_with_a_readable_error(
    database: Database, session: Session, store: Callable[..., int], calls: Calls, now: datetime
) -> None:
    delivery_id = store(b"[1, 2, 3]")

    worker.drain(database, now=now)

    assert load(session, delivery_id).last_error == (
        "The webhook body is a JSON list, expected a JSON object"
    )


def test_failing_handler_leaves_no_partial_writes_and_records_its_error(
    database: Database,
    session: Session,
    store: Callable[..., int],
    make_shop: Callable[..., Shop],
    monkeypatch: pytest.MonkeyPatch,
    now: datetime,
) -> None:
    make_shop(SHOP, name="Before")

    def rename_then_fail(s: Session, shop: Shop | None, _payload: Any, _ctx: Any) -> None:
        assert shop is not None
        shop.name = "Half-done"
        s.flush()
        raise RuntimeError("the service refused the order")

    monkeypatch.setitem(HANDLERS, TOPIC, rename_then_fail)
    delivery_id = store()

    worker.drain(database, now=now)

    delivery = load(session, delivery_id)
    assert delivery.status is DeliveryStatus.FAILED
    assert delivery.last_error == "RuntimeError: the service refused the order"
    assert session.scalar(select(Shop.name).where(Shop.domain == SHOP)) == "Before"


def test_one_failing_delivery_does_not_stop_the_others(
    database: Database,
    session: Session,
    store: Callable[..., int],
    calls: Calls,
    now: datetime,
) -> None:
    first = store(b"broken")
    second = store()

    report = worker.drain(database, now=now)

    assert (report[worker.Outcome.DEAD], report[worker.Outcome.DONE]) == (1, 1)
    assert load(session, first).status is DeliveryStatus.DEAD
    assert load(session, second).status is DeliveryStatus.DONE


def test_pending_delivery_whose_topic_lost_its_handler_is_ignored(
    database: Database, session: Session, store: Callable[..., int], now: datetime
) -> None:
    delivery_id = store(topic="products/update")

    report = worker.drain(database, now=now)

    assert report[worker.Outcome.IGNORED] == 1
    assert load(session, delivery_id).status is DeliveryStatus.IGNORED


def test_delivery_abandoned_by_a_crashed_worker_is_taken_again_after_its_lease(
    database: Database, session: Session, store: Callable[..., int], calls: Calls, now: datetime
) -> None:
    delivery_id = store()
    with database.session_scope() as claim_session:
        [claim] = inbox.claim_due(claim_session, now=now, limit=10)
    # The worker that made the claim dies here, before processing.

    assert worker.drain(database, now=now + inbox.CLAIM_LEASE - timedelta(seconds=1)).total == 0
    assert worker.drain(database, now=now + inbox.CLAIM_LEASE)[worker.Outcome.DONE] == 1
    delivery = load(session, delivery_id)
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.DONE, claim.attempt + 1)


def test_a_claim_taken_over_after_its_lease_is_not_processed_twice(
    database: Database, store: Callable[..., int], calls: Calls, now: datetime
) -> None:
    store()
    with database.session_scope() as s:
        [stale] = inbox.claim_due(s, now=now, limit=10)
    later = now + inbox.CLAIM_LEASE
    with database.session_scope() as s:
        [fresh] = inbox.claim_due(s, now=later, limit=10)

    assert batch.process_claim(database, claim=fresh, now=later) is worker.Outcome.DONE
    assert batch.process_claim(database, claim=stale, now=later) is worker.Outcome.SKIPPED
    assert len(calls) == 1


def test_replay_requeues_a_dead_delivery_with_fresh_attempts(
    database: Database, session: Session, store: Callable[..., int], now: datetime
) -> None:
    delivery_id = store()
    with database.session_scope() as s:
        delivery = s.get_one(WebhookDelivery, delivery_id)
        delivery.status = DeliveryStatus.DEAD
        delivery.attempts = POLICY.max_attempts
        delivery.last_error = "ValueError: boom"

    with database.session_scope() as s:
        inbox.replay(s, delivery_id=delivery_id)

    delivery = load(session, delivery_id)
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.PENDING, 0)


def test_replay_refuses_a_delivery_that_is_still_queued(
    database: Database, store: Callable[..., int]
) -> None:
    delivery_id = store()

    with pytest.raises(inbox.DeliveryAlreadyQueued), database.session_scope() as s:
        inbox.replay(s, delivery_id=delivery_id)


def test_two_concurrent_claimers_never_take_the_same_row(
    database: Database, store: Callable[..., int], now: datetime
) -> None:
    if database.is_sqlite:
        pytest.skip("SQLite serialises writers; SKIP LOCKED is a PostgreSQL feature")
    ids = {store() for _ in range(6)}
    first_claimed = threading.Event()
    second_done = threading.Event()
    claims: dict[str, list[inbox.Claim]] = {}
    errors: list[BaseException] = []

    def claimer(name: str, *, wait_for: threading.Event | None, then: threading.Event) -> None:
        try:
            if wait_for is not None:
                wait_for.wait(10)
            with database.session_scope() as s:
                # Fail instead of hanging if the rows the other claimer holds block this one.
                s.execute(text("SET LOCAL lock_timeout = '5s'"))
                claims[name] = inbox.claim_due(s, now=now, limit=3)
                then.set()
                if wait_for is None:
                    second_done.wait(10)  # keep the rows locked while the other one claims
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)
            then.set()

    threads = [
        threading.Thread(
            target=claimer, args=("a",), kwargs={"wait_for": None, "then": first_claimed}
        ),
        threading.Thread(
            target=claimer, args=("b",), kwargs={"wait_for": first_claimed, "then": second_done}
        ),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert errors == []
    taken_a = {c.delivery_id for c in claims["a"]}
    taken_b = {c.delivery_id for c in claims["b"]}
    assert len(taken_a) == len(taken_b) == 3
    assert taken_a.isdisjoint(taken_b)
    assert taken_a | taken_b == ids


def test_drain_command_processes_everything_due_and_reports_counts(
    runner: FlaskCliRunner, store: Callable[..., int], calls: Calls
) -> None:
    store()
    store()
    store(b"not json")

    result = runner.invoke(args=["webhooks", "drain"])

    assert result.exit_code == 0, result.output
    assert "Processed 3 webhook deliveries: 2 done, 0 failed (will be retried), 1 dead" in (
        result.output
    )
    assert len(calls) == 2


def test_failed_command_lists_dead_letters_and_replay_requeues_them(
    runner: FlaskCliRunner,
    database: Database,
    session: Session,
    store: Callable[..., int],
    monkeypatch: pytest.MonkeyPatch,
    now: datetime,
) -> None:
    is_fixed = False

    def flaky(_s: Session, _shop: Shop | None, _payload: Any, _ctx: Any) -> None:
        if not is_fixed:
            raise LookupError("variant 9 is unknown")

    monkeypatch.setitem(HANDLERS, TOPIC, flaky)
    first = store()
    second = store()
    clock = now
    for _ in range(POLICY.max_attempts):
        worker.drain(database, now=clock)
        clock += POLICY.max_delay

    listing = runner.invoke(args=["webhooks", "failed"])

    assert listing.exit_code == 0, listing.output
    lines = listing.output.splitlines()
    assert lines[0].split() == ["ID", "SHOP", "TOPIC", "ATTEMPTS", "LAST", "ERROR"]
    assert lines[1].split()[:4] == [str(first), SHOP, TOPIC, str(POLICY.max_attempts)]
    assert "LookupError: variant 9 is unknown" in lines[1]
    assert lines[2].split()[0] == str(second)

    is_fixed = True
    one = runner.invoke(args=["webhooks", "replay", str(first)])
    assert one.exit_code == 0, one.output
    assert load(session, first).status is DeliveryStatus.PENDING
    assert load(session, second).status is DeliveryStatus.DEAD

    rest = runner.invoke(args=["webhooks", "replay", "--all-failed"])
    assert rest.exit_code == 0, rest.output
    assert "Re-queued 1 dead-lettered" in rest.output

    drained = runner.invoke(args=["webhooks", "drain"])
    assert "2 done" in drained.output
    assert runner.invoke(args=["webhooks", "failed"]).output.strip() == (
        "No dead-lettered webhook deliveries."
    )


def test_replay_command_explains_an_unknown_id_and_a_missing_argument(
    runner: FlaskCliRunner,
) -> None:
    unknown = runner.invoke(args=["webhooks", "replay", "999"])
    neither = runner.invoke(args=["webhooks", "replay"])
    both = runner.invoke(args=["webhooks", "replay", "1", "--all-failed"])

    assert unknown.exit_code == 1
    assert "No webhook delivery with id 999" in unknown.output
    assert neither.exit_code == both.exit_code == 2


def test_background_worker_drains_new_deliveries_and_stops_cleanly(
    database: Database, store: Callable[..., int], monkeypatch: pytest.MonkeyPatch
) -> None:
    handled = threading.Event()
    monkeypatch.setitem(HANDLERS, TOPIC, lambda *_args: handled.set())
    background = worker.BackgroundWorker(database, poll_interval=0.05)
    background.start()
    try:
        store()
        background.wake()
        assert handled.wait(10)
    finally:
        background.stop()

    assert not background.is_running


def test_app_never_starts_a_background_worker_when_it_is_switched_off(
    app: Flask, client: FlaskClient
) -> None:
    client.get("/webhooks")

    assert "webhook_worker" not in app.extensions


@pytest.mark.parametrize("settings_overrides", [{"BACKGROUND_WORKER": True}])
def test_app_starts_its_background_worker_on_the_first_request(
    app: Flask, client: FlaskClient, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    handled = threading.Event()
    monkeypatch.setitem(HANDLERS, TOPIC, lambda *_args: handled.set())
    body = json_body({"id": 5})
    try:
        response = client.post(
            "/webhooks", data=body, headers=webhook_headers(TOPIC, body, shop_domain=SHOP)
        )
        assert response.status_code == 200
        assert handled.wait(10)
    finally:
        app.extensions["webhook_worker"].stop()
