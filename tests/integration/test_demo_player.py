"""The demo player delivers like Shopify: signed, retried, duplicated, to a server on 127.0.0.1."""

from __future__ import annotations

import itertools
import json
import socket
import threading
import time
from collections import Counter
from collections import defaultdict
from collections.abc import Callable
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask import request
from flask.testing import FlaskCliRunner
from sqlalchemy import func
from sqlalchemy import select
from werkzeug.serving import make_server

from shopify_app.db import Database
from shopify_app.demo import DEMO_SHOP_DOMAIN
from shopify_app.demo.clock import SimulatedClock
from shopify_app.demo.deliveries import DeliveryOptions
from shopify_app.demo.deliveries import WebhookTarget
from shopify_app.demo.generator import DemoEvent
from shopify_app.demo.generator import ShopSimulation
from shopify_app.demo.generator import history
from shopify_app.demo.generator import read_events
from shopify_app.demo.player import DemoStore
from shopify_app.demo.player import deliver
from shopify_app.gateway import API_VERSION
from shopify_app.gateway.signatures import is_valid_webhook_hmac
from shopify_app.models import WebhookDelivery
from tests.support.shopify import API_SECRET
from webhooks import worker

NOW = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)
# Generous timeouts: on a busy CI machine a slow answer must not turn into an extra retry.
FAST = DeliveryOptions(
    senders=3, duplicate_share=0.15, backoff_seconds=0.01, connect_timeout=10, read_timeout=30
)
only_sqlite = pytest.mark.parametrize("database_backend", ["sqlite"], indirect=True)


@contextmanager
def serving(app: Flask) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join()
        server.server_close()


class Receiver:
    """A stand-in app: checks the HMAC, refuses the first try of every 10th webhook with a 503."""

    def __init__(self, secret: str = API_SECRET) -> None:
        self.secret = secret
        self.lock = threading.Lock()
        self.first_seen: list[str] = []
        self.first_bodies: list[bytes] = []
        self.refused = 0
        self.acknowledged: Counter[str] = Counter()
        self.bodies: dict[str, set[bytes]] = defaultdict(set)
        self.headers: dict[str, dict[str, str]] = {}

    def app(self) -> Flask:
        app = Flask("receiver")

        @app.post("/webhooks")
        def receive() -> tuple[str, int]:
            body = request.get_data()
            if not is_valid_webhook_hmac(
                body, request.headers.get("X-Shopify-Hmac-Sha256", ""), [self.secret]
            ):
                return "", 401
            webhook_id = request.headers["X-Shopify-Webhook-Id"]
            with self.lock:
                if webhook_id not in self.headers:
                    self.headers[webhook_id] = dict(request.headers)
                    self.first_seen.append(webhook_id)
                    self.first_bodies.append(body)
                    if len(self.first_seen) % 10 == 0:
                        self.refused += 1
                        return "", 503
                self.acknowledged[webhook_id] += 1
                self.bodies[webhook_id].add(body)
            return "", 200

        return app

    def wait_for(self, condition: Callable[[], bool]) -> None:
        deadline = time.monotonic() + 60
        while not condition() and time.monotonic() < deadline:
            time.sleep(0.05)


def _events(*, customers: int = 10, days: int = 60, seed: int = 3) -> list[DemoEvent]:
    return list(history(ShopSimulation(seed=seed, customers=customers, now=NOW, history_days=days)))


def test_player_signs_retries_and_duplicates_deliveries_like_shopify() -> None:
    events = _events()[:80]
    receiver = Receiver()

    with serving(receiver.app()) as url:
        summary = deliver(events, target=WebhookTarget(url, API_SECRET), options=FAST)

    assert summary.failed == 0
    assert summary.events == summary.delivered == len(events) == len(receiver.headers)
    assert summary.retries == receiver.refused >= len(events) // 10
    assert summary.duplicates_sent > 0
    assert sum(receiver.acknowledged.values()) == len(events) + summary.duplicates_sent
    assert all(len(bodies) == 1 for bodies in receiver.bodies.values())
    topics = Counter(headers["X-Shopify-Topic"] for headers in receiver.headers.values())
    assert topics == Counter(event.topic for event in events)
    for headers in receiver.headers.values():
        assert headers["X-Shopify-Shop-Domain"] == DEMO_SHOP_DOMAIN
        assert headers["X-Shopify-Api-Version"] == API_VERSION
        assert headers["X-Shopify-Event-Id"]
        triggered = datetime.fromisoformat(headers["X-Shopify-Triggered-At"])
        assert NOW - timedelta(days=60) <= triggered <= NOW


