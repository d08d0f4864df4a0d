"""Inbox processing throughput with 1 and 2 worker processes, against a ceiling, per backend.

    python -m bench.processing --database-url postgresql://postgres@127.0.0.1:5432/bench \
        --database-url sqlite:////tmp/bench-processing.db --events 20000 --workers 1,2 --write-docs

Each run fills the inbox with the same `orders/create` deliveries (`store_bodies`: unique orders,
customers with 1-5 orders each, 1-6 lines, built from tests/fixtures/orders__create.json), then
starts N worker processes that each run `webhooks.worker.drain` (the code the embedded worker
runs: claim, then one transaction per batch, the batch's orders stored as one set and the rollups
brought up to date once). The ceiling is one `INSERT ... SELECT` that copies the same rows,
JSON-parsed, into a table: what the database does when nothing but the data moves.
THE DATABASES ARE WIPED: give databases of their own.
"""

from __future__ import annotations

import argparse
import copy
import json
import multiprocessing
import random
import sys
import textwrap
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bench.report import DOCS_PATH
from bench.report import REPO_ROOT
from bench.report import machine_description
from bench.report import normalise_postgres_url
from bench.report import replace_section
from bench.report import section_footer

SECTION_HEADING = "## Inbox processing"
SHOP = "bench.myshopify.com"
FIXTURE = REPO_ROOT / "tests" / "fixtures" / "orders__create.json"


@dataclass
class Run:
    label: str
    events: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


def order_bodies(count: int) -> list[bytes]:
    """Return *count* sample orders, each with its own order, customer and line item ids."""
    template = json.loads(FIXTURE.read_text())
    bodies = []
    for number in range(1, count + 1):
        payload = copy.deepcopy(template)
        order_id = 8_000_000_000_000 + number
        payload["id"] = order_id
        payload["admin_graphql_api_id"] = f"gid://shopify/Order/{order_id}"
        payload["name"] = f"#{number}"
        email = f"buyer{number}@example.com"
        payload["email"] = payload["contact_email"] = email
        if payload.get("customer"):
            customer_id = 9_000_000_000_000 + number
            payload["customer"].update(
                id=customer_id,
                email=email,
                admin_graphql_api_id=f"gid://shopify/Customer/{customer_id}",
            )
        for index, line in enumerate(payload.get("line_items", [])):
            line["id"] = order_id * 10 + index
            line["admin_graphql_api_id"] = f"gid://shopify/LineItem/{line['id']}"
        bodies.append(json.dumps(payload, separators=(",", ":")).encode())
    return bodies


def store_bodies(count: int, *, seed: int = 13) -> list[bytes]:
    """Return *count* orders of a store: customers with 1-5 orders each, 1-6 lines per order,
    placed over a year (so the rollups touch many days, months and products)."""
    rng = random.Random(seed)
    template = json.loads(FIXTURE.read_text())
    line_template = template["line_items"][0]
    start = datetime(2025, 1, 1, tzinfo=UTC)
    bodies: list[bytes] = []
    customer_number = 0
    while len(bodies) < count:
        customer_number += 1
        customer_id = 9_000_000_000_000 + customer_number
        email = f"customer{customer_number}@example.com"
        for _ in range(rng.randint(1, 5)):
            if len(bodies) == count:
                break
            number = len(bodies) + 1
            order_id = 8_000_000_000_000 + number
            placed = (start + timedelta(minutes=rng.randrange(365 * 24 * 60))).isoformat()
            payload = copy.deepcopy(template)
            payload.update(
                id=order_id,
                admin_graphql_api_id=f"gid://shopify/Order/{order_id}",
                name=f"#{number}",
                email=email,
                contact_email=email,
                created_at=placed,
                processed_at=placed,
                updated_at=placed,
                # The sample is a cancelled test order, which no KPI counts: make it a sale.
                test=False,
                cancelled_at=None,
                cancel_reason=None,
                financial_status="paid",
            )
            payload["customer"].update(
                id=customer_id,
                email=email,
                admin_graphql_api_id=f"gid://shopify/Customer/{customer_id}",
            )
            payload["line_items"] = [
                _line(line_template, line_id=order_id * 10 + index, product=rng.randrange(1, 200))
                for index in range(rng.randint(1, 6))
            ]
            bodies.append(json.dumps(payload, separators=(",", ":")).encode())
    return bodies


