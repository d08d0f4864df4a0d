"""Drain the inbox: claim due deliveries in batches and process each batch (`webhooks.batch`).

A delivery's writes and its row's new status commit together, so a crash in between leaves the
delivery due again and nothing half-done. Each delivery runs in a savepoint of its batch's
transaction: one delivery's failure never fails, delays or duplicates the others.

`drain` is what `flask --app shopify_app webhooks drain` and the tests call. `BackgroundWorker` runs
`drain` continuously in a thread of the web process (the embedded default); it is started by the
app's first request when `BACKGROUND_WORKER` is on, so tests and CLI commands never start one.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from datetime import timedelta

from flask import Flask

from shopify_app.context import get_settings
from shopify_app.db import Database
from shopify_app.db import get_database
from shopify_app.models import utcnow
from shopify_app.sqlite_locks import DrainerLock
from webhooks import inbox
from webhooks.batch import SQLITE_BUDGET
from webhooks.batch import budget_for
from webhooks.batch import process_batch
from webhooks.processing import Outcome
from webhooks.processing import describe_error

logger = logging.getLogger(__name__)

BATCH_SIZE = 200
FIRST_CLAIM = 20
REST_ON_SQLITE = SQLITE_BUDGET
"""The embedded worker's pause between batches on SQLite, for acknowledgements to write."""
"""The most deliveries one claim takes; the time budget usually takes fewer (`next_claim_size`)."""
_EXTENSION_KEY = "webhook_worker"
_start_lock = threading.Lock()


@dataclass
class DrainReport:
    """How many deliveries one drain finished with each outcome."""

    counts: dict[Outcome, int] = field(default_factory=lambda: dict.fromkeys(Outcome, 0))
    stopped: bool = False
    """Whether *should_stop* ended the drain, perhaps with due deliveries left."""

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
    budget: timedelta | None = None,
    lease: timedelta = inbox.CLAIM_LEASE,
    shop_domain: str | None = None,
    rest: timedelta = timedelta(0),
) -> DrainReport:
    """Process due deliveries (only *shop_domain*'s when given) until none is left or, asked
    after each batch so that every drain makes progress, *should_stop*; *now* fixes the clock
    (tests step through it). *rest* is a pause after each batch that leaves the database to
    other writers (the embedded worker's, on SQLite: see `BackgroundWorker`)."""
    report = DrainReport()
    budget = budget if budget is not None else budget_for(database)
    claim_size = min(batch_size, FIRST_CLAIM)
    while True:
        current = now or utcnow()
        with database.session_scope() as session:
            claims = inbox.claim_due(
                session, now=current, limit=claim_size, lease=lease, shop_domain=shop_domain
            )
        if not claims:
            break
        started = time.monotonic()
        outcomes = process_batch(database, claims=claims, now=current, policy=policy, budget=budget)
        claim_size = next_claim_size(
            len(claims),
            seconds=time.monotonic() - started,
            budget=budget.total_seconds(),
            most=batch_size,
        )
        for outcome in outcomes:
            report.add(outcome)
        if should_stop():
            report.stopped = True
            break
        if rest:
            time.sleep(rest.total_seconds())
    return report


def next_claim_size(taken: int, *, seconds: float, budget: float, most: int) -> int:
    """Size the next claim so that processing it takes about *budget*, as the last one went.

    A claim's order deliveries are written as one set, so the time budget is kept by claiming
    fewer, not by cutting a set short. The size moves by at most half or double per batch: one
    slow batch (a cold cache, a wait for a lock) must not shrink the claims to single
    deliveries, whose fixed cost per batch would then dominate.
    """
    if seconds <= 0:
        return most
    fitting = int(taken * budget / seconds)
    return max(1, min(most, taken * 2, max(fitting, taken // 2)))


class BackgroundWorker:
    """Drain the inbox continuously in a daemon thread of the web process.

    On SQLite the worker shares the database's one write lock with the acknowledgements of the
    same file, so it gives way in two ways: only one web process's worker drains a database file
    at a time (`sqlite_locks.DrainerLock`; the others take over if it exits), and it rests
    after each batch as long as a batch may take (`REST_ON_SQLITE`), so acknowledgements queued
    on the lock get it between batches.
    """

    def __init__(
        self, database: Database, *, poll_interval: float = 2.0, batch_size: int = BATCH_SIZE
    ) -> None:
        self.database = database
        self.poll_interval = poll_interval
        self.batch_size = batch_size
        path = database.sqlite_path
        self._drainer = DrainerLock(path) if path is not None else None
        self._rest = REST_ON_SQLITE if database.is_sqlite else timedelta(0)
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
        try:
            while not self._stopping.is_set():
                self._wake.clear()
                if self._drainer is None or self._drainer.acquire():
                    self._drain_once()
                self._wake.wait(self.poll_interval)
        finally:
            if self._drainer is not None:
                self._drainer.release()

    def _drain_once(self) -> None:
        try:
            drain(
                self.database,
                batch_size=self.batch_size,
                should_stop=self._stopping.is_set,
                rest=self._rest,
            )
        except Exception as exc:  # noqa: BLE001 - the loop outlives a database outage
            logger.error("Webhook worker pass failed: %s", describe_error(exc))


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