def test_duplicate_deliveries_repeat_the_webhook_id_event_id_and_body() -> None:
    events = _events()[:60]
    receiver = Receiver()
    options = replace(FAST, senders=2, duplicate_share=0.5)

    with serving(receiver.app()) as url:
        summary = deliver(events, target=WebhookTarget(url, API_SECRET), options=options)

    repeated = [webhook_id for webhook_id, n in receiver.acknowledged.items() if n > 1]
    assert len(repeated) == summary.duplicates_sent > 10
    assert all(len(receiver.bodies[webhook_id]) == 1 for webhook_id in repeated)


def test_replaying_a_stream_repeats_its_webhook_ids_and_other_content_gets_new_ones() -> None:
    first, again, other = Receiver(), Receiver(), Receiver()
    options = replace(FAST, duplicate_share=0.0)

    for receiver, seed in ((first, 3), (again, 3), (other, 4)):
        with serving(receiver.app()) as url:
            deliver(_events(seed=seed)[:30], target=WebhookTarget(url, API_SECRET), options=options)

    assert set(again.headers) == set(first.headers)
    shared = set(other.headers) & set(first.headers)  # e.g. the same shop/update in both
    assert len(shared) < len(first.headers) // 2
    assert all(other.bodies[webhook_id] == first.bodies[webhook_id] for webhook_id in shared)


def _arrival_order(receiver: Receiver, events: list[DemoEvent]) -> list[int]:
    payloads = [event.payload for event in events]
    return [payloads.index(json.loads(body)) for body in receiver.first_bodies]


def test_one_sender_without_shuffling_delivers_in_stream_order() -> None:
    events = _events()[:40]
    receiver = Receiver()
    options = replace(FAST, senders=1, duplicate_share=0.0, out_of_order_share=0.0)

    with serving(receiver.app()) as url:
        deliver(events, target=WebhookTarget(url, API_SECRET), options=options)

    assert _arrival_order(receiver, events) == list(range(len(events)))


def test_deliveries_overtake_each_other_only_within_a_small_window() -> None:
    events = _events()[:60]
    receiver = Receiver()
    options = replace(FAST, senders=1, duplicate_share=0.0, out_of_order_share=0.3)

    with serving(receiver.app()) as url:
        deliver(events, target=WebhookTarget(url, API_SECRET), options=options)

    order = _arrival_order(receiver, events)
    assert sorted(order) == list(range(len(events)))
    assert order != list(range(len(events)))
    window = options.shuffle_window
    assert all(abs(position - index) < window for position, index in enumerate(order))


def test_player_does_not_retry_a_refusal_for_a_wrong_secret_and_reports_it() -> None:
    events = _events()[:5]
    receiver = Receiver(secret="another-secret")

    with serving(receiver.app()) as url:
        summary = deliver(events, target=WebhookTarget(url, API_SECRET), options=FAST)

    assert summary.delivered == 0
    assert summary.failed == 5
    assert summary.retries == 0
    assert all(failure.endswith("HTTP 401") for failure in summary.failures)


def test_player_gives_up_after_a_bounded_number_of_connection_failures() -> None:
    options = DeliveryOptions(senders=1, max_attempts=3, backoff_seconds=0.0)
    with socket.socket() as bound_not_listening:  # every connection to it is refused
        bound_not_listening.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{bound_not_listening.getsockname()[1]}"

        summary = deliver(_events()[:2], target=WebhookTarget(url, API_SECRET), options=options)

    assert summary.failed == 2
    assert summary.retries == 4
    assert all("ConnectionError" in failure for failure in summary.failures)


