"""Process inbox deliveries: parse, validate with the topic's schema, call its handler, record.

Each delivery is processed in one transaction of its own: the handler's writes and the row's new
status commit together, so a crash in between leaves the delivery due again and nothing half-done.
The handler runs inside a savepoint, so its failure is rolled back while the failure itself is still
recorded in the same transaction. One delivery's failure never stops the others.

`drain` is what `flask --app shopify_app webhooks drain` and the tests call. `BackgroundWorker` runs
`drain` continuously in a thread of the web process (the embedded default); it is started by the
app's first request when `BACKGROUND_WORKER` is on, so tests and CLI commands never start one.
"""

from __future__ import annotations

import atexit
import enum
import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from typing import Any

from flask import Flask
from marshmallow import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from shopify_app.context import get_settings
from shopify_app.db import Database
from shopify_app.db import get_database
from shopify_app.models import DeliveryStatus
from shopify_app.models import Shop
from shopify_app.models import WebhookDelivery
from shopify_app.models import utcnow
from webhooks import inbox
from webhooks.handlers import HANDLERS
from webhooks.registry import DeliveryContext
from webhooks.schemas import SCHEMAS

logger = logging.getLogger(__name__)

BATCH_SIZE = 20
_EXTENSION_KEY = "webhook_worker"
_start_lock = threading.Lock()


class InvalidPayload(Exception):
    """Raise when a delivery's body is not the JSON object its topic's schema expects."""


class Outcome(enum.Enum):
    DONE = "done"
    FAILED = "failed"
    DEAD = "dead"
    IGNORED = "ignored"
    SKIPPED = "skipped"  # another worker took the delivery over after our lease ran out


@dataclass
class DrainReport:
    """How many deliveries one drain finished with each outcome."""

    counts: dict[Outcome, int] = field(default_factory=lambda: dict.fromkeys(Outcome, 0))

    def add(self, outcome: Outcome) -> None:
        self.counts[outcome] += 1

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def __getitem__(self, outcome: Outcome) -> int:
        return self.counts[outcome]


def drain(
    database: Database,
    *,
    now: datetime | None = None,
    batch_size: int = BATCH_SIZE,
    policy: inbox.RetryPolicy = inbox.DEFAULT_RETRY_POLICY,
    should_stop: Callable[[], bool] = lambda: False,
) -> DrainReport:
    """Process due deliveries until none is left; *now* fixes the clock (tests step through it)."""
    report = DrainReport()
    while not should_stop():
        current = now or utcnow()
        with database.session_scope() as session:
            claims = inbox.claim_due(session, now=current, limit=batch_size)
        if not claims:
            break
        for claim in claims:
            report.add(process_claim(database, claim=claim, now=current, policy=policy))
    return report


def process_claim(
    database: Database,
    *,
    claim: inbox.Claim,
    now: datetime,
    policy: inbox.RetryPolicy = inbox.DEFAULT_RETRY_POLICY,
) -> Outcome:
    """Process the claimed delivery in one transaction and return how it ended."""
    try:
        with database.session_scope() as session:
            return _process_locked(session, claim=claim, now=now, policy=policy)
    except Exception as exc:  # noqa: BLE001 - the transaction itself failed; record it below
        error = describe_error(exc)
    # The processing transaction could not commit (lost connection, a constraint checked at
    # commit): record the failure in a fresh one so the delivery backs off instead of spinning.
    with database.session_scope() as session:
        delivery = inbox.lock_claimed(session, claim=claim)
        if delivery is None:
            return Outcome.SKIPPED
        status = inbox.mark_failed(delivery, error=error, now=now, policy=policy)
        _log_failure(delivery, status)
        return Outcome(status.value)


def _process_locked(
    session: Session, *, claim: inbox.Claim, now: datetime, policy: inbox.RetryPolicy
) -> Outcome:
    delivery = inbox.lock_claimed(session, claim=claim)
    if delivery is None:
        return Outcome.SKIPPED
    handler = HANDLERS.get(delivery.topic)
    if handler is None:
        inbox.mark_ignored(delivery, now=now)
        return Outcome.IGNORED
    try:
        with session.begin_nested():
            payload = parse_payload(delivery.payload, topic=delivery.topic)
            shop = session.scalar(select(Shop).where(Shop.domain == delivery.shop_domain))
            handler(session, shop, payload, _context_for(delivery, now=now))
    except Exception as exc:  # noqa: BLE001 - a handler's failure stays with its delivery
        status = inbox.mark_failed(delivery, error=describe_error(exc), now=now, policy=policy)
        _log_failure(delivery, status)
        return Outcome(status.value)
    if shop is not None:
        delivery.shop_id = shop.id
    inbox.mark_done(delivery, now=now)
    logger.debug(
        "Processed webhook delivery %d",
        delivery.id,
        extra={"shop": delivery.shop_domain, "topic": delivery.topic},
    )
    return Outcome.DONE


