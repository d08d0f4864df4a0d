"""Measure the dashboard API's warm latency against one plain SQL full scan of the same orders.

For each backend: generate a seeded shop (`bench.generate_shop`), build its rollups, then time
`GET /api/kpis` (last 30 and last 365 days), `GET /api/cohorts` (last 12 months) through the
Flask test client with a valid session token, after warm-up requests, and in the same run one
plain SQL full-scan aggregation over the raw orders (lifetime orders, revenue, customers and
repeat customers grouped by customer), which is what answering from raw orders costs at least.
The API's orders and revenue over the whole history are checked against that scan, and its
active-customer counts for retention (read from per-day deltas) against counting customer days.

    .venv/bin/python -m bench.dashboard --orders 1000000               # SQLite and PostgreSQL
    .venv/bin/python -m bench.dashboard --orders 1000000 --write-docs  # also docs/benchmarks.md

PostgreSQL comes from BENCH_DATABASE_URL (default: the local test_h4 database); the benchmark
works in a schema of its own there and drops it afterwards. SQLite uses a temporary file.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from collections.abc import Iterator
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jwt
import sqlalchemy as sa
from cryptography.fernet import Fernet

from bench.generate_shop import DEFAULT_ORDERS
from bench.generate_shop import SHOP_DOMAIN
from bench.generate_shop import GeneratedShop
from bench.generate_shop import generate_shop
from bench.report import machine_description
from bench.report import replace_section
from shopify_app import create_app
from shopify_app import migrations_runner
from shopify_app.db import get_database
from shopify_app.retention import kpis
from shopify_app.retention.rollups import DEFAULT_ACTIVE_DAYS

REPO_ROOT = Path(__file__).resolve().parent.parent
DOCS_PATH = REPO_ROOT / "docs" / "benchmarks.md"
SECTION_HEADING = "## Dashboard"
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test_h4"
BENCH_SCHEMA = "bench_dashboard"
API_KEY = "bench-api-key"
API_SECRET = "bench-api-secret-0123456789abcdef"

FULL_SCAN_SQL = sa.text(
    """
    SELECT COUNT(*) AS customers, SUM(n) AS orders, SUM(CASE WHEN n >= 2 THEN 1 ELSE 0 END),
           SUM(revenue)
    FROM (
        SELECT COALESCE(customer_id, -id) AS who, COUNT(*) AS n,
               SUM(CASE WHEN currency = 'USD' THEN total_price ELSE 0 END) AS revenue
        FROM orders
        WHERE shop_id = :shop_id AND is_test = :false AND cancelled_at IS NULL
        GROUP BY COALESCE(customer_id, -id)
    ) AS per_customer
    """
)


@dataclass(frozen=True)
class Timing:
    p50_ms: float
    p95_ms: float


@dataclass(frozen=True)
class BackendResult:
    backend: str
    version: str
    shop: GeneratedShop
    kpis_30_days: Timing
    kpis_365_days: Timing
    cohorts_12_months: Timing
    full_scan: Timing
    orders_checked: int


def measure(call: Callable[[], object], *, repeat: int, warmup: int = 3) -> Timing:
    """Return the p50 and p95 wall time of *call* in milliseconds, after *warmup* calls."""
    for _ in range(warmup):
        call()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    p95_index = min(len(samples) - 1, round(0.95 * (len(samples) - 1)))
    return Timing(p50_ms=statistics.median(samples), p95_ms=samples[p95_index])


def session_token(shop_domain: str) -> str:
    now = int(time.time())
    claims = {
        "iss": f"https://{shop_domain}/admin",
        "dest": f"https://{shop_domain}",
        "aud": API_KEY,
        "sub": "1",
        "exp": now + 3600,
        "nbf": now - 5,
        "iat": now - 5,
        "jti": str(uuid.uuid4()),
        "sid": str(uuid.uuid4()),
    }
    return jwt.encode(claims, API_SECRET, algorithm="HS256")


def run_backend(
    backend: str, url: str, *, orders: int, customers: int, seed: int, repeat: int
) -> BackendResult:
    """Generate the shop in the database at *url* and time the API against the full scan."""
    # Build the app first: every module it imports is loaded before the long generation starts.
    app = create_app(
        {
            "TESTING": True,
            "SHOPIFY_API_KEY": API_KEY,
            "SHOPIFY_API_SECRET": API_SECRET,
            "APP_URL": "https://retention.example.com",
            "SECRET_KEY": "bench-secret-key-that-is-long-enough-0000",
            "TOKEN_ENCRYPTION_KEY": Fernet.generate_key().decode(),
            "BACKGROUND_WORKER": False,
            "DATABASE_URL": url,
        }
    )
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    shop = generate_shop(get_database(app), orders=orders, customers=customers, seed=seed, end=end)
    client = app.test_client()
    headers = {"Authorization": f"Bearer {session_token(SHOP_DOMAIN)}"}
    today = datetime.now(UTC).astimezone(ZoneInfo("America/New_York")).date()

    def get(path: str, start: date, end_day: date) -> dict[str, Any]:
        response = client.get(
            path,
            query_string={"from": start.isoformat(), "to": end_day.isoformat()},
            headers=headers,
        )
        if response.status_code != 200:
            raise RuntimeError(
                f"{path} answered {response.status_code}: {response.get_data(as_text=True)}"
            )
        body: dict[str, Any] = response.get_json()
        return body

    engine = get_database(app).engine

    def full_scan() -> tuple[Any, ...]:
        with engine.connect() as connection:
            row = connection.execute(FULL_SCAN_SQL, {"shop_id": shop.shop_id, "false": False}).one()
        return tuple(row)

    try:
        kpis_30 = measure(
            lambda: get("/api/kpis", today - timedelta(days=29), today), repeat=repeat
        )
        kpis_365 = measure(
            lambda: get("/api/kpis", today - timedelta(days=364), today), repeat=repeat
        )
        cohorts = measure(
            lambda: get("/api/cohorts", (today - timedelta(days=365)).replace(day=1), today),
            repeat=repeat,
        )
        scan = measure(full_scan, repeat=max(3, repeat // 3), warmup=1)
        lifetime = get("/api/kpis", today - timedelta(days=4 * 365), today)
        _, scanned_orders, _, scanned_revenue = full_scan()
        if lifetime["orders"] != int(scanned_orders) or Decimal(
            lifetime["gross_revenue"]
        ) != Decimal(str(scanned_revenue)).quantize(Decimal("0.01")):
            raise RuntimeError(
                f"the API and the full scan disagree: {lifetime['orders']} orders, "
                f"{lifetime['gross_revenue']} vs {scanned_orders} orders, {scanned_revenue}"
            )
        month_start = today - timedelta(days=29)
        _check_active_counts(
            app, shop.shop_id, month_start, today, get("/api/kpis", month_start, today)
        )
        version = _version(engine)
    finally:
        get_database(app).dispose()
    return BackendResult(
        backend=backend,
        version=version,
        shop=shop,
        kpis_30_days=kpis_30,
        kpis_365_days=kpis_365,
        cohorts_12_months=cohorts,
        full_scan=scan,
        orders_checked=int(scanned_orders),
    )


def _check_active_counts(
    app: Any, shop_id: int, start: date, end: date, body: dict[str, Any]
) -> None:
    """Fail unless the API's active customers equal a count of customer days in the windows."""
    days = DEFAULT_ACTIVE_DAYS  # the benchmark's app runs with the default RETENTION_ACTIVE_DAYS
    with get_database(app).session_scope() as session:
        counted = (
            kpis._distinct_customers(
                session, shop_id, start - timedelta(days=days), start - timedelta(days=1)
            ),
            kpis._distinct_customers(session, shop_id, end - timedelta(days=days - 1), end),
        )
    answered = (body["customers_active_at_start"], body["customers_active_at_end"])
    if answered != counted:
        raise RuntimeError(f"active customers {answered} from deltas, {counted} from customer days")