def test_live_mode_sends_later_events_when_the_simulated_clock_reaches_them_and_stops() -> None:
    receiver = Receiver()
    stop = threading.Event()
    with serving(receiver.app()) as url:
        store = DemoStore(
            target=WebhookTarget(url, API_SECRET),
            now=NOW,
            seed=4,
            customers=5,
            history_days=20,
            speed=7 * 86400,
            options=replace(FAST, senders=2, duplicate_share=0.0),
        )
        results = []
        live = threading.Thread(target=lambda: results.append(store.play_live(stop=stop)))
        live.start()
        receiver.wait_for(lambda: len(receiver.acknowledged) >= 20)
        stop.set()
        live.join()
        clock_at_stop = store.clock.now()

    (summary,) = results
    triggered = [
        datetime.fromisoformat(headers["X-Shopify-Triggered-At"])
        for headers in receiver.headers.values()
    ]
    assert summary.delivered >= 20
    assert min(triggered) > NOW
    assert max(triggered) <= clock_at_stop


def test_simulated_clock_stands_still_until_started_then_runs_at_its_speed() -> None:
    ticks = itertools.count(100.0, 2.0)
    clock = SimulatedClock(NOW, speed=3600, monotonic=lambda: next(ticks))

    assert clock.now() == NOW
    clock.start()  # real time 100
    assert clock.now() == NOW + timedelta(hours=2)  # real time 102


def test_simulated_clock_wait_returns_false_once_stopped() -> None:
    stop = threading.Event()
    stop.set()

    assert SimulatedClock(NOW).wait_until(NOW + timedelta(days=1), stop) is False


@only_sqlite
def test_real_webhook_endpoint_acknowledges_stores_once_and_processes_every_delivery(
    app: Flask, make_shop: Callable[..., object], database: Database
) -> None:
    make_shop(DEMO_SHOP_DOMAIN)
    events = _events(customers=12, days=90, seed=5)

    with serving(app) as url:
        summary = deliver(events, target=WebhookTarget(url, API_SECRET), options=FAST)

    assert summary.failed == 0
    assert summary.delivered == len(events)
    assert summary.duplicates_sent > 0
    with database.session_scope() as session:
        stored = session.scalar(select(func.count()).select_from(WebhookDelivery))
    assert stored == len(events)

    # Deliveries that overtook the one they depend on fail once and are retried later.
    first = worker.drain(database)
    retried = worker.drain(database, now=datetime.now(UTC) + timedelta(days=1))
    assert first[worker.Outcome.DONE] + retried[worker.Outcome.DONE] == len(events)


@only_sqlite
def test_demo_generate_command_writes_the_same_jsonl_for_the_same_seed(
    runner: FlaskCliRunner, tmp_path: Path
) -> None:
    def generate(name: str) -> Path:
        out = tmp_path / name
        result = runner.invoke(
            args=[
                "demo",
                "generate",
                "--seed",
                "7",
                "--customers",
                "8",
                "--days",
                "30",
                "--now",
                NOW.isoformat(),
                "--out",
                str(out),
            ]
        )
        assert result.exit_code == 0, result.output
        return out

    first, second = generate("a.jsonl"), generate("b.jsonl")

    assert first.read_bytes() == second.read_bytes()
    with first.open(encoding="utf-8") as stream:
        events = list(read_events(stream))
    assert events == _events(customers=8, days=30, seed=7)


@only_sqlite
def test_demo_play_command_delivers_the_history_with_the_apps_secret(
    runner: FlaskCliRunner,
) -> None:
    receiver = Receiver()

    with serving(receiver.app()) as url:
        result = runner.invoke(
            args=[
                "demo",
                "play",
                "--url",
                url,
                "--customers",
                "4",
                "--days",
                "20",
                "--now",
                NOW.isoformat(),
                "--duplicates",
                "0",
            ]
        )

    assert result.exit_code == 0, result.output
    assert f"{len(receiver.headers)} of {len(receiver.headers)} events delivered" in result.output
    assert len(receiver.headers) == len(_events(customers=4, days=20, seed=7))