def parse_payload(body: bytes, *, topic: str) -> dict[str, Any]:
    """Return the body as a JSON object validated by *topic*'s schema, or raise InvalidPayload."""
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidPayload(f"The webhook body is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise InvalidPayload(
            f"The webhook body is a JSON {type(data).__name__}, expected a JSON object"
        )
    schema = SCHEMAS.get(topic)
    if schema is None:
        return data
    try:
        loaded: dict[str, Any] = schema().load(data)
    except ValidationError as exc:
        raise InvalidPayload(
            f"The webhook payload does not match the {topic} schema: {exc.messages}"
        ) from exc
    return loaded


def describe_error(exc: BaseException) -> str:
    """Return a readable one-line error for the inbox, without SQL parameters (they hold data)."""
    if isinstance(exc, InvalidPayload):
        return str(exc)
    if isinstance(exc, DBAPIError):
        original = exc.orig if exc.orig is not None else exc
        first_line = (str(original).strip().splitlines() or [""])[0]
        return f"{type(original).__name__}: {first_line}"
    return f"{type(exc).__name__}: {exc}"


def _context_for(delivery: WebhookDelivery, *, now: datetime) -> DeliveryContext:
    return DeliveryContext(
        delivery_id=delivery.id,
        shop_domain=delivery.shop_domain,
        topic=delivery.topic,
        webhook_id=delivery.webhook_id,
        triggered_at=delivery.triggered_at,
        api_version=delivery.api_version,
        now=now,
    )


def _log_failure(delivery: WebhookDelivery, status: DeliveryStatus) -> None:
    extra = {"shop": delivery.shop_domain, "topic": delivery.topic}
    if status is DeliveryStatus.DEAD:
        logger.error(
            "Webhook delivery %d dead-lettered after %d attempts; see "
            "`flask --app shopify_app webhooks failed`",
            delivery.id,
            delivery.attempts,
            extra=extra,
        )
    else:
        logger.warning(
            "Webhook delivery %d failed on attempt %d; retrying at %s",
            delivery.id,
            delivery.attempts,
            delivery.next_attempt_at.isoformat() if delivery.next_attempt_at else "-",
            extra=extra,
        )


class BackgroundWorker:
    """Drain the inbox continuously in a daemon thread of the web process."""

    def __init__(
        self, database: Database, *, poll_interval: float = 2.0, batch_size: int = BATCH_SIZE
    ) -> None:
        self.database = database
        self.poll_interval = poll_interval
        self.batch_size = batch_size
        self._stopping = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def is_running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self.is_running:
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="webhook-worker", daemon=True)
        self._thread.start()
        logger.info("Started the background webhook worker")

    def wake(self) -> None:
        """Ask for a drain now instead of at the next poll (a delivery just arrived)."""
        self._wake.set()

    def stop(self, timeout: float = 30.0) -> None:
        """Finish the current batch, then stop the thread."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                logger.warning("The background webhook worker did not stop within %.0f s", timeout)
            else:
                logger.info("Stopped the background webhook worker")

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.clear()
            try:
                drain(self.database, batch_size=self.batch_size, should_stop=self._stopping.is_set)
            except Exception as exc:  # noqa: BLE001 - the loop outlives a database outage
                logger.error("Webhook worker pass failed: %s", describe_error(exc))
            self._wake.wait(self.poll_interval)


def start_background_worker(app: Flask) -> BackgroundWorker | None:
    """Start the app's background worker once, when BACKGROUND_WORKER is on."""
    if not get_settings(app).background_worker:
        return None
    existing: BackgroundWorker | None = app.extensions.get(_EXTENSION_KEY)
    if existing is not None:
        return existing
    with _start_lock:
        worker: BackgroundWorker | None = app.extensions.get(_EXTENSION_KEY)
        if worker is None:
            worker = BackgroundWorker(get_database(app))
            app.extensions[_EXTENSION_KEY] = worker
            worker.start()
            atexit.register(worker.stop)
    return worker


def wake_background_worker(app: Flask) -> None:
    """Wake the app's background worker, if it runs."""
    worker: BackgroundWorker | None = app.extensions.get(_EXTENSION_KEY)
    if worker is not None:
        worker.wake()
