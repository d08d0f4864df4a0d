"""Queue-backed processing on Redis (Dramatiq): inbox deliveries and message sending as tasks.

Only ids travel through Redis; the database stays the source of truth. A task runs the same
domain functions as the embedded worker (`webhooks.batch.process_claim`, the sender's
`send_due_messages`), so claims, leases, retries and "at most once" for email hold unchanged:
a task for a row that is already done or claimed by someone else does nothing. A lost queue
message (Redis restart, failed enqueue, killed worker) is found again by `sweep`, a scheduled job
that re-enqueues deliveries and messages pending longer than `QUEUE_SWEEP_AFTER_SECONDS`.

Without `REDIS_URL` nothing here is active: `task_queue(app)` is None, enqueueing does nothing and
the embedded background worker drains the inbox as before.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime
from datetime import timedelta
from typing import Any

import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import AgeLimit
from dramatiq.middleware import Callbacks
from dramatiq.middleware import Pipelines
from dramatiq.middleware import Retries
from dramatiq.middleware import ShutdownNotifications
from dramatiq.middleware import TimeLimit
from flask import Flask
from sqlalchemy import and_
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy.orm import Session

from jobs.messages import send_shop_messages
from shopify_app.context import get_settings
from shopify_app.db import Database
from shopify_app.db import get_database
from shopify_app.models import DeliveryStatus
from shopify_app.models import Message
from shopify_app.models import WebhookDelivery
from shopify_app.models import utcnow
from shopify_app.models.message import PENDING_STATUSES
from webhooks import batch
from webhooks import inbox
from webhooks.processing import Outcome

logger = logging.getLogger(__name__)

_EXTENSION_KEY = "task_queue"
WEBHOOK_QUEUE = "webhooks"
MESSAGE_QUEUE = "messages"
QUEUES = (WEBHOOK_QUEUE, MESSAGE_QUEUE)
SWEEP_LIMIT = 10_000
ENQUEUE_PAUSE_SECONDS = 5.0
"""After a failed enqueue, web processes stop trying for this long (the sweeper catches up)."""


class TaskQueue:
    """One Redis broker and the app's actors; built by `init_app` when REDIS_URL is set."""

    def __init__(self, app: Flask, redis_url: str, *, namespace: str = "retention") -> None:
        self.app = app
        self.namespace = namespace
        # Short timeouts: an enqueue runs inside a webhook acknowledgement that must stay fast.
        self.client = redis.Redis.from_url(
            redis_url, socket_connect_timeout=1.0, socket_timeout=5.0, health_check_interval=30
        )
        self.broker = RedisBroker(  # type: ignore[no-untyped-call]
            client=self.client,
            namespace=namespace,
            middleware=[
                AgeLimit(),  # type: ignore[no-untyped-call]
                TimeLimit(),  # type: ignore[no-untyped-call]
                ShutdownNotifications(),  # type: ignore[no-untyped-call]
                Callbacks(),
                Pipelines(),
                Retries(  # type: ignore[no-untyped-call]
                    max_retries=5, min_backoff=1_000, max_backoff=60_000
                ),
            ],
        )
        self.process_delivery = dramatiq.Actor(
            self._process_delivery,
            broker=self.broker,
            actor_name="webhooks.process_delivery",
            queue_name=WEBHOOK_QUEUE,
            priority=0,
            options={"time_limit": 120_000},
        )
        self.send_messages = dramatiq.Actor(
            self._send_messages,
            broker=self.broker,
            actor_name="messages.send_shop",
            queue_name=MESSAGE_QUEUE,
            priority=10,
            options={"time_limit": 600_000},
        )
        self._paused_until = 0.0
        self._pause_lock = threading.Lock()

    def _process_delivery(self, delivery_id: int) -> str:
        settings = get_settings(self.app)
        with self.app.app_context():
            outcome = process_delivery(
                get_database(self.app),
                delivery_id=delivery_id,
                now=utcnow(),
                lease=timedelta(seconds=settings.queue_lease_seconds),
            )
        return outcome.value

    def _send_messages(self, shop_id: int) -> int:
        with self.app.app_context():
            return send_shop_messages(self.app, shop_id, utcnow())

    def enqueue_delivery(self, delivery_id: int) -> bool:
        """Enqueue one delivery id; return False (and log) instead of raising when Redis fails."""
        return self._enqueue(self.process_delivery, delivery_id)

    def enqueue_send(self, shop_id: int) -> bool:
        """Enqueue sending one shop's due messages; return False when Redis fails."""
        return self._enqueue(self.send_messages, shop_id)

    def _enqueue(self, actor: dramatiq.Actor[[int], Any], argument: int) -> bool:
        if time.monotonic() < self._paused_until:
            return False
        try:
            actor.send(argument)
        except (redis.RedisError, OSError) as exc:
            with self._pause_lock:
                self._paused_until = time.monotonic() + ENQUEUE_PAUSE_SECONDS
            logger.warning(
                "Could not enqueue %s(%d); the sweeper will pick it up: %s",
                actor.actor_name,
                argument,
                type(exc).__name__,
            )
            return False
        return True

    def ping(self) -> None:
        """Raise redis.RedisError when Redis does not answer."""
        self.client.ping()

    def take_sweep_turn(self, *, every: timedelta) -> bool:
        """Return True for the one caller per *every* that should sweep (a Redis lock)."""
        key = f"{self.namespace}:sweep-lock"
        milliseconds = max(int(every.total_seconds() * 1000) - 1000, 1000)
        return bool(self.client.set(key, "1", nx=True, px=milliseconds))


