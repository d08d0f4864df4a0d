"""Queue-backed processing: enqueue ids after the durable insert, process once, sweep lost work."""

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


def post_order(client: FlaskClient, number: int) -> int:
    body = json_body(unique_order(number))
    response = client.post(
        "/webhooks", data=body, headers=webhook_headers("orders/create", body, shop_domain=SHOP)
    )
    assert response.status_code == 200
    return number


def read(database: Database, statement: Any) -> list[Any]:
    """Run a query in its own short transaction (SQLite: no write lock held over the test)."""
    with database.session_scope() as check:
        return list(check.scalars(statement).all())


def queued_delivery_ids(redis_url: str) -> list[int]:
    client = redis.Redis.from_url(redis_url)
    raw = client.hgetall(f"retention:{tasks.WEBHOOK_QUEUE}.msgs")
    client.close()
    return sorted(json.loads(message)["args"][0] for message in raw.values())


def test_a_stored_webhook_is_enqueued_by_id_only_after_the_insert(
    client: FlaskClient, shop: Shop, database: Database, redis_url: str
) -> None:
    post_order(client, 1)

    stored = read(database, select(WebhookDelivery.id))
    assert queued_delivery_ids(redis_url) == stored
    client_ = redis.Redis.from_url(redis_url)
    (message,) = client_.hgetall(f"retention:{tasks.WEBHOOK_QUEUE}.msgs").values()
    client_.close()
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


def test_processing_a_delivery_twice_stores_its_order_once(
    client: FlaskClient, shop: Shop, database: Database
) -> None:
    post_order(client, 3)
    (delivery_id,) = read(database, select(WebhookDelivery.id))

    first = tasks.process_delivery(database, delivery_id=delivery_id, now=utcnow())
    second = tasks.process_delivery(database, delivery_id=delivery_id, now=utcnow())

    assert (first, second) == (worker.Outcome.DONE, worker.Outcome.SKIPPED)
    assert read(database, select(func.count(Order.id))) == [1]
    assert read(database, select(WebhookDelivery.status)) == [DeliveryStatus.DONE]


def test_a_delivery_held_by_a_live_lease_is_not_claimed_again(
    client: FlaskClient, shop: Shop, database: Database
) -> None:
    post_order(client, 4)
    (delivery_id,) = read(database, select(WebhookDelivery.id))
    now = utcnow()
    with database.session_scope() as work:
        held = inbox.claim_one(work, delivery_id=delivery_id, now=now, lease=timedelta(minutes=5))
    assert held is not None

    during = tasks.process_delivery(database, delivery_id=delivery_id, now=now)
    after_expiry = tasks.process_delivery(
        database, delivery_id=delivery_id, now=now + timedelta(minutes=6)
    )

    assert (during, after_expiry) == (worker.Outcome.SKIPPED, worker.Outcome.DONE)


def test_the_sweeper_re_enqueues_stale_and_expired_deliveries_but_not_fresh_ones(
    app: Flask, client: FlaskClient, shop: Shop, database: Database, redis_url: str
) -> None:
    for number in (10, 11, 12):
        post_order(client, number)
    lost = redis.Redis.from_url(redis_url)
    lost.flushdb()  # the queue lost everything
    lost.close()
    now = utcnow()
    with database.session_scope() as work:
        stale, expired, fresh = work.scalars(
            select(WebhookDelivery.id).order_by(WebhookDelivery.id)
        ).all()
        work.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id == stale)
            .values(received_at=now - timedelta(minutes=5))
        )
        work.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id == expired)
            .values(status=DeliveryStatus.PROCESSING, next_attempt_at=now - timedelta(seconds=1))
        )

    assert tasks.sweep(app, now=now) == (2, 0)
    assert queued_delivery_ids(redis_url) == [stale, expired]
    assert fresh not in queued_delivery_ids(redis_url)


def test_the_sweep_job_is_registered_and_sweeps_once_per_interval(app: Flask, shop: Shop) -> None:
    job = load_jobs()["queue.sweep"]

    first = job.run(app, shop.id, utcnow())
    second = job.run(app, shop.id, utcnow())

    assert first == "0 deliveries, 0 shops"
    assert second == "swept already"


def test_a_queue_worker_in_this_process_processes_enqueued_deliveries(
    app: Flask, client: FlaskClient, shop: Shop, database: Database
) -> None:
    import dramatiq

    for number in range(20, 25):
        post_order(client, number)
    queue = tasks.task_queue(app)
    assert queue is not None
    consumer = dramatiq.Worker(queue.broker, worker_threads=2, queues={tasks.WEBHOOK_QUEUE})
    consumer.start()
    try:
        queue.broker.join(tasks.WEBHOOK_QUEUE, timeout=30_000)
        consumer.join()
    finally:
        consumer.stop()

    assert read(database, select(WebhookDelivery.status)) == [DeliveryStatus.DONE] * 5
    assert read(database, select(func.count(Order.id))) == [5]


def test_a_redis_url_that_is_not_redis_names_the_setting() -> None:
    with pytest.raises(SettingsError, match="REDIS_URL must look like redis://"):
        load_settings({**TEST_SETTINGS, "REDIS_URL": "http://127.0.0.1:6379"}, environ={})


def test_without_redis_the_embedded_worker_stays_the_default() -> None:
    base = {**TEST_SETTINGS, "TESTING": False, "SECRET_KEY": "x" * 40}
    base.pop("BACKGROUND_WORKER")
    assert load_settings(base, environ={}).background_worker is True
    with_redis = load_settings({**base, "REDIS_URL": "redis://127.0.0.1:6379/0"}, environ={})
    assert with_redis.background_worker is False
