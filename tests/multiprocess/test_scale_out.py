"""Several web and worker processes on PostgreSQL and Redis keep the single-process guarantees.

Two gunicorn web processes (the repo's gunicorn.conf.py) and three `flask worker` processes take a
bounded load of signed order webhooks: every acknowledged webhook is processed exactly once, the
three workers draining one shop's interleaved order versions at once end in the newest versions
with nothing failed, no message is sent twice, a worker killed with SIGKILL mid-batch loses and
duplicates nothing, and a Redis restart mid-run loses nothing (the sweeper re-enqueues from the
database). The sweeper is run from the test process here, as the scheduler would run the
`queue.sweep` job.

Under CI=true these tests fail, not skip, when PostgreSQL or Redis is unreachable.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from dataclasses import field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
import requests
from flask import Flask
from sqlalchemy import func
from sqlalchemy import select

from jobs import tasks
from shopify_app import create_app
from shopify_app.db import Database
from shopify_app.db import get_database
from shopify_app.messaging.flows import abandoned_checkout
from shopify_app.models import DeliveryStatus
from shopify_app.models import Message
from shopify_app.models import MessageStatus
from shopify_app.models import Order
from shopify_app.models import Shop
from shopify_app.models import WebhookDelivery
from shopify_app.models import utcnow
from tests.support import database as test_db
from tests.support import flows
from tests.support.mail import SmtpSink
from tests.support.mail import free_port
from tests.support.mail import running_sink
from tests.support.orders import order_version
from tests.support.orders import unique_order
from tests.support.orders import version_name
from tests.support.redis_server import PrivateRedis
from tests.support.redis_server import emptied_redis
from tests.support.redis_server import start_private_redis
from tests.support.settings import TEST_SETTINGS
from tests.support.shopify import json_body
from tests.support.shopify import webhook_headers

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

REPO_ROOT = Path(__file__).resolve().parents[2]
SHOP = "alpha.myshopify.com"
BOOT_DEADLINE = 180.0  # seconds for a process to start on a loaded machine
SETTLE_DEADLINE = 120.0  # seconds for the workers to finish a bounded load


@dataclass
class Processes:
    """Subprocesses of one test; each is ended by its own pid when the test is over.

    Output goes to a log file per process: a pipe nobody reads fills up and blocks the process.
    """

    running: list[subprocess.Popen[bytes]] = field(default_factory=list)
    logs: dict[int, Path] = field(default_factory=dict)

    def start(self, command: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        log = Path(tempfile.mkstemp(prefix="scale-out-", suffix=".log")[1])
        with log.open("wb") as output:
            process = subprocess.Popen(
                command, cwd=REPO_ROOT, env=env, stdout=output, stderr=subprocess.STDOUT
            )
        self.running.append(process)
        self.logs[process.pid] = log
        return process

    def output_of(self, process: subprocess.Popen[bytes]) -> str:
        return self.logs[process.pid].read_text(errors="replace")[-3000:]

    def stop_all(self) -> None:
        for process in self.running:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.running:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
        for log in self.logs.values():
            log.unlink(missing_ok=True)
        self.logs.clear()
        self.running.clear()


@pytest.fixture(scope="module")
def postgres_url(postgres_database: str) -> str:
    return postgres_database


@pytest.fixture
def database(postgres_url: str) -> Iterator[Database]:
    database = Database(postgres_url)
    test_db.truncate_postgres(database.engine)
    yield database
    database.dispose()


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpSink]:
    """One SMTP server for the module: the processes of `cluster` outlive a single test."""
    with running_sink() as sink:
        yield sink


@pytest.fixture(scope="module")
def shared_redis() -> Iterator[str]:
    with emptied_redis() as url:
        yield url


@pytest.fixture
def processes() -> Iterator[Processes]:
    started = Processes()
    yield started
    started.stop_all()


@dataclass
class Cluster:
    web: list[str]
    workers: list[subprocess.Popen[bytes]]
    env: dict[str, str]
    processes: Processes


@pytest.fixture(scope="module")
def cluster(postgres_url: str, shared_redis: str, smtp: SmtpSink) -> Iterator[Cluster]:
    """Two gunicorn web processes and three queue workers, shared by the tests of this module."""
    started = Processes()
    env = process_env(postgres_url, shared_redis, smtp.url)
    try:
        web = [start_web(started, env), start_web(started, env)]
        workers = [start_worker(started, env) for _ in range(3)]
        wait_ready(web, started)
        yield Cluster(web=web, workers=workers, env=env, processes=started)
    finally:
        started.stop_all()


@pytest.fixture
def shop(make_shop: Callable[..., Shop], make_app: Callable[[str], Flask]) -> Shop:
    return make_shop(SHOP, name="Alpha Goods", email="owner@alpha.example", iana_timezone="UTC")


@pytest.fixture
def make_app(postgres_url: str) -> Iterator[Callable[[str], Flask]]:
    """Build an app in the test process, pointed at the same database and the given Redis."""
    apps: list[Flask] = []

    def make(redis_url: str) -> Flask:
        app = create_app(
            {
                **TEST_SETTINGS,
                "DATABASE_URL": postgres_url,
                "REDIS_URL": redis_url,
                "QUEUE_SWEEP_AFTER_SECONDS": 2,
            }
        )
        apps.append(app)
        return app

    yield make
    for app in apps:
        get_database(app).dispose()


def process_env(postgres_url: str, redis_url: str, smtp_url: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTEST")}
    env.update({key: str(value) for key, value in TEST_SETTINGS.items()})
    env.update(
        {
            "TESTING": "false",
            "BACKGROUND_WORKER": "false",
            "DATABASE_URL": postgres_url,
            "REDIS_URL": redis_url,
            "SMTP_URL": smtp_url,
            # Longer than a drain's claim takes on a loaded machine, short for the SIGKILL test.
            "QUEUE_LEASE_SECONDS": "15",
            "DATABASE_POOL_SIZE": "4",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def start_web(processes: Processes, env: dict[str, str]) -> str:
    port = free_port()
    processes.start(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py"],
        {
            **env,
            "GUNICORN_BIND": f"127.0.0.1:{port}",
            "WEB_CONCURRENCY": "1",
            "GUNICORN_THREADS": "4",
        },
    )
    return f"http://127.0.0.1:{port}"


def start_worker(processes: Processes, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return processes.start(
        [
            sys.executable,
            "-m",
            "flask",
            "--app",
            "shopify_app",
            "worker",
            "--threads",
            "2",
            "--shutdown-timeout",
            "5",
        ],
        env,
    )


def wait_until(condition: Callable[[], bool], *, deadline: float, what: str) -> None:
    end = time.monotonic() + deadline
    while not condition():
        if time.monotonic() > end:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.2)


def wait_ready(base_urls: list[str], processes: Processes) -> None:
    def all_ready() -> bool:
        for process in processes.running:
            if process.poll() is not None:
                output = processes.output_of(process)
                pytest.fail(f"a process exited early with {process.returncode}: {output}")
        for url in base_urls:
            try:
                if requests.get(f"{url}/readyz", timeout=2).status_code != 200:
                    return False
            except requests.RequestException:
                return False
        return True

    wait_until(all_ready, deadline=BOOT_DEADLINE, what="the web processes to be ready")


def post_orders(base_urls: list[str], numbers: range, *, repeat_every: int = 0) -> list[str]:
    """Post one signed order webhook per number, alternating web processes; return webhook ids.

    With *repeat_every*, every n-th webhook is sent a second time with the same webhook id, as
    Shopify does when it did not see the first acknowledgement.
    """
    jobs: list[tuple[str, bytes, dict[str, str]]] = []
    webhook_ids: list[str] = []
    for index, number in enumerate(numbers):
        body = json_body(unique_order(number))
        webhook_id = str(uuid.uuid4())
        headers = webhook_headers("orders/create", body, shop_domain=SHOP, webhook_id=webhook_id)
        webhook_ids.append(webhook_id)
        jobs.append((base_urls[index % len(base_urls)], body, headers))
        if repeat_every and index % repeat_every == 0:
            jobs.append((base_urls[(index + 1) % len(base_urls)], body, headers))

    def send(job: tuple[str, bytes, dict[str, str]]) -> int:
        url, body, headers = job
        return requests.post(f"{url}/webhooks", data=body, headers=headers, timeout=30).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(send, jobs))
    assert statuses == [200] * len(jobs)
    return webhook_ids


def count(database: Database, statement: Any) -> int:
    with database.session_scope() as session:
        return int(session.scalar(statement) or 0)


def all_done(database: Database, expected: int) -> Callable[[], bool]:
    def check() -> bool:
        done = count(
            database,
            select(func.count(WebhookDelivery.id)).where(
                WebhookDelivery.status == DeliveryStatus.DONE
            ),
        )
        return done >= expected

    return check


def assert_processed_exactly_once(database: Database, webhook_ids: list[str]) -> None:
    with database.session_scope() as session:
        rows = session.execute(select(WebhookDelivery.webhook_id, WebhookDelivery.status)).all()
        orders = session.scalar(select(func.count(Order.id)))
        distinct_orders = session.scalar(select(func.count(func.distinct(Order.shopify_id))))
    assert sorted(row.webhook_id for row in rows) == sorted(webhook_ids)
    assert {row.status for row in rows} == {DeliveryStatus.DONE}
    assert orders == distinct_orders == len(webhook_ids)


def drain_tasks_run(cluster: Cluster) -> int:
    """Count the drain tasks the workers have run so far (each logs one line)."""
    logs = (cluster.processes.logs[worker.pid] for worker in cluster.workers)
    return sum(log.read_text(errors="replace").count("Drained ") for log in logs)


def test_two_web_and_three_worker_processes_process_every_acknowledged_webhook_exactly_once(
    database: Database, shop: Shop, cluster: Cluster
) -> None:
    tasks_before = drain_tasks_run(cluster)
    webhook_ids = post_orders(cluster.web, range(1, 121), repeat_every=10)

    wait_until(all_done(database, len(webhook_ids)), deadline=SETTLE_DEADLINE, what="the inbox")
    assert_processed_exactly_once(database, webhook_ids)
    # Nobody claimed a row twice: one attempt each, so no handler ran twice.
    assert count(database, select(func.max(WebhookDelivery.attempts))) == 1
    # Coalesced: a task drains what arrived while it waited, not one delivery each.
    assert drain_tasks_run(cluster) - tasks_before <= len(webhook_ids) // 4


def test_three_workers_draining_one_shops_interleaved_versions_keep_the_newest_of_each(
    database: Database,
    shop: Shop,
    shared_redis: str,
    store: Callable[..., int],
    cluster: Cluster,
    make_app: Callable[[str], Flask],
) -> None:
    orders, versions = 20, 6
    stream = [(n, v) for n in range(3001, 3001 + orders) for v in range(versions)]
    random.Random(11).shuffle(stream)
    for number, version in stream:
        body = order_version(number, version, customers=4)
        store(body, topic="orders/updated", shop_domain=SHOP)

    queue = tasks.task_queue(make_app(shared_redis))
    assert queue is not None
    for _ in cluster.workers:  # as redelivered or re-swept tasks would: one drain per worker
        queue.drain_shop.send(SHOP)

    def settled() -> bool:  # a failure would be retried a minute later: look at it at once
        unsettled = [DeliveryStatus.PENDING, DeliveryStatus.PROCESSING]
        return not count(
            database,
            select(func.count(WebhookDelivery.id)).where(WebhookDelivery.status.in_(unsettled)),
        )

    wait_until(settled, deadline=SETTLE_DEADLINE, what="the drains")
    with database.session_scope() as session:
        rows = session.execute(
            select(WebhookDelivery.status, WebhookDelivery.attempts, WebhookDelivery.last_error)
        ).all()
        names = {
            row.shopify_id: row.name
            for row in session.execute(select(Order.shopify_id, Order.name))
        }
    assert {tuple(row) for row in rows} == {(DeliveryStatus.DONE, 1, None)}
    assert names == {
        unique_order(n)["id"]: version_name(n, versions - 1) for n in range(3001, 3001 + orders)
    }


def test_three_workers_sending_the_same_shop_at_once_send_each_message_once(
    database: Database,
    shop: Shop,
    shared_redis: str,
    smtp: SmtpSink,
    cluster: Cluster,
    make_app: Callable[[str], Flask],
) -> None:
    smtp.messages.clear()
    now = utcnow()
    abandoned_at = now - timedelta(hours=2)
    flows.configure(database, shop.id, "abandoned_checkout", abandoned_at, holdout_share=0.0)
    flows.configure(
        database,
        shop.id,
        "messaging",
        abandoned_at,
        quiet_hours_start="00:00",
        quiet_hours_end="00:00",
    )
    emails = []
    for n in range(1, 31):
        email = f"buyer{n}@example.com"
        payload = flows.checkout_payload(
            f"tok-{n}", email=email, customer_id=9000 + n, updated_at=abandoned_at
        )
        flows.store_checkout(database, shop.id, payload, abandoned_at)
        flows.subscribe(database, shop.id, 9000 + n, abandoned_at)
        emails.append(email)
    with database.session_scope() as session:
        planned = abandoned_checkout.plan(session, shop_id=shop.id, now=now)
    assert planned == len(emails)

    queue = tasks.task_queue(make_app(shared_redis))
    assert queue is not None
    for _ in range(6):  # the scheduler's tick and sweeps may enqueue the same shop many times
        assert queue.enqueue_send(shop.id)

    def all_sent() -> bool:
        return count(
            database,
            select(func.count(Message.id)).where(Message.status == MessageStatus.SENT),
        ) >= len(emails)

    wait_until(all_sent, deadline=SETTLE_DEADLINE, what="the messages to be sent")
    queue.broker.join(tasks.MESSAGE_QUEUE, timeout=60_000)  # every send task has finished
    assert sorted(str(message["To"]) for message in smtp.messages) == sorted(emails)


def test_a_worker_killed_with_sigkill_mid_batch_loses_nothing_and_duplicates_nothing(
    database: Database,
    shop: Shop,
    shared_redis: str,
    cluster: Cluster,
    make_app: Callable[[str], Flask],
) -> None:
    victim, *others = cluster.workers
    # Pause the others before the load arrives, so every `processing` row is the victim's.
    for worker_process in others:
        worker_process.send_signal(signal.SIGSTOP)
    try:
        webhook_ids = post_orders(cluster.web, range(1001, 1101))

        def victim_is_mid_batch() -> bool:
            done = count(
                database,
                select(func.count(WebhookDelivery.id)).where(
                    WebhookDelivery.status == DeliveryStatus.DONE
                ),
            )
            processing = count(
                database,
                select(func.count(WebhookDelivery.id)).where(
                    WebhookDelivery.status == DeliveryStatus.PROCESSING
                ),
            )
            return done > 0 and processing > 0

        wait_until(victim_is_mid_batch, deadline=SETTLE_DEADLINE, what="the victim's batch")
        victim.send_signal(signal.SIGKILL)
        victim.wait(10)
    finally:
        for worker_process in others:
            worker_process.send_signal(signal.SIGCONT)

    app = make_app(shared_redis)
    done = all_done(database, len(webhook_ids))

    def swept_and_done() -> bool:
        tasks.sweep(app, now=utcnow())  # the scheduled `queue.sweep` job
        return done()

    wait_until(swept_and_done, deadline=SETTLE_DEADLINE, what="the inbox after the kill")
    assert_processed_exactly_once(database, webhook_ids)


def test_restarting_redis_mid_run_loses_nothing(
    postgres_url: str,
    database: Database,
    shop: Shop,
    smtp: SmtpSink,
    processes: Processes,
    make_app: Callable[[str], Flask],
) -> None:
    private: PrivateRedis = start_private_redis()
    try:
        env = process_env(postgres_url, private.url, smtp.url)
        web = [start_web(processes, env)]
        for _ in range(2):
            start_worker(processes, env)
        wait_ready(web, processes)
        before = post_orders(web, range(2001, 2041))

        private.kill()  # everything queued and not yet acknowledged is gone
        during = post_orders(web, range(2041, 2081))  # still acknowledged: stored, not enqueued
        private.start()  # same port, empty

        app = make_app(private.url)
        webhook_ids = before + during
        done = all_done(database, len(webhook_ids))

        def swept_and_done() -> bool:
            try:
                tasks.sweep(app, now=utcnow())
            except redis.RedisError:
                return False
            return done()

        wait_until(swept_and_done, deadline=SETTLE_DEADLINE, what="the inbox after the restart")
        assert_processed_exactly_once(database, webhook_ids)
    finally:
        processes.stop_all()
        private.kill()
