"""Queue-backed processing on Redis (Dramatiq): draining a shop's inbox, sending its messages.

A webhook task carries a shop, not a delivery: `webhooks.drain_shop(shop_domain)` claims that
shop's due deliveries in batches and processes them with the embedded worker's own
`webhooks.worker.drain`, so a flash sale costs a few tasks, each writing its orders as sets
(`webhooks.batch`), instead of one task and one transaction per delivery. Enqueueing coalesces:
while a drain of the shop is enqueued and not started yet (a Redis key, `PENDING_SECONDS` at most)
nothing more is sent, since that task will claim the new delivery too. The task clears the key
before its first claim, so a delivery stored after that enqueues a task of its own.

Only identifiers travel through Redis (a shop's domain, a shop id); the database stays the source
of truth. Claims, leases, retries and "at most once" for email hold unchanged: a task whose work
is already done or claimed by someone else does nothing. A lost queue message (Redis restart,
failed enqueue, killed worker) is found again by `sweep`, a scheduled job that re-enqueues the
shops with deliveries or messages pending longer than `QUEUE_SWEEP_AFTER_SECONDS`.

Without `REDIS_URL` nothing here is active: `task_queue(app)` is None, enqueueing does nothing and
the embedded background worker drains the inbox as before.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime
from datetime import timedelta

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
from shopify_app.db import get_database
from shopify_app.models import DeliveryStatus
from shopify_app.models import Message
from shopify_app.models import WebhookDelivery
from shopify_app.models import utcnow
from shopify_app.models.message import PENDING_STATUSES
from webhooks import inbox
from webhooks import worker

logger = logging.getLogger(__name__)

_EXTENSION_KEY = "task_queue"
WEBHOOK_QUEUE = "webhooks"
MESSAGE_QUEUE = "messages"
QUEUES = (WEBHOOK_QUEUE, MESSAGE_QUEUE)
SWEEP_LIMIT = 10_000
ENQUEUE_PAUSE_SECONDS = 5.0
"""After a failed enqueue, web processes stop trying for this long (the sweeper catches up)."""
PENDING_SECONDS = 30
"""How long an enqueued drain stands for its shop's new deliveries: the key clears when the task
starts, and expires after this in case its message was lost (then a new delivery sends again)."""
DRAIN_SECONDS = 30.0
"""How long one drain task works on its shop before leaving the rest to a new task, so that a
shop in a flash sale takes turns with the others."""
DRAIN_TIME_LIMIT_MS = 120_000


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
        self.drain_shop = dramatiq.Actor(
            self._drain_shop,
            broker=self.broker,
            actor_name="webhooks.drain_shop",
            queue_name=WEBHOOK_QUEUE,
            priority=0,
            options={"time_limit": DRAIN_TIME_LIMIT_MS},
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

    def _drain_shop(self, shop_domain: str) -> int:
        # Before the first claim: a delivery stored from now on may come after this task's last
        # claim, so it must find the key gone and enqueue a task of its own.
        try:
            self.client.delete(self._pending_key(shop_domain))
        except redis.RedisError as exc:
            logger.warning("Could not clear a pending drain (it expires): %s", type(exc).__name__)
        lease = timedelta(seconds=get_settings(self.app).queue_lease_seconds)
        deadline = time.monotonic() + DRAIN_SECONDS
        with self.app.app_context():
            report = worker.drain(
                get_database(self.app),
                lease=lease,
                shop_domain=shop_domain,
                should_stop=lambda: time.monotonic() >= deadline,
            )
        logger.info("Drained %d deliveries of %s", report.total, shop_domain)
        if report.stopped:  # out of time, perhaps with work left: hand it to the next task
            self.enqueue_drain(shop_domain)
        return report.total

    def _send_messages(self, shop_id: int) -> int:
        with self.app.app_context():
            return send_shop_messages(self.app, shop_id, utcnow())

    def enqueue_drain(self, shop_domain: str) -> bool:
        """See to it that a task drains *shop_domain*'s due deliveries; False when Redis fails.

        Nothing is sent while a drain of the shop sent less than `PENDING_SECONDS` ago has not
        started: it will claim this shop's new deliveries too.
        """
        key = self._pending_key(shop_domain)

        def send() -> None:
            if self.client.set(key, "1", nx=True, ex=PENDING_SECONDS):
                self.drain_shop.send(shop_domain)

        return self._attempt(f"{self.drain_shop.actor_name}({shop_domain})", send)

    def enqueue_send(self, shop_id: int) -> bool:
        """Enqueue sending one shop's due messages; return False when Redis fails."""
        return self._attempt(
            f"{self.send_messages.actor_name}({shop_id})", lambda: self.send_messages.send(shop_id)
        )

    def _pending_key(self, shop_domain: str) -> str:
        return f"{self.namespace}:drain-pending:{shop_domain}"

    def _attempt(self, what: str, send: Callable[[], object]) -> bool:
        if time.monotonic() < self._paused_until:
            return False
        try:
            send()
        except (redis.RedisError, OSError) as exc:
            with self._pause_lock:
                self._paused_until = time.monotonic() + ENQUEUE_PAUSE_SECONDS
            logger.warning(
                "Could not enqueue %s; the sweeper will pick it up: %s", what, type(exc).__name__
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


def enqueue_drain(app: Flask, shop_domain: str) -> None:
    """Hand a shop's stored deliveries to the queue workers, when there is a queue; never raise."""
    queue = task_queue(app)
    if queue is not None:
        queue.enqueue_drain(shop_domain)


def find_stale_work(
    session: Session, *, now: datetime, older_than: timedelta, limit: int = SWEEP_LIMIT
) -> tuple[list[str], list[int]]:
    """Return the shop domains with deliveries, and the shop ids with messages, pending longer
    than *older_than* or due again."""
    cutoff = now - older_than
    shop_domains = session.scalars(
        select(WebhookDelivery.shop_domain)
        .where(
            or_(
                and_(
                    WebhookDelivery.status == DeliveryStatus.PENDING,
                    WebhookDelivery.received_at <= cutoff,
                ),
                inbox.is_retry_due(now),
            )
        )
        .distinct()
        .limit(limit)
    ).all()
    shop_ids = session.scalars(
        select(Message.shop_id)
        .where(Message.status.in_(PENDING_STATUSES), Message.due_at <= cutoff)
        .distinct()
        .limit(limit)
    ).all()
    return sorted(shop_domains), sorted(shop_ids)


def sweep(app: Flask, *, now: datetime) -> tuple[int, int]:
    """Re-enqueue the shops with stale deliveries and with overdue messages; return how many."""
    queue = task_queue(app)
    if queue is None:
        return (0, 0)
    older_than = timedelta(seconds=get_settings(app).queue_sweep_after_seconds)
    with get_database(app).session_scope() as session:
        shop_domains, shop_ids = find_stale_work(session, now=now, older_than=older_than)
    drains = sum(queue.enqueue_drain(shop_domain) for shop_domain in shop_domains)
    sends = sum(queue.enqueue_send(shop_id) for shop_id in shop_ids)
    if drains or sends:
        logger.info("Re-enqueued %d shops' deliveries and %d shops' messages", drains, sends)
    return (drains, sends)


SWEEP_EVERY = timedelta(minutes=1)


def sweep_job(app: Flask, shop_id: int, now: datetime) -> str:
    """Re-enqueue inbox rows and messages the queue lost (once per interval, for every shop)."""
    # The scheduler calls jobs once per shop; the sweep is global, so one call per interval does it.
    queue = task_queue(app)
    if queue is None:
        return "no queue"
    if not queue.take_sweep_turn(every=SWEEP_EVERY):
        return "swept already"
    drains, sends = sweep(app, now=now)
    return f"{drains} shops' deliveries, {sends} shops' messages"
