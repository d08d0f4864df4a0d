"""Inbox processing throughput on PostgreSQL with 1, 2 and 4 worker processes, against a ceiling.

    python -m bench.processing --database-url postgresql://postgres@127.0.0.1:5432/bench \
        --events 2000 --workers 1,2,4 --write-docs

Each run fills the inbox with the same `orders/create` deliveries (unique order, customer and
line ids, built from tests/fixtures/orders__create.json), then starts N worker processes that
each run `webhooks.worker.drain` (the code the embedded worker runs: claim with SKIP LOCKED, then
one transaction per batch: validate, upsert the order, mark done). The ceiling is one
`INSERT ... SELECT` that copies the same rows, JSON-parsed, into a table: what PostgreSQL does
when nothing but the data moves. THE DATABASE IS WIPED: give a database of its own.
"""

from __future__ import annotations

import argparse
import copy
import json
import multiprocessing
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


def prepare_schema(url: str) -> None:
    from shopify_app import migrations_runner

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

    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    now = datetime.now(UTC)
    with engine.begin() as connection:
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


def run_ceiling(engine: sa.Engine) -> float:
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "CREATE TABLE bench_ceiling (delivery_id bigint PRIMARY KEY, shop_id bigint, "
                "shopify_id bigint, body jsonb)"
            )
        )
    started = time.perf_counter()
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO bench_ceiling SELECT id, shop_id, "
                "(convert_from(payload, 'UTF8')::jsonb ->> 'id')::bigint, "
                "convert_from(payload, 'UTF8')::jsonb FROM webhook_deliveries"
            )
        )
    return time.perf_counter() - started


def measure(url: str, *, events: int, worker_counts: Sequence[int]) -> list[Run]:
    url = normalise_postgres_url(url)
    prepare_schema(url)
    engine = sa.create_engine(url)
    bodies = order_bodies(events)
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


def render_section(runs: Sequence[Run], *, command: str, machine: str, size_kb: float) -> str:
    ceiling = runs[0]
    rows = [
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
    scaling = ""
    if len(ours) > 1 and ours[0].per_second:
        scaling = (
            " Speed-up over one worker: "
            + ", ".join(
                f"{run.label.split()[0]} workers {run.per_second / ours[0].per_second:.2f}x"
                for run in ours[1:]
            )
            + "."
        )
    method = (
        "Inbox deliveries processed per second on PostgreSQL by N worker processes, each "
        "running `webhooks.worker.drain` (claim 20 due rows with `FOR UPDATE SKIP LOCKED`, then "
        "the batch in one transaction, each row in a savepoint: validate with the topic schema, "
        "upsert the order, its lines and customer, update the rollups, mark done). The queue "
        "tasks run the same `drain` on one shop's deliveries (`webhooks.drain_shop`). "
        f"Payloads are `orders/create` bodies of {size_kb:.1f} KB with unique ids. The ceiling is "
        "one `INSERT ... SELECT` copying the same rows, JSON-parsed, into a table: moving the data "
        "with no per-event work."
    )
    return "\n".join(
        [
            SECTION_HEADING,
            "",
            textwrap.fill(method, width=100),
            "",
            *rows,
            "",
            textwrap.fill(
                "Per-event work (schema validation, one-row upserts and per-order rollup updates, "
                "about 17 statements per event) is what separates us from the ceiling; a commit "
                "per batch instead of per event was the first step." + scaling,
                width=100,
            ),
            "",
            *section_footer(command=command, machine=machine),
        ]
    )


def main(argv: Sequence[str] | None = None) -> list[Run]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True, help="a PostgreSQL database to WIPE")
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--write-docs", action="store_true")
    parser.add_argument("--docs-path", type=Path, default=DOCS_PATH)
    args = parser.parse_args(argv)
    worker_counts = [int(part) for part in args.workers.split(",") if part.strip()]
    runs = measure(args.database_url, events=args.events, worker_counts=worker_counts)
    size_kb = len(order_bodies(1)[0]) / 1024
    command = "python -m bench.processing " + " ".join(
        a for a in (argv if argv is not None else sys.argv[1:]) if a
    )
    section = render_section(runs, command=command, machine=machine_description(), size_kb=size_kb)
    sys.stdout.write(section)
    if args.write_docs:
        replace_section(args.docs_path, SECTION_HEADING, section)
    return runs


if __name__ == "__main__":
    main()
