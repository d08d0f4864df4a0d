"""Deliver a demo stream to a running app as Shopify does: signed, at least once, about in order.

History is sent as fast as the app acknowledges it; live mode then waits for each event's moment
on a `SimulatedClock` that runs faster than real time (one simulated hour per second by default),
so scheduled jobs run against `clock.now()` see abandoned checkouts and due reorders appear.

Like Shopify, the player signs the raw body with the app secret, retries server errors and
connection failures with backoff (a bounded number of times), never retries a 4xx, sends a share of
deliveries twice with the same webhook id, and lets deliveries overtake each other a little.
"""

from __future__ import annotations

import hashlib
import json
import logging
import queue
import random
import threading
import time
import uuid
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field
from dataclasses import replace
from datetime import UTC
from datetime import datetime
from datetime import timedelta

import requests

from shopify_app.demo import DEMO_SHOP_DOMAIN
from shopify_app.demo.generator import DemoEvent
from shopify_app.demo.generator import ShopSimulation
from shopify_app.gateway import API_VERSION
from shopify_app.gateway.signatures import sign_webhook

logger = logging.getLogger(__name__)

_MAX_FAILURES_KEPT = 20
_USER_AGENT = "Shopify-Captain-Hook"


@dataclass(frozen=True)
class WebhookTarget:
    """Where and as whom to deliver: the app's base URL, its API secret and the shop."""

    base_url: str
    api_secret: str
    shop_domain: str = DEMO_SHOP_DOMAIN
    api_version: str = API_VERSION

    @property
    def url(self) -> str:
        return self.base_url.rstrip("/") + "/webhooks"


