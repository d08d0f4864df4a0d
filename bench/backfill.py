"""Backfill import speed: orders per second from a bulk-operation JSONL file, against parsing it.

    python -m bench.backfill --database-url postgresql://postgres@127.0.0.1:5432/bench \
        --orders 20000 --write-docs

Writes a JSONL file in the shape of a grouped `orders` bulk export (each order line followed by
its line items with `__parentId`), built from tests/fixtures/bulk_orders.jsonl with unique ids,
streamed to disk, and serves it from 127.0.0.1 over HTTP, as Shopify serves the result URL. The
baseline streams and parses the same file (`bulk.iter_jsonl` + `bulk.group_bulk_objects`) without
storing anything; ours is `backfill.run_backfill` itself on a run whose export has finished (a
stand-in GraphQL client answers the one status poll): chunks of `backfill.BATCH_SIZE` objects,
each converted and stored by one `upsert_orders` with the resume point in its transaction, then
one rollup rebuild. The import and the rebuild are also timed apart. Nothing holds the file in
memory, so `--orders 1000000` runs in bounded memory (the peak is reported).
THE DATABASE IS WIPED: give a database of its own.
"""

from __future__ import annotations

import argparse
import copy
import functools
import http.server
import json
import resource
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Iterator
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import sessionmaker

from bench.report import DOCS_PATH
from bench.report import REPO_ROOT
from bench.report import machine_description
from bench.report import normalise_postgres_url
from bench.report import replace_section
from bench.report import section_footer
from shopify_app.gateway.graphql import GraphQLClient

SECTION_HEADING = "## Backfill import"
SHOP = "bench.myshopify.com"
FIXTURE = REPO_ROOT / "tests" / "fixtures" / "bulk_orders.jsonl"
CURRENCY = "EUR"  # the fixture's orders are in euros: every bench order counts in the rollups
EXPORT_ID = "gid://shopify/BulkOperation/bench"
HISTORY_START = datetime(2024, 3, 1, tzinfo=UTC)
HISTORY = timedelta(days=730)


@dataclass
class Run:
    label: str
    orders: int
    seconds: float
    rebuild_seconds: float = 0.0

    @property
    def per_second(self) -> float:
        return self.orders / self.seconds if self.seconds else 0.0


def _template() -> tuple[dict[str, Any], list[dict[str, Any]]]:
    lines = [json.loads(line) for line in FIXTURE.read_text().splitlines() if line.strip()]
    root = lines[0]
    children = [line for line in lines[1:] if line.get("__parentId") == root["id"]]
    return root, children