def init_app(app: Flask) -> None:
    """Attach a TaskQueue to *app* when REDIS_URL is set."""
    redis_url = get_settings(app).redis_url
    if redis_url:
        app.extensions[_EXTENSION_KEY] = TaskQueue(app, redis_url)


def task_queue(app: Flask) -> TaskQueue | None:
    """Return the app's task queue, or None in the embedded (no Redis) mode."""
    queue: TaskQueue | None = app.extensions.get(_EXTENSION_KEY)
    return queue


def enqueue_delivery(app: Flask, delivery_id: int) -> None:
    """Hand a stored delivery to the queue workers, when there is a queue; never raise."""
    queue = task_queue(app)
    if queue is not None:
        queue.enqueue_delivery(delivery_id)


def process_delivery(
    database: Database,
    *,
    delivery_id: int,
    now: datetime,
    lease: timedelta = inbox.CLAIM_LEASE,
) -> Outcome:
    """Claim and process one delivery with the embedded worker's own `process_claim`."""
    with database.session_scope() as session:
        claim = inbox.claim_one(session, delivery_id=delivery_id, now=now, lease=lease)
    if claim is None:
        return Outcome.SKIPPED
    return batch.process_claim(database, claim=claim, now=now)


def find_stale_work(
    session: Session, *, now: datetime, older_than: timedelta, limit: int = SWEEP_LIMIT
) -> tuple[list[int], list[int]]:
    """Return delivery ids and shop ids with work pending longer than *older_than*, or due again."""
    cutoff = now - older_than
    delivery_ids = session.scalars(
        select(WebhookDelivery.id)
        .where(
            or_(
                and_(
                    WebhookDelivery.status == DeliveryStatus.PENDING,
                    WebhookDelivery.received_at <= cutoff,
                ),
                inbox.is_retry_due(now),
            )
        )
        .order_by(WebhookDelivery.id)
        .limit(limit)
    ).all()
    shop_ids = session.scalars(
        select(Message.shop_id)
        .where(Message.status.in_(PENDING_STATUSES), Message.due_at <= cutoff)
        .distinct()
        .limit(limit)
    ).all()
    return list(delivery_ids), sorted(shop_ids)


def sweep(app: Flask, *, now: datetime) -> tuple[int, int]:
    """Re-enqueue stale deliveries and shops with overdue messages; return how many of each."""
    queue = task_queue(app)
    if queue is None:
        return (0, 0)
    older_than = timedelta(seconds=get_settings(app).queue_sweep_after_seconds)
    with get_database(app).session_scope() as session:
        delivery_ids, shop_ids = find_stale_work(session, now=now, older_than=older_than)
    deliveries = sum(queue.enqueue_delivery(delivery_id) for delivery_id in delivery_ids)
    shops = sum(queue.enqueue_send(shop_id) for shop_id in shop_ids)
    if deliveries or shops:
        logger.info("Re-enqueued %d stale deliveries and %d shops' messages", deliveries, shops)
    return (deliveries, shops)


SWEEP_EVERY = timedelta(minutes=1)


def sweep_job(app: Flask, shop_id: int, now: datetime) -> str:
    """Re-enqueue inbox rows and messages the queue lost (once per interval, for every shop)."""
    # The scheduler calls jobs once per shop; the sweep is global, so one call per interval does it.
    queue = task_queue(app)
    if queue is None:
        return "no queue"
    if not queue.take_sweep_turn(every=SWEEP_EVERY):
        return "swept already"
    deliveries, shops = sweep(app, now=now)
    return f"{deliveries} deliveries, {shops} shops"
