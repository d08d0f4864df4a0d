"""Queue-backed processing: enqueue a drain of the shop after the durable insert, coalesced;
process once; sweep lost work."""

from __future__ import annotations

import json
from collections.abc import Callable
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import update

from jobs import tasks
from jobs.registry import load_jobs
from shopify_app.db import Database
from shopify_app.db import get_database
from shopify_app.models import DeliveryStatus
from shopify_app.models import Order
from shopify_app.models import Shop
from shopify_app.models import WebhookDelivery
from shopify_app.models import utcnow
from shopify_app.settings import SettingsError
from shopify_app.settings import load_settings
from tests.support.mail import free_port
from tests.support.orders import unique_order
from tests.support.redis_server import emptied_redis
from tests.support.settings import TEST_SETTINGS
from tests.support.shopify import json_body
from tests.support.shopify import webhook_headers
from webhooks import inbox
from webhooks import worker

SHOP = "alpha.myshopify.com"


@pytest.fixture
def redis_url() -> Iterator[str]:
    with emptied_redis() as url:
        yield url


@pytest.fixture
def settings_overrides(redis_url: str) -> dict[str, Any]:
    return {"REDIS_URL": redis_url, "QUEUE_SWEEP_AFTER_SECONDS": 60}


def post_order(client: FlaskClient, number: int, *, shop_domain: str = SHOP) -> int:
    body = json_body(unique_order(number))
    response = client.post(
        "/webhooks",
        data=body,
        headers=webhook_headers("orders/create", body, shop_domain=shop_domain),
    )
    assert response.status_code == 200
    return number


def read(database: Database, statement: Any) -> list[Any]:
    """Run a query in its own short transaction (SQLite: no write lock held over the test)."""
    with database.session_scope() as check:
        return list(check.scalars(statement).all())


def queued_messages(redis_url: str) -> list[bytes]:
    client = redis.Redis.from_url(redis_url)
    raw = client.hgetall(f"retention:{tasks.WEBHOOK_QUEUE}.msgs")
    client.close()
    return list(raw.values())


def queued_shops(redis_url: str) -> list[str]:
    return sorted(json.loads(message)["args"][0] for message in queued_messages(redis_url))


def run_queue_worker(app: Flask) -> None:
    """Run a Dramatiq worker in this process until the webhook queue is empty."""
    import dramatiq

    queue = tasks.task_queue(app)
    assert queue is not None
    consumer = dramatiq.Worker(queue.broker, worker_threads=2, queues={tasks.WEBHOOK_QUEUE})
    consumer.start()
    try:
        queue.broker.join(tasks.WEBHOOK_QUEUE, timeout=30_000)
        consumer.join()
    finally:
        consumer.stop()


def test_a_stored_webhook_enqueues_a_drain_of_its_shop_by_domain_after_the_insert(
    client: FlaskClient, shop: Shop, database: Database, redis_url: str
) -> None:
    post_order(client, 1)

    assert read(database, select(func.count(WebhookDelivery.id))) == [1]
    assert queued_shops(redis_url) == [SHOP]
    (message,) = queued_messages(redis_url)
    assert b"line_items" not in message  # the payload stays in the database


def test_a_webhook_is_acknowledged_and_stored_when_redis_is_down(
    database_url: str, make_shop: Callable[..., Shop], redis_url: str
) -> None:
    from shopify_app import create_app

    dead_redis = f"redis://127.0.0.1:{free_port()}/0"
    app = create_app({**TEST_SETTINGS, "DATABASE_URL": database_url, "REDIS_URL": dead_redis})
    make_shop(SHOP)
    body = json_body(unique_order(2))
    response = app.test_client().post(
        "/webhooks", data=body, headers=webhook_headers("orders/create", body, shop_domain=SHOP)
    )

    assert response.status_code == 200
    assert read(get_database(app), select(func.count(WebhookDelivery.id))) == [1]
    get_database(app).dispose()


def test_draining_a_shop_twice_stores_its_order_once(
    client: FlaskClient, shop: Shop, database: Database
) -> None:
    post_order(client, 3)

    first = worker.drain(database, shop_domain=SHOP, now=utcnow())
    second = worker.drain(database, shop_domain=SHOP, now=utcnow())

    assert (first[worker.Outcome.DONE], second.total) == (1, 0)
    assert read(database, select(func.count(Order.id))) == [1]
    assert read(database, select(WebhookDelivery.status)) == [DeliveryStatus.DONE]


def test_a_drain_takes_only_its_own_shops_deliveries(
    client: FlaskClient, make_shop: Callable[..., Shop], database: Database
) -> None:
    make_shop(SHOP)
    make_shop("beta.myshopify.com")
    post_order(client, 5)
    post_order(client, 6, shop_domain="beta.myshopify.com")

    report = worker.drain(database, shop_domain="beta.myshopify.com", now=utcnow())

    assert report[worker.Outcome.DONE] == 1
    statuses = read(
        database,
        select(WebhookDelivery.status).where(WebhookDelivery.shop_domain == SHOP),
    )
    assert statuses == [DeliveryStatus.PENDING]