def _line(template: dict[str, Any], *, line_id: int, product: int) -> dict[str, Any]:
    line = copy.deepcopy(template)
    line.update(
        id=line_id,
        admin_graphql_api_id=f"gid://shopify/LineItem/{line_id}",
        product_id=7_000_000_000 + product,
        variant_id=7_100_000_000 + product,
    )
    return line


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def prepare_schema(url: str) -> None:
    from shopify_app import migrations_runner

    if is_sqlite(url):
        path = Path(url.split("///", 1)[1])
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    else:
        engine = sa.create_engine(url)
        with engine.begin() as connection:
            connection.execute(sa.text("DROP SCHEMA IF EXISTS public CASCADE"))
            connection.execute(sa.text("CREATE SCHEMA public"))
        engine.dispose()
    migrations_runner.upgrade(url)


def reset_data(engine: sa.Engine, bodies: Sequence[bytes]) -> None:
    """Empty the tables, install the shop, and store *bodies* as pending inbox rows."""
    from shopify_app.models import Base
    from shopify_app.models import DeliveryStatus
    from shopify_app.models import Shop
    from shopify_app.models import WebhookDelivery

    now = datetime.now(UTC)
    with engine.begin() as connection:
        if engine.dialect.name == "sqlite":
            for table in reversed(Base.metadata.sorted_tables):
                connection.execute(table.delete())
        else:
            tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
            connection.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        connection.execute(sa.text("DROP TABLE IF EXISTS bench_ceiling"))
        shop_id = connection.execute(
            sa.insert(Shop)
            .values(domain=SHOP, name="Bench", installed_at=now, created_at=now, updated_at=now)
            .returning(Shop.id)
        ).scalar_one()
        connection.execute(
            sa.insert(WebhookDelivery),
            [
                {
                    "shop_domain": SHOP,
                    "shop_id": shop_id,
                    "topic": "orders/create",
                    "webhook_id": f"w{index}",
                    "payload": body,
                    "received_at": now - timedelta(seconds=1),
                    "status": DeliveryStatus.PENDING,
                    "attempts": 0,
                }
                for index, body in enumerate(bodies)
            ],
        )


def _drain_process(url: str, go: Event, results: Any) -> None:
    from shopify_app.db import Database
    from webhooks import worker

    database = Database(url, pool_size=2, max_overflow=0)
    with database.engine.connect():
        pass  # connect before the clock starts
    go.wait()
    report = worker.drain(database)
    results.put(report.total)
    database.dispose()


def run_workers(url: str, workers: int) -> float:
    """Drain the inbox with *workers* processes; return the wall-clock seconds it took."""
    context = multiprocessing.get_context("spawn")
    go = context.Event()
    results = context.Queue()
    processes = [
        context.Process(target=_drain_process, args=(url, go, results)) for _ in range(workers)
    ]
    for process in processes:
        process.start()
    time.sleep(3.0)  # let every process import and connect
    started = time.perf_counter()
    go.set()
    totals = [results.get(timeout=3600) for _ in processes]
    elapsed = time.perf_counter() - started
    for process in processes:
        process.join(60)
    del totals
    return elapsed


def check_processed(engine: sa.Engine, events: int) -> None:
    from shopify_app.models import DeliveryStatus
    from shopify_app.models import WebhookDelivery

    with engine.connect() as connection:
        done = connection.scalar(
            sa.select(sa.func.count(WebhookDelivery.id)).where(
                WebhookDelivery.status == DeliveryStatus.DONE
            )
        )
        orders = connection.scalar(sa.text("SELECT count(DISTINCT shopify_id) FROM orders"))
    if done != events or orders != events:
        raise SystemExit(f"expected {events} done deliveries and orders, got {done} and {orders}")


CEILING_COPY = {
    "postgresql": (
        "INSERT INTO bench_ceiling SELECT id, shop_id, "
        "(convert_from(payload, 'UTF8')::jsonb ->> 'id')::bigint, "
        "convert_from(payload, 'UTF8')::jsonb FROM webhook_deliveries"
    ),
    "sqlite": (
        "INSERT INTO bench_ceiling SELECT id, shop_id, "
        "json_extract(CAST(payload AS TEXT), '$.id'), json(CAST(payload AS TEXT)) "
        "FROM webhook_deliveries"
    ),
}
"""Copy the inbox's rows, JSON-parsed, into a table: each backend's own JSON parser."""


def run_ceiling(engine: sa.Engine) -> float:
    body_type = "jsonb" if engine.dialect.name == "postgresql" else "blob"
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "CREATE TABLE bench_ceiling (delivery_id bigint PRIMARY KEY, shop_id bigint, "
                f"shopify_id bigint, body {body_type})"
            )
        )
    started = time.perf_counter()
    with engine.begin() as connection:
        connection.execute(sa.text(CEILING_COPY[engine.dialect.name]))
    return time.perf_counter() - started


