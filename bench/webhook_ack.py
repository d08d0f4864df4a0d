"""Benchmark the webhook acknowledgement path against a bare endpoint that sets the ceiling.

Measures acknowledged webhooks per second and the p50/p99 acknowledgement latency (request
sent to 200 received, seen by the client) of `POST /webhooks` for signed `orders/create`
payloads of 3-15 KB, and the same for a bare Flask endpoint, defined here, that only verifies the
HMAC and stores the raw body once (`INSERT ... ON CONFLICT DO NOTHING`) in the same database.
Both run in the same run with the same server settings: Werkzeug's threaded server on 127.0.0.1,
one process each, request logging off, driven by client threads (`requests`, keep-alive) in this
process. Rounds alternate ceiling/ours/ours/ceiling so neither side always meets a warmer or
fuller database.

    .venv/bin/python -m bench.webhook_ack                      # SQLite and PostgreSQL
    .venv/bin/python -m bench.webhook_ack --write-docs         # also update docs/benchmarks.md

PostgreSQL comes from BENCH_DATABASE_URL (default: the local `test` database); the benchmark works
in a schema of its own there and drops it afterwards. SQLite uses a temporary file.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import multiprocessing.connection
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import uuid
from collections.abc import Iterator
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import requests
import sqlalchemy as sa
from cryptography.fernet import Fernet
from flask import Flask
from flask import request
from werkzeug.serving import WSGIRequestHandler
from werkzeug.serving import make_server

from bench.report import machine_description
from bench.report import replace_section
from bench.report import section_footer
from shopify_app import create_app
from shopify_app import migrations_runner
from shopify_app.db import make_engine
from shopify_app.gateway.signatures import is_valid_webhook_hmac
from shopify_app.gateway.signatures import sign_webhook

REPO_ROOT = Path(__file__).resolve().parent.parent
ORDER_FIXTURE = REPO_ROOT / "tests" / "fixtures" / "orders__create.json"
DOCS_PATH = REPO_ROOT / "docs" / "benchmarks.md"
SECTION_HEADING = "## Webhook acknowledgement"
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
BENCH_SCHEMA = "bench_webhook_ack"
SECRET = "bench-webhook-secret-0123456789abcdef"
SHOP_DOMAIN = "bench-shop.myshopify.com"
MIN_BODY_BYTES = 3 * 1024
MAX_BODY_BYTES = 15 * 1024

CEILING = "ceiling"
OURS = "ours"

ceiling_table = sa.Table(
    "bench_ceiling_deliveries",
    sa.MetaData(),
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("webhook_id", sa.String(255), nullable=False, unique=True),
    sa.Column("body", sa.LargeBinary, nullable=False),
)

# Top-level order fields kept in a small order, as a subscription with include_fields sends it.
_TRIMMED_ORDER_FIELDS = [
    "id",
    "admin_graphql_api_id",
    "name",
    "email",
    "contact_email",
    "phone",
    "created_at",
    "updated_at",
    "processed_at",
    "cancelled_at",
    "currency",
    "presentment_currency",
    "financial_status",
    "fulfillment_status",
    "test",
    "checkout_token",
    "cart_token",
    "source_name",
    "buyer_accepts_marketing",
    "total_price",
    "subtotal_price",
    "total_tax",
    "total_discounts",
    "total_price_set",
    "subtotal_price_set",
    "customer",
    "line_items",
]


@dataclass(frozen=True)
class Delivery:
    webhook_id: str
    body: bytes


@dataclass(frozen=True)
class Result:
    backend: str
    endpoint: str
    concurrency: int
    seconds: float
    latencies_ms: tuple[float, ...]
    failures: int
    stored: int

    @property
    def requests(self) -> int:
        return len(self.latencies_ms) + self.failures

    @property
    def acknowledged_per_second(self) -> float:
        return len(self.latencies_ms) / self.seconds if self.seconds else 0.0

    def percentile(self, share: float) -> float:
        """Return the nearest-rank percentile latency in milliseconds (share in 0..1)."""
        ordered = sorted(self.latencies_ms)
        if not ordered:
            return float("nan")
        rank = max(1, int(round(share * len(ordered) + 0.4999)))
        return ordered[min(rank, len(ordered)) - 1]


# --- payloads ---------------------------------------------------------------------------------


def build_payloads(count: int, *, seed: int = 2026) -> list[bytes]:
    """Return *count* distinct compact order payloads, sizes spread over 3-15 KB."""
    template = json.loads(ORDER_FIXTURE.read_text())
    line_templates = template.pop("line_items")
    rng = random.Random(seed)
    payloads = []
    for index in range(count):
        target = rng.randint(MIN_BODY_BYTES, MAX_BODY_BYTES)
        order = dict(template)
        if target < 8 * 1024:
            order = {key: order[key] for key in _TRIMMED_ORDER_FIELDS if key in order}
        order_id = 5_000_000_000_000 + index
        order.update(
            id=order_id,
            admin_graphql_api_id=f"gid://shopify/Order/{order_id}",
            name=f"#{10_000 + index}",
            email=f"buyer{index}@example.com",
            checkout_token=uuid.UUID(int=rng.getrandbits(128)).hex,
            line_items=[],
        )
        # line_items is the last key, so the body is the empty order with the lines spliced in.
        head = _encode(order)[: -len(b"[]}")]
        lines: list[bytes] = []
        size = len(head) + len(b"[]}")
        while len(lines) < 40:
            line = dict(line_templates[len(lines) % len(line_templates)])
            line.update(
                id=order_id * 100 + len(lines),
                product_id=rng.randint(10**11, 10**12),
                variant_id=rng.randint(10**11, 10**12),
                quantity=rng.randint(1, 4),
                price=f"{rng.randint(500, 20000) / 100:.2f}",
            )
            encoded = _encode(line)
            grown = size + len(encoded) + (1 if lines else 0)
            if lines and (size >= target or grown > MAX_BODY_BYTES):
                break
            lines.append(encoded)
            size = grown
        payloads.append(head + b"[" + b",".join(lines) + b"]}")
    return payloads


def _encode(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


# --- the two servers ----------------------------------------------------------------------------


def create_ceiling_app(database_url: str, *, secret: str) -> Flask:
    """Return the bare endpoint: verify the HMAC, store the raw body once, answer 200."""
    app = Flask("bench_ceiling")
    engine = make_engine(database_url)
    insert = _dialect_insert(engine).on_conflict_do_nothing(index_elements=["webhook_id"])

    @app.post("/webhooks")
    def receive() -> tuple[str, int]:
        body = request.get_data()
        if not is_valid_webhook_hmac(
            body, request.headers.get("X-Shopify-Hmac-Sha256", ""), (secret,)
        ):
            return "", 401
        with engine.begin() as connection:
            connection.execute(
                insert, {"webhook_id": request.headers["X-Shopify-Webhook-Id"], "body": body}
            )
        return "", 200

    return app


def create_our_app(database_url: str, *, secret: str, background_worker: bool = False) -> Flask:
    """Return the real app in its embedded default; the background worker only when asked (this
    benchmark measures acks alone, `bench.ack_under_processing` acks while the worker drains)."""
    return create_app(
        {
            "TESTING": False,
            "SHOPIFY_API_KEY": "bench-api-key",
            "SHOPIFY_API_SECRET": secret,
            "SHOPIFY_API_SECRET_PREVIOUS": "",
            "APP_URL": "http://127.0.0.1",
            "SECRET_KEY": "bench-secret-key-" + "x" * 32,
            "TOKEN_ENCRYPTION_KEY": Fernet.generate_key().decode(),
            "DATABASE_URL": database_url,
            "BACKGROUND_WORKER": background_worker,
            "REDIS_URL": "",  # the embedded mode: no queue hand-off after the insert
        }
    )


def _dialect_insert(engine: sa.Engine) -> Any:
    if engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(ceiling_table)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(ceiling_table)


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Log nothing per request (both servers alike); errors still go to the log."""