def test_a_delivery_held_by_a_live_lease_is_not_drained_again(
    client: FlaskClient, shop: Shop, database: Database
) -> None:
    post_order(client, 4)
    now = utcnow()
    with database.session_scope() as work:
        held = inbox.claim_due(work, now=now, limit=10, lease=timedelta(minutes=5))
    assert len(held) == 1

    during = worker.drain(database, shop_domain=SHOP, now=now)
    after_expiry = worker.drain(database, shop_domain=SHOP, now=now + timedelta(minutes=6))

    assert (during.total, after_expiry[worker.Outcome.DONE]) == (0, 1)


def test_the_sweeper_re_enqueues_shops_with_stale_or_expired_deliveries_but_not_fresh_ones(
    app: Flask, client: FlaskClient, database: Database, redis_url: str
) -> None:
    stale_shop, expired_shop, fresh_shop = (
        f"{name}.myshopify.com" for name in ("alpha", "beta", "gamma")
    )
    for number, domain in enumerate((stale_shop, expired_shop, fresh_shop), start=10):
        post_order(client, number, shop_domain=domain)
    lost = redis.Redis.from_url(redis_url)
    lost.flushdb()  # the queue lost everything
    lost.close()
    now = utcnow()
    with database.session_scope() as work:
        work.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.shop_domain == stale_shop)
            .values(received_at=now - timedelta(minutes=5))
        )
        work.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.shop_domain == expired_shop)
            .values(status=DeliveryStatus.PROCESSING, next_attempt_at=now - timedelta(seconds=1))
        )

    assert tasks.sweep(app, now=now) == (2, 0)
    assert queued_shops(redis_url) == [stale_shop, expired_shop]


def test_the_sweep_job_is_registered_and_sweeps_once_per_interval(app: Flask, shop: Shop) -> None:
    job = load_jobs()["queue.sweep"]

    first = job.run(app, shop.id, utcnow())
    second = job.run(app, shop.id, utcnow())

    assert first == "0 shops' deliveries, 0 shops' messages"
    assert second == "swept already"


def test_a_burst_for_one_shop_is_one_task_that_processes_every_delivery(
    app: Flask, client: FlaskClient, shop: Shop, database: Database, redis_url: str
) -> None:
    burst = 40
    for number in range(100, 100 + burst):
        post_order(client, number)
    assert queued_shops(redis_url) == [SHOP]  # coalesced: the pending task takes them all

    run_queue_worker(app)

    assert read(database, select(WebhookDelivery.status)) == [DeliveryStatus.DONE] * burst
    assert read(database, select(func.count(Order.id))) == [burst]
    # The task cleared its shop's pending mark when it started: the next delivery enqueues again.
    post_order(client, 200)
    assert queued_shops(redis_url) == [SHOP]


def test_a_drain_out_of_time_leaves_the_rest_of_its_shop_to_a_task_it_enqueues(
    app: Flask, client: FlaskClient, shop: Shop, database: Database, monkeypatch: Any
) -> None:
    for number in range(300, 330):
        post_order(client, number)
    queue = tasks.task_queue(app)
    assert queue is not None
    hand_offs: list[str] = []
    enqueue = queue.enqueue_drain

    def counted(shop_domain: str) -> bool:
        hand_offs.append(shop_domain)
        return enqueue(shop_domain)

    monkeypatch.setattr(queue, "enqueue_drain", counted)
    # One claim (at most worker.FIRST_CLAIM deliveries) per task: the rest needs a hand-off.
    monkeypatch.setattr(tasks, "DRAIN_SECONDS", 0.0)

    run_queue_worker(app)

    assert read(database, select(WebhookDelivery.status)) == [DeliveryStatus.DONE] * 30
    assert SHOP in hand_offs


def test_a_redis_url_that_is_not_redis_names_the_setting() -> None:
    with pytest.raises(SettingsError, match="REDIS_URL must look like redis://"):
        load_settings({**TEST_SETTINGS, "REDIS_URL": "http://127.0.0.1:6379"}, environ={})


def test_without_redis_the_embedded_worker_stays_the_default() -> None:
    base = {**TEST_SETTINGS, "TESTING": False, "SECRET_KEY": "x" * 40}
    base.pop("BACKGROUND_WORKER")
    assert load_settings(base, environ={}).background_worker is True
    with_redis = load_settings({**base, "REDIS_URL": "redis://127.0.0.1:6379/0"}, environ={})
    assert with_redis.background_worker is False