def _version(engine: sa.Engine) -> str:
    if engine.dialect.name == "sqlite":
        return sqlite3.sqlite_version
    with engine.connect() as connection:
        return str(connection.scalar(sa.text("SHOW server_version"))).split()[0]


@contextmanager
def sqlite_database() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="bench-dashboard-") as directory:
        url = f"sqlite:///{Path(directory) / 'shop.sqlite3'}"
        migrations_runner.upgrade(url)
        yield url


@contextmanager
def postgres_database(url: str, schema: str = BENCH_SCHEMA) -> Iterator[str]:
    """Yield *url* narrowed to a fresh, migrated schema of the benchmark's own; drop it after."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    admin = sa.create_engine(url)
    with admin.begin() as connection:
        connection.execute(sa.text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        connection.execute(sa.text(f"CREATE SCHEMA {schema}"))
    separator = "&" if "?" in url else "?"
    scoped = f"{url}{separator}options=-csearch_path%3D{schema}"
    try:
        migrations_runner.upgrade(scoped)
        yield scoped
    finally:
        with admin.begin() as connection:
            connection.execute(sa.text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        admin.dispose()


def render_section(results: Sequence[BackendResult], command: str) -> str:
    def cell(timing: Timing) -> str:
        return f"{timing.p50_ms:.1f} / {timing.p95_ms:.1f}"

    lines = [
        SECTION_HEADING,
        "",
        f"Command: `{command}`  ",
        f"Machine: {machine_description()}  ",
        f"Date: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        "",
        "Warm latency in milliseconds (p50 / p95) of the API through the Flask test client "
        "(session-token check, rollup queries, JSON), against one plain SQL full-scan "
        "aggregation of the raw orders in the same run. Build times in seconds.",
        "",
        "| Backend | Orders | Customers | Insert (s) | Rollup rebuild (s) "
        "| `/api/kpis` 30 days | `/api/kpis` 365 days | `/api/cohorts` 12 months "
        "| Full scan SQL |",
        "| - | -: | -: | -: | -: | -: | -: | -: | -: |",
    ]
    for r in results:
        lines.append(
            f"| {r.backend} {r.version} | {r.shop.orders:,} | {r.shop.customers:,} "
            f"| {r.shop.insert_seconds:.0f} | {r.shop.rebuild_seconds:.0f} "
            f"| {cell(r.kpis_30_days)} | {cell(r.kpis_365_days)} | {cell(r.cohorts_12_months)} "
            f"| {cell(r.full_scan)} |"
        )
    lines += [
        "",
        "`/api/kpis` computes the period and the previous period (two sets of queries). The API's "
        "lifetime orders and revenue were checked against the full scan in the same run.",
        "",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> list[BackendResult]:
    parser = argparse.ArgumentParser(
        prog="python -m bench.dashboard", description=(__doc__ or "").split("\n")[0]
    )
    parser.add_argument("--orders", type=int, default=DEFAULT_ORDERS)
    parser.add_argument("--customers", type=int, default=None, help="default: orders / 5")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--repeat", type=int, default=20, help="timed requests per endpoint")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument(
        "--postgres-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_POSTGRES_URL)
    )
    parser.add_argument("--schema", default=BENCH_SCHEMA, help="PostgreSQL schema to work in")
    parser.add_argument("--write-docs", action="store_true", help=f"update {SECTION_HEADING!r}")
    args = parser.parse_args(argv)
    customers = args.customers or max(1, args.orders // 5)
    results = []
    for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
        if backend == "sqlite":
            context = sqlite_database()
        elif backend == "postgresql":
            context = postgres_database(args.postgres_url, args.schema)
        else:
            raise SystemExit(f"unknown backend {backend!r}")
        with context as url:
            results.append(
                run_backend(
                    backend,
                    url,
                    orders=args.orders,
                    customers=customers,
                    seed=args.seed,
                    repeat=args.repeat,
                )
            )
    command = ".venv/bin/python -m bench.dashboard " + " ".join(
        argv if argv is not None else sys.argv[1:]
    )
    section = render_section(results, command.strip())
    print(section)  # noqa: T201 - a command-line report
    if args.write_docs:
        replace_section(DOCS_PATH, SECTION_HEADING, section)
    return results


if __name__ == "__main__":
    main()