def _serve(kind: str, database_url: str, secret: str, conn: Connection) -> None:
    """Serve one endpoint in a child process until the parent says stop."""
    factory = create_ceiling_app if kind == CEILING else create_our_app
    app = factory(database_url, secret=secret)
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    conn.send(server.server_port)
    conn.recv()  # any message means stop
    server.shutdown()
    thread.join()
    server.server_close()
    conn.close()


def gunicorn_app() -> Flask:
    """Build the endpoint BENCH_KIND names, for gunicorn (`bench.webhook_ack:gunicorn_app()`)."""
    url, secret = os.environ["BENCH_SERVE_URL"], os.environ["BENCH_SECRET"]
    if os.environ.get("BENCH_TRACE_DIR"):
        from bench import lock_trace

        lock_trace.install(Path(os.environ["BENCH_TRACE_DIR"]), label=os.environ["BENCH_KIND"])
    if os.environ["BENCH_KIND"] == CEILING:
        app = create_ceiling_app(url, secret=secret)
    else:
        background_worker = os.environ.get("BENCH_BACKGROUND_WORKER") == "1"
        app = create_our_app(url, secret=secret, background_worker=background_worker)
    if os.environ.get("BENCH_READY_DIR"):
        (Path(os.environ["BENCH_READY_DIR"]) / str(os.getpid())).touch()
    return app


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _wait_for_workers(
    ready_dir: Path, workers: int, process: subprocess.Popen[bytes], *, timeout: float = 120
) -> None:
    """Wait until *workers* gunicorn workers have built their app: the master listens before
    its workers have booted, and requests sent meanwhile would time the boot, not the app."""
    deadline = time.monotonic() + timeout
    while len(list(ready_dir.iterdir())) < workers:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with code {process.returncode}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"gunicorn's {workers} workers did not boot within {timeout:.0f} s")
        time.sleep(0.1)