def write_jsonl(path: Path, orders: int) -> tuple[int, int]:
    """Write *orders* grouped orders with unique ids to *path*; return its size and line count.

    The orders are spread over two years (one customer per five orders), so the rebuild derives
    customers with many order days, as a real shop's history has.
    """
    root, children = _template()
    customers = max(orders // 5, 1)
    step = HISTORY / orders
    lines = 0
    with path.open("w") as output:
        for number in range(1, orders + 1):
            order = copy.deepcopy(root)
            order_gid = f"gid://shopify/Order/{10_000_000 + number}"
            order["id"] = order_gid
            order["name"] = f"#{number}"
            placed = (HISTORY_START + step * number).strftime("%Y-%m-%dT%H:%M:%SZ")
            for name in ("createdAt", "processedAt", "updatedAt"):
                order[name] = placed
            if order.get("customer"):
                customer_number = number % customers
                order["customer"]["id"] = f"gid://shopify/Customer/{20_000_000 + customer_number}"
                email = f"buyer{customer_number}@example.com"
                order["email"] = email
                address = order["customer"].get("defaultEmailAddress")
                if address:
                    address["emailAddress"] = email
            output.write(json.dumps(order, separators=(",", ":")) + "\n")
            for index, child in enumerate(children):
                line = copy.deepcopy(child)
                line["id"] = f"gid://shopify/LineItem/{(10_000_000 + number) * 10 + index}"
                line["__parentId"] = order_gid
                output.write(json.dumps(line, separators=(",", ":")) + "\n")
            lines += 1 + len(children)
    return path.stat().st_size, lines


@contextmanager
def serving(directory: Path) -> Iterator[str]:
    """Serve *directory* on 127.0.0.1 and yield its base URL."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # the base class names it so
            return

    handler = functools.partial(Quiet, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def prepare(url: str) -> int:
    """Rebuild the schema and install the shop; return its id."""
    from shopify_app import migrations_runner
    from shopify_app.models import Shop

    engine = sa.create_engine(url)
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(sa.text("DROP SCHEMA IF EXISTS public CASCADE"))
            connection.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()
    migrations_runner.upgrade(url)
    engine = sa.create_engine(url)
    now = datetime.now(UTC)
    with engine.begin() as connection:
        shop_id: int = connection.execute(
            sa.insert(Shop)
            .values(
                domain=SHOP,
                name="Bench",
                currency=CURRENCY,
                installed_at=now,
                created_at=now,
                updated_at=now,
            )
            .returning(Shop.id)
        ).scalar_one()
    engine.dispose()
    return shop_id


def parse_only(file_url: str) -> tuple[int, float]:
    from shopify_app.gateway import bulk

    started = time.perf_counter()
    count = sum(1 for _ in bulk.group_bulk_objects(bulk.iter_jsonl(file_url)))
    return count, time.perf_counter() - started


class FinishedExport(GraphQLClient):
    """Shopify's answer to the status poll of an export that finished with *url* as its result."""

    def __init__(self, url: str, objects: int) -> None:
        super().__init__(SHOP, "bench-token")
        self.url = url
        self.objects = objects

    def execute(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        operation = {
            "id": EXPORT_ID,
            "status": "COMPLETED",
            "objectCount": str(self.objects),
            "url": self.url,
        }
        return {"bulkOperation": operation}


def import_all(database_url: str, file_url: str, shop_id: int, *, lines: int) -> Run:
    """Run the backfill of the served file; time it whole and up to the last chunk's commit."""
    from shopify_app.db import Database
    from shopify_app.models import BackfillRun
    from shopify_app.store.sync import backfill

    database = Database(database_url)
    factory: sessionmaker[Any] = database.session_factory
    with factory() as session, session.begin():
        run = BackfillRun(
            shop_id=shop_id, kind="orders", status="pending", bulk_operation_id=EXPORT_ID
        )
        session.add(run)
        session.flush()
        run_id = run.id
    last_chunk = [0.0]

    def note_chunk(progress: Any) -> None:
        if progress.status != "completed":  # the last report comes after the rebuild
            last_chunk[0] = time.perf_counter()

    started = time.perf_counter()
    progress = backfill.run_backfill(
        factory,
        run_id=run_id,
        client=FinishedExport(file_url, lines),
        on_progress=note_chunk,
    )
    finished = time.perf_counter()
    database.dispose()
    if progress.status != "completed":
        raise SystemExit(f"the backfill ended {progress.status}")
    return Run(
        "ours: `run_backfill` (chunks through `upsert_orders`, one rollup rebuild)",
        progress.imported_count,
        finished - started,
        rebuild_seconds=finished - last_chunk[0],
    )


def measure(database_url: str, *, orders: int) -> tuple[list[Run], int]:
    from shopify_app.models import Order
    from shopify_app.models import RollupOrder

    database_url = normalise_postgres_url(database_url)
    shop_id = prepare(database_url)
    with tempfile.TemporaryDirectory() as directory:
        size, lines = write_jsonl(Path(directory) / "orders.jsonl", orders)
        with serving(Path(directory)) as base:
            file_url = f"{base}/orders.jsonl"
            parsed, parse_seconds = parse_only(file_url)
            ours = import_all(database_url, file_url, shop_id, lines=lines)
    engine = sa.create_engine(database_url)
    with engine.connect() as connection:
        stored = connection.scalar(sa.select(sa.func.count(Order.id)))
        counted = connection.scalar(sa.select(sa.func.count(RollupOrder.order_id)))
    engine.dispose()
    if not parsed == ours.orders == stored == counted == orders:
        raise SystemExit(
            f"expected {orders} orders, parsed {parsed}, imported {ours.orders}, "
            f"stored {stored}, in the rollups {counted}"
        )
    return [Run("baseline: stream and parse the file", parsed, parse_seconds), ours], size


def render_section(
    runs: Sequence[Run], *, command: str, machine: str, size: int, backend: str, peak_mb: float
) -> str:
    baseline, ours = runs
    rows = [
        "| Run | Orders | Seconds | Orders/s | Ratio to baseline |",
        "| - | -: | -: | -: | -: |",
    ]
    for run in runs:
        ratio = run.per_second / baseline.per_second if baseline.per_second else 0.0
        rows.append(
            f"| {run.label} | {run.orders} | {run.seconds:.2f} | {run.per_second:.0f} "
            f"| {ratio:.3f} |"
        )
    method = (
        f"Orders imported per second on {backend} from a grouped bulk-export JSONL file "
        f"({size / 1_000_000:.1f} MB, orders with their line items over two years, one customer "
        "per five orders) served over HTTP from 127.0.0.1, against streaming and parsing the same "
        "file without storing it (the baseline)."
    )
    rebuild = (
        f"Of our {ours.seconds:.2f} s, the rollup rebuild after the last chunk took "
        f"{ours.rebuild_seconds:.2f} s. The process's peak memory was {peak_mb:.0f} MB."
    )
    minutes = 1_000_000 / ours.per_second / 60 if ours.per_second else 0.0
    note = (
        "The issue asks for 1,000,000 orders in under 15 minutes; this run used fewer. At this "
        f"rate 1,000,000 orders would take about {minutes:.0f} minutes on this machine "
        "(the chunks and the rebuild are both linear in the orders)."
        if ours.orders < 1_000_000
        else ""
    )
    return "\n".join(
        [
            SECTION_HEADING,
            "",
            textwrap.fill(method, width=100),
            "",
            *rows,
            "",
            textwrap.fill(rebuild, width=100),
            "",
            *([textwrap.fill(note, width=100), ""] if note else []),
            *section_footer(command=command, machine=machine),
        ]
    )


def main(argv: Sequence[str] | None = None) -> list[Run]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True, help="a database to WIPE")
    parser.add_argument("--orders", type=int, default=20_000)
    parser.add_argument("--write-docs", action="store_true")
    parser.add_argument("--docs-path", type=Path, default=DOCS_PATH)
    args = parser.parse_args(argv)
    runs, size = measure(args.database_url, orders=args.orders)
    backend = "PostgreSQL" if "postgresql" in args.database_url else "SQLite"
    command = "python -m bench.backfill " + " ".join(argv if argv is not None else sys.argv[1:])
    section = render_section(
        runs,
        command=command,
        machine=machine_description(),
        size=size,
        backend=backend,
        peak_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    )
    sys.stdout.write(section)
    if args.write_docs:
        replace_section(args.docs_path, SECTION_HEADING, section)
    return runs


if __name__ == "__main__":
    main()
