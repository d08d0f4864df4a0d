"""Deliver a demo stream to a running app as Shopify does: signed, at least once, about in order.

History is sent as fast as the app acknowledges it (or, in process, imported as a backfill is:
`shopify_app.demo.history_import`); live mode then waits for each event's moment
on a `SimulatedClock` that runs faster than real time (one simulated hour per second by default),
so scheduled jobs run against `clock.now()` see abandoned checkouts and due reorders appear.

Like Shopify, the player signs the raw body with the app secret, retries server errors and
connection failures with backoff (a bounded number of times), never retries a 4xx, sends a share of
deliveries twice with the same webhook id, and lets deliveries overtake each other a little.
"""

from __future__ import annotations

import logging
import queue
import random
import threading
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from typing import Literal

import requests
from sqlalchemy.orm import Session
from sqlalchemy.orm import sessionmaker

from shopify_app.demo.clock import SimulatedClock
from shopify_app.demo.deliveries import MAX_FAILURES_KEPT
from shopify_app.demo.deliveries import Delivery
from shopify_app.demo.deliveries import DeliveryOptions
from shopify_app.demo.deliveries import DeliverySummary
from shopify_app.demo.deliveries import ProgressCallback
from shopify_app.demo.deliveries import WebhookTarget
from shopify_app.demo.generator import DemoEvent
from shopify_app.demo.generator import ShopSimulation
from shopify_app.demo.history_import import ChunkCallback
from shopify_app.demo.history_import import import_history

logger = logging.getLogger(__name__)

_USER_AGENT = "Shopify-Captain-Hook"


class _SenderPool:
    """The worker side: a few threads, each with its own session, posting from one queue."""

    def __init__(
        self,
        target: WebhookTarget,
        options: DeliveryOptions,
        stop: threading.Event,
        on_progress: ProgressCallback | None,
        session_factory: Callable[[], requests.Session],
    ) -> None:
        self.target = target
        self.options = options
        self.stop = stop
        self.on_progress = on_progress
        self.session_factory = session_factory
        self.summary = DeliverySummary()
        self.lock = threading.Lock()
        self.queue: queue.Queue[Delivery | None] = queue.Queue(maxsize=options.senders * 8)
        self.threads = [
            threading.Thread(target=self._work, name=f"demo-sender-{n}", daemon=True)
            for n in range(options.senders)
        ]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def put(self, delivery: Delivery) -> bool:
        """Queue *delivery*, waiting while the senders are busy; return False once stopped."""
        while not self.stop.is_set():
            try:
                self.queue.put(delivery, timeout=0.2)
            except queue.Full:
                continue
            return True
        return False

    def count(self, counter: Literal["events", "duplicates_sent", "retries"]) -> None:
        """Add one to *counter* of the run's summary."""
        with self.lock:
            setattr(self.summary, counter, getattr(self.summary, counter) + 1)

    def finish(self) -> DeliverySummary:
        """Let the senders finish what is queued, then return the run's summary."""
        for _ in self.threads:
            self.queue.put(None)
        for thread in self.threads:
            thread.join()
        return self.summary

    def _work(self) -> None:
        # requests.Session is not documented as thread-safe, so each sender keeps its own.
        with self.session_factory() as session:
            session.headers["User-Agent"] = _USER_AGENT
            while True:
                delivery = self.queue.get()
                if delivery is None:
                    return
                if self.stop.is_set():
                    continue
                try:
                    self._deliver(session, delivery)
                except Exception as exc:
                    # A sender that died would leave the queue unserved and the run hanging.
                    logger.exception("Demo sender crashed on a %s delivery", delivery.topic)
                    self._record(delivery, ok=False, problem=type(exc).__name__)

    def _deliver(self, session: requests.Session, delivery: Delivery) -> None:
        options = self.options
        headers = delivery.headers(self.target)
        problem = ""
        for attempt in range(1, options.max_attempts + 1):
            try:
                response = session.post(
                    self.target.url,
                    data=delivery.body,
                    headers=headers,
                    timeout=(options.connect_timeout, options.read_timeout),
                    allow_redirects=False,
                )
            except requests.RequestException as exc:
                problem = f"{type(exc).__name__}"
            else:
                status = response.status_code
                response.close()
                if 200 <= status < 300:
                    self._record(delivery, ok=True)
                    return
                problem = f"HTTP {status}"
                if status < 500 and status != 429:
                    break
            if attempt == options.max_attempts:
                break
            self.count("retries")
            pause = min(options.backoff_seconds * 2 ** (attempt - 1), options.max_backoff_seconds)
            if self.stop.wait(pause):
                return
        self._record(delivery, ok=False, problem=problem)

    def _record(self, delivery: Delivery, *, ok: bool, problem: str = "") -> None:
        with self.lock:
            summary = self.summary
            if delivery.is_duplicate:
                return
            if ok:
                summary.delivered += 1
            else:
                summary.failed += 1
                if len(summary.failures) < MAX_FAILURES_KEPT:
                    summary.failures.append(f"{delivery.topic} {delivery.webhook_id}: {problem}")
            if self.on_progress is not None:
                try:
                    self.on_progress(delivery)
                except Exception:
                    logger.exception("The demo progress callback failed")
        if not ok:
            logger.warning("Demo delivery of %s failed: %s", delivery.topic, problem)