def _wait_for_port(port: int, process: subprocess.Popen[bytes], *, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with code {process.returncode}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"gunicorn did not listen on port {port} within {timeout:.0f} s")


@contextmanager
def serving_gunicorn(
    kinds: Sequence[str],
    database_url: str,
    *,
    secret: str,
    workers: int,
    threads: int,
    background_worker: bool = False,
    trace_dir: Path | None = None,
) -> Iterator[dict[str, str]]:
    """Run each endpoint under gunicorn with the repo's gunicorn.conf.py and the same sizes
    (ours with its background worker when *background_worker*; lock waits and holds recorded
    in *trace_dir* by `bench.lock_trace` when given)."""
    processes = []
    urls = {}
    ready = tempfile.TemporaryDirectory(prefix="bench-gunicorn-ready-")
    try:
        for kind in kinds:
            port = _free_port()
            ready_dir = Path(ready.name) / kind
            ready_dir.mkdir()
            env = dict(
                os.environ,
                BENCH_KIND=kind,
                BENCH_SERVE_URL=database_url,
                BENCH_SECRET=secret,
                WEB_CONCURRENCY=str(workers),
                GUNICORN_THREADS=str(threads),
                GUNICORN_BIND=f"127.0.0.1:{port}",
                BENCH_BACKGROUND_WORKER="1" if background_worker else "0",
                BENCH_TRACE_DIR=str(trace_dir or ""),
                BENCH_READY_DIR=str(ready_dir),
            )
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "-c",
                    str(REPO_ROOT / "gunicorn.conf.py"),
                    "--log-level",
                    "warning",
                    "bench.webhook_ack:gunicorn_app()",
                ],
                env=env,
                cwd=REPO_ROOT,
            )
            processes.append(process)
            _wait_for_port(port, process)
            _wait_for_workers(ready_dir, workers, process)
            urls[kind] = f"http://127.0.0.1:{port}/webhooks"
        yield urls
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        ready.cleanup()


@contextmanager
def serving(kinds: Sequence[str], database_url: str, *, secret: str) -> Iterator[dict[str, str]]:
    """Run each endpoint's server in a fresh process (started together); yield their URLs."""
    context = multiprocessing.get_context("spawn")
    servers = []
    for kind in kinds:
        parent, child = context.Pipe()
        process = context.Process(
            target=_serve, args=(kind, database_url, secret, child), daemon=True
        )
        process.start()
        servers.append((kind, process, parent, child))
    try:
        urls = {}
        for kind, process, parent, _child in servers:
            ready = multiprocessing.connection.wait([parent, process.sentinel], timeout=120)
            if parent not in ready:
                raise RuntimeError(
                    f"the {kind} server did not start (exit code {process.exitcode}); "
                    "see its output above"
                )
            urls[kind] = f"http://127.0.0.1:{parent.recv()}/webhooks"
        yield urls
    finally:
        for _kind, process, parent, _child in servers:
            if process.is_alive():
                parent.send("stop")
        for _kind, process, parent, child in servers:
            process.join(30)
            if process.is_alive():
                process.terminate()
                process.join()
            parent.close()
            child.close()