@dataclass(frozen=True)
class DeliveryOptions:
    """How Shopify-like the delivery is; the defaults are mild enough for a laptop."""

    senders: int = 4
    duplicate_share: float = 0.02
    out_of_order_share: float = 0.05
    shuffle_window: int = 8
    max_attempts: int = 5
    backoff_seconds: float = 0.1
    max_backoff_seconds: float = 2.0
    connect_timeout: float = 1.0
    read_timeout: float = 5.0
    seed: int = 7

    def __post_init__(self) -> None:
        if self.senders < 1:
            raise ValueError("senders must be at least 1")
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        for name in ("duplicate_share", "out_of_order_share"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1")


@dataclass(frozen=True)
class Delivery:
    """One POST as Shopify would make it; a duplicate repeats the original's ids and body."""

    topic: str
    body: bytes
    webhook_id: str
    event_id: str
    triggered_at: datetime
    is_duplicate: bool = False

    def headers(self, target: WebhookTarget) -> dict[str, str]:
        triggered = self.triggered_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        return {
            "Content-Type": "application/json",
            "X-Shopify-Topic": self.topic,
            "X-Shopify-Hmac-Sha256": sign_webhook(self.body, target.api_secret),
            "X-Shopify-Shop-Domain": target.shop_domain,
            "X-Shopify-API-Version": target.api_version,
            "X-Shopify-Webhook-Id": self.webhook_id,
            "X-Shopify-Event-Id": self.event_id,
            "X-Shopify-Triggered-At": triggered,
        }


@dataclass
class DeliverySummary:
    """What a run did: unique events sent and acknowledged, extra copies, retries and failures."""

    events: int = 0
    delivered: int = 0
    duplicates_sent: int = 0
    retries: int = 0
    failed: int = 0
    failures: list[str] = field(default_factory=list)

    def merge(self, other: DeliverySummary) -> DeliverySummary:
        """Return the sum of two runs (history then live)."""
        return DeliverySummary(
            events=self.events + other.events,
            delivered=self.delivered + other.delivered,
            duplicates_sent=self.duplicates_sent + other.duplicates_sent,
            retries=self.retries + other.retries,
            failed=self.failed + other.failed,
            failures=(self.failures + other.failures)[:_MAX_FAILURES_KEPT],
        )


ProgressCallback = Callable[[Delivery], None]


class SimulatedClock:
    """A clock that stands at *start* until started, then runs *speed* times faster than real time.

    Thread-safe: the player waits on it while the scheduler reads `now()` from other threads.
    """

    def __init__(
        self,
        start: datetime,
        *,
        speed: float = 3600.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if start.tzinfo is None:
            raise ValueError("start must be an aware datetime")
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.start_at = start.astimezone(UTC)
        self.speed = speed
        self._monotonic = monotonic
        self._started_real: float | None = None
        self._lock = threading.Lock()

    @property
    def is_running(self) -> bool:
        return self._started_real is not None

    def start(self) -> None:
        """Start the clock from its start time; starting a running clock changes nothing."""
        with self._lock:
            if self._started_real is None:
                self._started_real = self._monotonic()

    def now(self) -> datetime:
        """Return the simulated time (aware UTC)."""
        started = self._started_real
        if started is None:
            return self.start_at
        elapsed = (self._monotonic() - started) * self.speed
        return self.start_at + timedelta(seconds=elapsed)

    def wait_until(self, moment: datetime, stop: threading.Event) -> bool:
        """Block until the simulated clock reaches *moment*; return False if *stop* was set."""
        self.start()
        while not stop.is_set():
            remaining = (moment - self.now()).total_seconds() / self.speed
            if remaining <= 0:
                return True
            stop.wait(min(remaining, 0.5))
        return False


_ID_NAMESPACE = uuid.UUID("6c0b5f0e-3a51-4f0b-9d1e-2f6a7f7d0c11")


def _delivery_ids(position: int, topic: str, body: bytes) -> tuple[str, str]:
    """Return (webhook id, event id), the same whenever the same stream is played again.

    Replaying a stream therefore repeats its webhook ids and the app keeps each delivery once,
    while a stream generated for another `now` or seed gets ids of its own.
    """
    digest = hashlib.sha256(body).hexdigest()
    webhook_id = uuid.uuid5(_ID_NAMESPACE, f"{position}:{topic}:{digest}")
    return str(webhook_id), str(uuid.uuid5(webhook_id, "event"))


def _body(payload: dict[str, object]) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


class _Sender:
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

    def finish(self) -> DeliverySummary:
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
            with self.lock:
                self.summary.retries += 1
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
                if len(summary.failures) < _MAX_FAILURES_KEPT:
                    summary.failures.append(f"{delivery.topic} {delivery.webhook_id}: {problem}")
            if self.on_progress is not None:
                try:
                    self.on_progress(delivery)
                except Exception:
                    logger.exception("The demo progress callback failed")
        if not ok:
            logger.warning("Demo delivery of %s failed: %s", delivery.topic, problem)


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
    rng = random.Random(f"{options.seed}-player")
    sender = _Sender(target, options, stop, on_progress, session_factory)
    sender.start()
    window: list[Delivery] = []
    new_duplicates: list[Delivery] = []
    due_duplicates: list[Delivery] = []

    def flush() -> bool:
        # Small local shuffles: a delivery may swap places with a neighbour in its window.
        for index in range(len(window)):
            if rng.random() < options.out_of_order_share:
                other = rng.randrange(len(window))
                window[index], window[other] = window[other], window[index]
        # Duplicates go out one flush after their original, as a redelivery would.
        batch = window + due_duplicates
        due_duplicates[:] = new_duplicates
        new_duplicates.clear()
        window.clear()
        for delivery in batch:
            if not sender.put(delivery):
                return False
            if delivery.is_duplicate:
                with sender.lock:
                    sender.summary.duplicates_sent += 1
        return True

    try:
        for position, event in enumerate(events):
            if stop.is_set():
                break
            if clock is not None and event.occurred_at > clock.now():
                # Nothing that is due may wait behind an event from the future.
                if not flush():
                    break
                if not clock.wait_until(event.occurred_at, stop):
                    break
            body = _body(event.payload)
            webhook_id, event_id = _delivery_ids(position, event.topic, body)
            delivery = Delivery(
                topic=event.topic,
                body=body,
                webhook_id=webhook_id,
                event_id=event_id,
                triggered_at=event.occurred_at,
            )
            with sender.lock:
                sender.summary.events += 1
            window.append(delivery)
            if rng.random() < options.duplicate_share:
                new_duplicates.append(replace(delivery, is_duplicate=True))
            if len(window) >= options.shuffle_window and not flush():
                break
        else:
            if flush():
                flush()
    finally:
        summary = sender.finish()
    return summary


class DemoStore:
    """The demo shop and its player: history up to *now* first, then live on `clock`.

    The lead process keeps one instance: `play_history()` once, then `play_live(stop=...)` in a
    thread, while the scheduler runs jobs at `clock.now()`.
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