class _ShuffleWindow:
    """The next few deliveries: they go out a little shuffled, and duplicates one window late."""

    def __init__(self, senders: _SenderPool, options: DeliveryOptions, rng: random.Random) -> None:
        self._senders = senders
        self._options = options
        self._rng = rng
        self._window: list[Delivery] = []
        self._new_duplicates: list[Delivery] = []
        self._due_duplicates: list[Delivery] = []

    def add(self, delivery: Delivery) -> bool:
        """Add *delivery*, sending the window once it is full; return False once stopped."""
        self._senders.count("events")
        self._window.append(delivery)
        if self._rng.random() < self._options.duplicate_share:
            self._new_duplicates.append(replace(delivery, is_duplicate=True))
        return len(self._window) < self._options.shuffle_window or self.flush()

    def flush(self) -> bool:
        """Send the window and the duplicates due; return False once stopped."""
        window = self._window
        # Small local shuffles: a delivery may swap places with a neighbour in its window.
        for index in range(len(window)):
            if self._rng.random() < self._options.out_of_order_share:
                other = self._rng.randrange(len(window))
                window[index], window[other] = window[other], window[index]
        # Duplicates go out one flush after their original, as a redelivery would.
        batch = window + self._due_duplicates
        self._due_duplicates = self._new_duplicates
        self._new_duplicates = []
        self._window = []
        for delivery in batch:
            if not self._senders.put(delivery):
                return False
            if delivery.is_duplicate:
                self._senders.count("duplicates_sent")
        return True


def deliver(
    events: Iterable[DemoEvent],
    *,
    target: WebhookTarget,
    options: DeliveryOptions | None = None,
    clock: SimulatedClock | None = None,
    stop: threading.Event | None = None,
    on_progress: ProgressCallback | None = None,
    session_factory: Callable[[], requests.Session] = requests.Session,
) -> DeliverySummary:
    """Send *events* to *target* and return what happened once all sends have finished.

    Without a *clock* events go out as fast as the app acknowledges them; with one, each event
    waits until the simulated clock reaches its `occurred_at`. Setting *stop* ends the run early
    and cleanly: nothing new is sent, and the senders are joined before this returns.
    """
    options = options or DeliveryOptions()
    stop = stop or threading.Event()
    senders = _SenderPool(target, options, stop, on_progress, session_factory)
    senders.start()
    window = _ShuffleWindow(senders, options, random.Random(f"{options.seed}-player"))
    try:
        _play(events, window, clock=clock, stop=stop)
    finally:
        summary = senders.finish()
    return summary


def _play(
    events: Iterable[DemoEvent],
    window: _ShuffleWindow,
    *,
    clock: SimulatedClock | None,
    stop: threading.Event,
) -> None:
    """Pass *events* through *window*, each at its moment on *clock* if there is one."""
    for position, event in enumerate(events):
        if stop.is_set() or not _wait_until_due(event, window, clock=clock, stop=stop):
            return
        if not window.add(Delivery.of_event(position, event)):
            return
    if window.flush():
        window.flush()


def _wait_until_due(
    event: DemoEvent,
    window: _ShuffleWindow,
    *,
    clock: SimulatedClock | None,
    stop: threading.Event,
) -> bool:
    """Wait for *event*'s moment on *clock*; return False if *stop* was set meanwhile."""
    if clock is None or event.occurred_at <= clock.now():
        return True
    # Nothing that is due may wait behind an event from the future.
    return window.flush() and clock.wait_until(event.occurred_at, stop)


class DemoStore:
    """The demo shop and its player: history up to *now* first, then live on `clock`.

    The lead process keeps one instance: `import_history()` (or `play_history()` against an app
    elsewhere) once, then `play_live(stop=...)` in a thread, while the scheduler runs jobs at
    `clock.now()`.
    """

    def __init__(
        self,
        *,
        target: WebhookTarget,
        now: datetime,
        seed: int = 7,
        customers: int = 5000,
        history_days: int = 730,
        speed: float = 3600.0,
        options: DeliveryOptions | None = None,
    ) -> None:
        self.target = target
        self.options = options or DeliveryOptions(seed=seed)
        self.simulation = ShopSimulation(
            seed=seed, customers=customers, now=now, history_days=history_days
        )
        self.clock = SimulatedClock(self.simulation.now, speed=speed)
        self._events = iter(self.simulation)
        self._first_future: DemoEvent | None = None
        self._history_done = False

    def history(self) -> Iterator[DemoEvent]:
        """Yield the events up to `now`, keeping the first later one for live mode."""
        if self._history_done:
            return
        for event in self._events:
            if event.occurred_at > self.simulation.now:
                self._first_future = event
                break
            yield event
        self._history_done = True

    def future(self) -> Iterator[DemoEvent]:
        """Yield the events after `now`, forever."""
        if not self._history_done:
            for _ in self.history():
                pass
        if self._first_future is not None:
            event, self._first_future = self._first_future, None
            yield event
        yield from self._events

    def play_history(
        self,
        *,
        stop: threading.Event | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> DeliverySummary:
        """Deliver the history as fast as the app accepts it."""
        return deliver(
            self.history(),
            target=self.target,
            options=self.options,
            stop=stop,
            on_progress=on_progress,
        )

    def import_history(
        self,
        session_factory: sessionmaker[Session],
        *,
        shop_id: int,
        on_chunk: ChunkCallback | None = None,
    ) -> DeliverySummary:
        """Store the history up to `now` in the app's database, as a backfill imports a shop's.

        The in-process way for `make run`; `play_history` posts the same events to an app's URL.
        """
        return import_history(
            session_factory,
            shop_id=shop_id,
            events=self.history(),
            now=self.simulation.now,
            on_chunk=on_chunk,
        )

    def play_live(
        self, *, stop: threading.Event, on_progress: ProgressCallback | None = None
    ) -> DeliverySummary:
        """Start the simulated clock and deliver each later event when its moment comes."""
        self.clock.start()
        return deliver(
            self.future(),
            target=self.target,
            options=self.options,
            clock=self.clock,
            stop=stop,
            on_progress=on_progress,
        )