# --- the client -----------------------------------------------------------------------------------


def fire(
    url: str, deliveries: Sequence[Delivery], *, concurrency: int
) -> tuple[float, list[float], int]:
    """Send *deliveries* from *concurrency* threads; return wall seconds, latencies, failures."""
    next_index = iter(range(len(deliveries)))
    lock = threading.Lock()
    latencies: list[float] = []
    failures = 0

    def client() -> None:
        nonlocal failures
        with requests.Session() as http:
            while True:
                with lock:
                    index = next(next_index, None)
                if index is None:
                    return
                delivery = deliveries[index]
                started = time.perf_counter()
                try:
                    response = http.post(
                        url, data=delivery.body, headers=signed_headers(delivery), timeout=30
                    )
                    ok = response.status_code == 200
                except requests.RequestException:
                    ok = False
                elapsed_ms = (time.perf_counter() - started) * 1000
                with lock:
                    if ok:
                        latencies.append(elapsed_ms)
                    else:
                        failures += 1

    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started, latencies, failures


def signed_headers(delivery: Delivery, *, shop: str = SHOP_DOMAIN) -> dict[str, str]:
    """Return the headers Shopify sends with *delivery*, its body signed with the bench secret."""
    return {
        "Content-Type": "application/json",
        "X-Shopify-Topic": "orders/create",
        "X-Shopify-Hmac-Sha256": sign_webhook(delivery.body, SECRET),
        "X-Shopify-Shop-Domain": shop,
        "X-Shopify-API-Version": "2026-07",
        "X-Shopify-Webhook-Id": delivery.webhook_id,
        "X-Shopify-Event-Id": delivery.webhook_id,
        "X-Shopify-Triggered-At": datetime.now(UTC).isoformat(),
    }


# --- one backend ----------------------------------------------------------------------------------


def run_backend(
    database_url: str,
    *,
    backend: str,
    requests_per_endpoint: int,
    concurrency_levels: Sequence[int],
    server: str = "werkzeug",
    workers: int = 2,
    threads: int = 4,
) -> list[Result]:
    """Benchmark both endpoints on one migrated database, ceiling then ours per level."""
    engine = make_engine(database_url)
    ceiling_table.create(engine, checkfirst=True)
    try:
        payloads = build_payloads(requests_per_endpoint)
        results = []
        servers = (
            serving_gunicorn(
                [CEILING, OURS], database_url, secret=SECRET, workers=workers, threads=threads
            )
            if server == "gunicorn"
            else serving([CEILING, OURS], database_url, secret=SECRET)
        )
        with servers as urls:
            for concurrency in concurrency_levels:
                results += _measure_level(
                    engine, urls, backend=backend, payloads=payloads, concurrency=concurrency
                )
        return results
    finally:
        ceiling_table.drop(engine, checkfirst=True)
        engine.dispose()


def _measure_level(
    engine: sa.Engine,
    urls: dict[str, str],
    *,
    backend: str,
    payloads: Sequence[bytes],
    concurrency: int,
) -> list[Result]:
    run = uuid.uuid4().hex[:8]
    warmup = max(concurrency * 2, len(payloads) // 20)
    for kind, url in urls.items():
        warm = [
            Delivery(f"warmup-{kind}-{uuid.uuid4()}", payloads[i % len(payloads)])
            for i in range(warmup)
        ]
        fire(url, warm, concurrency=concurrency)
    # Fresh webhook ids per endpoint and level: every measured delivery is a real insert.
    batches = {
        kind: [Delivery(f"{kind}-{run}-{i}", body) for i, body in enumerate(payloads)]
        for kind in (CEILING, OURS)
    }
    half = len(payloads) // 2
    rounds = [(CEILING, slice(0, half)), (OURS, slice(0, half))]
    rounds += [(OURS, slice(half, None)), (CEILING, slice(half, None))]
    seconds = dict.fromkeys(urls, 0.0)
    latencies: dict[str, list[float]] = {kind: [] for kind in urls}
    failures = dict.fromkeys(urls, 0)
    for kind, part in rounds:
        elapsed, measured, failed = fire(urls[kind], batches[kind][part], concurrency=concurrency)
        seconds[kind] += elapsed
        latencies[kind] += measured
        failures[kind] += failed
    stored = count_stored(engine, run=run)
    return [
        Result(
            backend=backend,
            endpoint=kind,
            concurrency=concurrency,
            seconds=seconds[kind],
            latencies_ms=tuple(latencies[kind]),
            failures=failures[kind],
            stored=stored[kind],
        )
        for kind in (CEILING, OURS)
    ]


def count_stored(engine: sa.Engine, *, run: str) -> dict[str, int]:
    """Count the measured deliveries of *run* each endpoint really stored."""
    deliveries = sa.table("webhook_deliveries", sa.column("webhook_id"))
    counts = {}
    with engine.connect() as connection:
        for kind, column in (
            (CEILING, ceiling_table.c.webhook_id),
            (OURS, deliveries.c.webhook_id),
        ):
            query = sa.select(sa.func.count()).where(column.like(f"{kind}-{run}-%"))
            counts[kind] = connection.scalar(query) or 0
    return counts


# --- databases ------------------------------------------------------------------------------------


@contextmanager
def sqlite_database() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="bench-webhook-ack-") as directory:
        url = f"sqlite:///{Path(directory) / 'bench.sqlite3'}"
        migrations_runner.upgrade(url)
        yield url