def measure(url: str, *, events: int, worker_counts: Sequence[int]) -> list[Run]:
    url = normalise_postgres_url(url)
    prepare_schema(url)
    engine = sa.create_engine(url)
    bodies = store_bodies(events)
    runs = []
    try:
        reset_data(engine, bodies)
        runs.append(Run("ceiling: one `INSERT ... SELECT`", events, run_ceiling(engine)))
        for workers in worker_counts:
            reset_data(engine, bodies)
            seconds = run_workers(url, workers)
            check_processed(engine, events)
            label = f"{workers} worker process{'es' if workers > 1 else ''}"
            runs.append(Run(label, events, seconds))
    finally:
        with engine.begin() as connection:
            connection.execute(sa.text("DROP TABLE IF EXISTS bench_ceiling"))
        engine.dispose()
    return runs


def backend_name(url: str) -> str:
    return "SQLite" if is_sqlite(url) else "PostgreSQL"


def render_table(backend: str, runs: Sequence[Run]) -> list[str]:
    ceiling = runs[0]
    rows = [
        f"{backend}:",
        "",
        "| Run | Events | Seconds | Events/s | Ratio to ceiling |",
        "| - | -: | -: | -: | -: |",
    ]
    for run in runs:
        ratio = run.per_second / ceiling.per_second if ceiling.per_second else 0.0
        rows.append(
            f"| {run.label} | {run.events} | {run.seconds:.2f} | {run.per_second:.0f} "
            f"| {ratio:.3f} |"
        )
    ours = runs[1:]
    if len(ours) > 1 and ours[0].per_second:
        rows += [
            "",
            "Speed-up over one worker: "
            + ", ".join(
                f"{run.label.split()[0]} workers {run.per_second / ours[0].per_second:.2f}x"
                for run in ours[1:]
            )
            + ".",
        ]
    return [*rows, ""]


def render_section(
    results: Sequence[tuple[str, Sequence[Run]]], *, command: str, machine: str, size_kb: float
) -> str:
    method = (
        "Inbox deliveries processed per second by N worker processes, each running "
        "`webhooks.worker.drain`: claim due rows (`FOR UPDATE SKIP LOCKED` on PostgreSQL), "
        "sized by the time budget; then one transaction per batch in which the batch's "
        "`orders/create` deliveries are validated once each with the topic schema and stored as "
        "one set (`upsert_orders`: multi-row upserts of customers, orders and lines), the "
        "rollups are re-derived once for the customers, days and products the batch touched, "
        "and the rows are marked done. The queue tasks run the same `drain` on one shop's "
        "deliveries (`webhooks.drain_shop`). "
        f"Payloads are `orders/create` bodies of about {size_kb:.1f} KB: customers with 1-5 "
        "orders each, 1-6 lines per order (`bench.processing.store_bodies`). The ceiling is "
        "one `INSERT ... SELECT` copying the same rows, JSON-parsed by the database, into a "
        "table: moving the data with no per-event work."
    )
    lines = [SECTION_HEADING, "", textwrap.fill(method, width=100), ""]
    for backend, runs in results:
        lines += render_table(backend, runs)
    return "\n".join([*lines, *section_footer(command=command, machine=machine)])


def main(argv: Sequence[str] | None = None) -> list[tuple[str, list[Run]]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url",
        action="append",
        required=True,
        help="a PostgreSQL database or SQLite file to WIPE; repeat for several backends",
    )
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--write-docs", action="store_true")
    parser.add_argument("--docs-path", type=Path, default=DOCS_PATH)
    args = parser.parse_args(argv)
    worker_counts = [int(part) for part in args.workers.split(",") if part.strip()]
    results = [
        (backend_name(url), measure(url, events=args.events, worker_counts=worker_counts))
        for url in args.database_url
    ]
    bodies = store_bodies(min(args.events, 200))
    size_kb = sum(map(len, bodies)) / len(bodies) / 1024
    command = "python -m bench.processing " + " ".join(
        a for a in (argv if argv is not None else sys.argv[1:]) if a
    )
    section = render_section(
        results, command=command, machine=machine_description(), size_kb=size_kb
    )
    sys.stdout.write(section)
    if args.write_docs:
        replace_section(args.docs_path, SECTION_HEADING, section)
    return results


if __name__ == "__main__":
    main()