@contextmanager
def postgres_database(url: str) -> Iterator[str]:
    """Yield *url* narrowed to a fresh, migrated schema of the benchmark's own; drop it after."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    admin = sa.create_engine(url)
    with admin.begin() as connection:
        connection.execute(sa.text(f"DROP SCHEMA IF EXISTS {BENCH_SCHEMA} CASCADE"))
        connection.execute(sa.text(f"CREATE SCHEMA {BENCH_SCHEMA}"))
    separator = "&" if "?" in url else "?"
    scoped = f"{url}{separator}options=-csearch_path%3D{BENCH_SCHEMA}"
    try:
        migrations_runner.upgrade(scoped)
        yield scoped
    finally:
        with admin.begin() as connection:
            connection.execute(sa.text(f"DROP SCHEMA IF EXISTS {BENCH_SCHEMA} CASCADE"))
        admin.dispose()


def postgres_version(url: str) -> str:
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return str(connection.scalar(sa.text("SHOW server_version"))).split()[0]
    finally:
        engine.dispose()


# --- report ---------------------------------------------------------------------------------------


def render_table(results: Sequence[Result]) -> str:
    """Return the results as a Markdown table, with ours/ceiling per backend."""
    rows = [
        "| Backend | Endpoint | Requests | Clients | Acked/s | p50 ms | p99 ms | Max ms "
        "| Failed | Stored | Ours/ceiling (acked/s) |",
        "| - | - | -: | -: | -: | -: | -: | -: | -: | -: | -: |",
    ]
    ceilings = {(r.backend, r.concurrency): r for r in results if r.endpoint == CEILING}
    for result in results:
        ceiling = ceilings.get((result.backend, result.concurrency))
        ratio = ""
        if result.endpoint == OURS and ceiling and ceiling.acknowledged_per_second:
            ratio = f"{result.acknowledged_per_second / ceiling.acknowledged_per_second:.2f}"
        name = "ours (`POST /webhooks`)" if result.endpoint == OURS else "ceiling (bare)"
        rows.append(
            f"| {result.backend} | {name} | {result.requests} | {result.concurrency} "
            f"| {result.acknowledged_per_second:.0f} | {result.percentile(0.50):.1f} "
            f"| {result.percentile(0.99):.1f} | {max(result.latencies_ms, default=0):.1f} "
            f"| {result.failures} | {result.stored} | {ratio} |"
        )
    return "\n".join(rows)


def render_section(
    results: Sequence[Result],
    *,
    command: str,
    machine: str,
    payload_sizes: Sequence[int],
    server: str = "werkzeug",
    workers: int = 2,
    threads: int = 4,
) -> str:
    sizes = sorted(payload_sizes)
    ours = [r for r in results if r.endpoint == OURS]
    slowest, level = max(
        ((max(r.latencies_ms, default=0), r.concurrency) for r in ours), default=(0, 0)
    )
    method = (
        "Acknowledged webhooks per second and acknowledgement latency (client side, request sent "
        "to 200 received) of `POST /webhooks`, against a bare Flask endpoint in the same run that "
        "only verifies the HMAC and stores the raw body once (`INSERT ... ON CONFLICT DO NOTHING`) "
        "in the same database: the ceiling. Payloads are signed `orders/create` bodies built from "
        "`tests/fixtures/orders__create.json` with unique ids and line counts, "
        f"{sizes[0] / 1024:.1f}-{sizes[-1] / 1024:.1f} KB (median "
        f"{sizes[len(sizes) // 2] / 1024:.1f} KB). Both endpoints are served on 127.0.0.1 by "
        + (
            f"gunicorn with the repo's `gunicorn.conf.py` ({workers} workers x {threads} threads "
            "each, the same for both; "
            if server == "gunicorn"
            else "Werkzeug's threaded server (one process each, "
        )
        + "request logging off; our background "
        "worker off, since only the acknowledgement is measured) and driven by client threads "
        "using `requests` with keep-alive, one concurrency level after the other; rounds "
        "alternate ceiling/ours/ours/ceiling. Every measured delivery is new, so each is a real "
        "insert; `Stored` counts the rows each endpoint really wrote."
    )
    verdict = (
        f"The slowest acknowledgement of ours was {slowest:.0f} ms (with {level} concurrent "
        "clients), against Shopify's 5 s timeout. Client, servers and database share the "
        "machine (and, during this run, other work), so treat absolute figures as indicative "
        "and the ratio as the result."
    )
    return "\n".join(
        [
            SECTION_HEADING,
            "",
            textwrap.fill(method, width=100),
            "",
            render_table(results),
            "",
            textwrap.fill(verdict, width=100),
            "",
            *section_footer(command=command, machine=machine),
        ]
    )


def update_docs_section(path: Path, section: str) -> None:
    """Replace (or append) this benchmark's section in *path*, leaving other sections alone."""
    replace_section(path, SECTION_HEADING, section)


# --- entry point ----------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> list[Result]:
    parser = argparse.ArgumentParser(
        prog="python -m bench.webhook_ack", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--requests", type=int, default=2000, help="measured requests per endpoint")
    parser.add_argument(
        "--concurrency", default="8,32", help="client threads; a comma-separated list of levels"
    )
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument(
        "--postgres-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_POSTGRES_URL)
    )
    parser.add_argument(
        "--server",
        choices=["gunicorn", "werkzeug"],
        default="gunicorn",
        help="serve both endpoints with gunicorn (gunicorn.conf.py) or werkzeug's threaded server",
    )
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers per endpoint")
    parser.add_argument("--threads", type=int, default=4, help="gunicorn threads per worker")
    parser.add_argument("--write-docs", action="store_true", help=f"update {SECTION_HEADING!r}")
    parser.add_argument("--docs-path", type=Path, default=DOCS_PATH)
    args = parser.parse_args(argv)
    try:
        levels = [int(level) for level in args.concurrency.split(",")]
    except ValueError:
        parser.error("--concurrency must be whole numbers separated by commas, e.g. 8,32")
    if args.requests < 2 or min(levels) < 1:
        parser.error("--requests must be at least 2 and each concurrency level at least 1")

    results: list[Result] = []
    versions = {}
    for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
        if backend == "sqlite":
            versions["SQLite"] = sqlite3.sqlite_version
            database = sqlite_database()
        elif backend == "postgresql":
            versions["PostgreSQL"] = postgres_version(args.postgres_url)
            database = postgres_database(args.postgres_url)
        else:
            parser.error(f"unknown backend {backend!r}; use sqlite and/or postgresql")
        with database as url:
            results += run_backend(
                url,
                backend=backend,
                requests_per_endpoint=args.requests,
                concurrency_levels=levels,
                server=args.server,
                workers=args.workers,
                threads=args.threads,
            )

    print(render_table(results))  # noqa: T201 - the benchmark's output
    if args.write_docs:
        command = (
            f".venv/bin/python -m bench.webhook_ack --requests {args.requests} "
            f"--concurrency {args.concurrency} --backends {args.backends} "
            f"--server {args.server} --workers {args.workers} --threads {args.threads} --write-docs"
        )
        section = render_section(
            results,
            command=command,
            machine=machine_description(versions),
            payload_sizes=[len(p) for p in build_payloads(args.requests)],
            server=args.server,
            workers=args.workers,
            threads=args.threads,
        )
        update_docs_section(args.docs_path, section)
    return results


if __name__ == "__main__":
    main()
