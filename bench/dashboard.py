"""Measure the dashboard's API at a million orders against a plain SQL full scan in the same run.

For each backend: generate a seeded shop (`bench.generate_shop`), build its rollups, fit its
predictions, let the `kpis.refresh` job compute the preset snapshots, then time through the Flask
test client with a valid session token, after warm-up requests:

- `GET /api/kpis` for the last 30 and 365 days, as the dashboard gets it (from the snapshot);
- the same right after an order changed the aggregates, before the job ran again (the answer
  must say `is_current: false` and still come from the snapshot);
- computing a summary from the aggregates, which the job pays per preset and a request pays for
  a custom period: last 30 and 365 days, and a 5-year custom range through the API;
- every other request the page makes on load for the last 30 days, and their sum;
- one plain SQL full-scan aggregation over the raw orders (lifetime orders, revenue, customers
  and repeat customers grouped by customer), what answering from raw orders costs at least.

The API's orders and revenue over the whole history are checked against that scan, its
active-customer counts (per-day deltas) against counting customer days, and the snapshot's
figures against computing them afresh.

    .venv/bin/python -m bench.dashboard --orders 1000000               # SQLite and PostgreSQL
    .venv/bin/python -m bench.dashboard --orders 1000000 --write-docs  # also docs/benchmarks.md

PostgreSQL comes from BENCH_DATABASE_URL (default: the local `test` database); the benchmark
works in a schema of its own there and drops it afterwards. SQLite uses a temporary file.
"""

from __future__ import annotations

import argparse
import dataclasses
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
from flask import Flask

from bench.generate_shop import DEFAULT_ORDERS
from bench.generate_shop import SHOP_DOMAIN
from bench.generate_shop import GeneratedShop
from bench.generate_shop import generate_shop
from bench.report import machine_description
from bench.report import replace_section
from shopify_app import create_app
from shopify_app import migrations_runner
from shopify_app.analytics import kpi_snapshots
from shopify_app.analytics import kpis
from shopify_app.analytics.kpis.activity import count_customers_between
from shopify_app.analytics.rollups.facts import DEFAULT_ACTIVE_DAYS
from shopify_app.analytics.rollups.tables import bump_version
from shopify_app.db import get_database
from shopify_app.models import KpiSnapshot
from shopify_app.predictions import refresh_predictions

REPO_ROOT = Path(__file__).resolve().parent.parent
DOCS_PATH = REPO_ROOT / "docs" / "benchmarks.md"
SECTION_HEADING = "## Dashboard"
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
BENCH_SCHEMA = "bench_dashboard"
API_KEY = "bench-api-key"
API_SECRET = "bench-api-secret-0123456789abcdef"

# Every other request the dashboard page sends on load (see static/dashboard.js).
PAGE_REQUESTS = (
    "/api/kpis/timeseries",
    "/api/cohorts",
    "/api/flows/results",
    "/api/nps",
    "/api/predictions/summary",
    "/api/products/repurchase",
    "/api/customers/at-risk",
    "/api/privacy/requests",
    "/api/webhooks/problems",
    "/api/backfill",
    "/api/shop",
)

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
    kpis_365_days_after_order: Timing
    compute_30_days: Timing
    compute_365_days: Timing
    custom_5_years: Timing
    cohorts_12_months: Timing
    page_requests: dict[str, Timing]
    full_scan: Timing
    orders_checked: int
    predictions_seconds: float | None = None

    @property
    def page_total_ms(self) -> float:
        """The p50s of every request the page makes for the last 30 days, added up."""
        return self.kpis_30_days.p50_ms + sum(t.p50_ms for t in self.page_requests.values())


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
    app = bench_app(url)
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    shop = generate_shop(get_database(app), orders=orders, customers=customers, seed=seed, end=end)
    started = time.perf_counter()
    with get_database(app).session_scope() as session:
        # The page's prediction and at-risk requests then read a fitted model and scores.
        refresh_predictions(session, shop_id=shop.shop_id, now=end)
    predictions_seconds = time.perf_counter() - started
    _vacuum_analyze(get_database(app).engine)
    result = measure_backend(backend, app, shop, repeat=repeat)
    return dataclasses.replace(result, predictions_seconds=predictions_seconds)


def _vacuum_analyze(engine: sa.Engine) -> None:
    """On PostgreSQL, do what autovacuum does soon after a bulk load in production.

    Without it the fresh tables have no planner statistics and no visibility map, so no
    index-only scans: the measurement would be of an unvacuumed database, not of the app.
    """
    if engine.dialect.name != "postgresql":
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(sa.text("VACUUM ANALYZE"))


def bench_app(url: str) -> Flask:
    return create_app(
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


def measure_backend(backend: str, app: Flask, shop: GeneratedShop, *, repeat: int) -> BackendResult:
    """Time the API on the generated shop in *app*'s database, and check it against the scan."""
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

    last_30 = (today - timedelta(days=29), today)
    last_365 = (today - timedelta(days=364), today)
    database = get_database(app)

    def refresh_snapshots() -> int:
        return kpi_snapshots.refresh_snapshots(
            database.session_scope,
            shop_id=shop.shop_id,
            now=datetime.now(UTC),
            active_days=DEFAULT_ACTIVE_DAYS,
        )

    def compute(period: tuple[date, date]) -> kpis.KpiSummary:
        with database.session_scope() as session:
            return kpis.load_summary(
                session,
                shop_id=shop.shop_id,
                period_start=period[0],
                period_end=period[1],
                now=datetime.now(UTC),
                active_days=DEFAULT_ACTIVE_DAYS,
            )

    def custom_5_years() -> dict[str, Any]:
        with database.session_scope() as session:
            session.execute(sa.delete(KpiSnapshot))  # a custom period is computed on request
        return get("/api/kpis", today - timedelta(days=5 * 365 - 2), today)

    try:
        refresh_snapshots()
        kpis_30 = measure(lambda: get("/api/kpis", *last_30), repeat=repeat)
        kpis_365 = measure(lambda: get("/api/kpis", *last_365), repeat=repeat)
        served = get("/api/kpis", *last_365)
        fresh = compute(last_365)
        if (
            not served["is_current"]
            or served["customers"] != fresh.current.customers
            or Decimal(served["historic_clv_median"] or "0")
            != (fresh.current.historic_clv_median or Decimal(0))
        ):
            raise RuntimeError(f"the snapshot disagrees with computing afresh: {served}")
        with database.session_scope() as session:
            bump_version(session, shop_id=shop.shop_id)  # as an order would
        kpis_365_after_order = measure(lambda: get("/api/kpis", *last_365), repeat=repeat)
        if get("/api/kpis", *last_365)["is_current"]:
            raise RuntimeError("an answer after an order claimed to be current")
        if refresh_snapshots() != len(kpi_snapshots.PRESET_PERIOD_DAYS):
            raise RuntimeError("the refresh job did not recompute every preset after an order")
        compute_repeat = max(3, repeat // 3)
        compute_30 = measure(lambda: compute(last_30), repeat=compute_repeat, warmup=1)
        compute_365 = measure(lambda: compute(last_365), repeat=compute_repeat, warmup=1)
        five_years = measure(custom_5_years, repeat=compute_repeat, warmup=1)
        cohorts = measure(
            lambda: get("/api/cohorts", (today - timedelta(days=365)).replace(day=1), today),
            repeat=repeat,
        )
        refresh_snapshots()
        page = {path: measure(_bound(get, path, *last_30), repeat=repeat) for path in PAGE_REQUESTS}
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
        _check_active_counts(app, shop.shop_id, *last_30, get("/api/kpis", *last_30))
        version = _version(engine)
    finally:
        database.dispose()
    return BackendResult(
        backend=backend,
        version=version,
        shop=shop,
        kpis_30_days=kpis_30,
        kpis_365_days=kpis_365,
        kpis_365_days_after_order=kpis_365_after_order,
        compute_30_days=compute_30,
        compute_365_days=compute_365,
        custom_5_years=five_years,
        cohorts_12_months=cohorts,
        page_requests=page,
        full_scan=scan,
        orders_checked=int(scanned_orders),
    )


def _bound(call: Callable[..., object], *args: Any) -> Callable[[], object]:
    return lambda: call(*args)


def _check_active_counts(
    app: Any, shop_id: int, start: date, end: date, body: dict[str, Any]
) -> None:
    """Fail unless the API's active customers equal a count of customer days in the windows."""
    days = DEFAULT_ACTIVE_DAYS  # the benchmark's app runs with the default RETENTION_ACTIVE_DAYS
    with get_database(app).session_scope() as session:
        counted = (
            count_customers_between(
                session,
                shop_id=shop_id,
                start=start - timedelta(days=days),
                end=start - timedelta(days=1),
            ),
            count_customers_between(
                session, shop_id=shop_id, start=end - timedelta(days=days - 1), end=end
            ),
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
        "Latency in milliseconds (p50 / p95) through the Flask test client (session-token check, "
        "queries, JSON) after warm-up requests, against one plain SQL full-scan aggregation of "
        'the raw orders in the same run. "Served" is what the dashboard gets for a preset '
        "period: the snapshot the `kpis.refresh` job keeps, also while a refresh is pending after "
        'an order. "Computed" is computing the summary of a period and of the one before it '
        "from the aggregates: what the job pays per preset within a minute of a change, and what "
        "a request for a custom period pays; before snapshots, every `/api/kpis` request paid it. "
        "PostgreSQL is vacuumed and analysed after the bulk load, as autovacuum would do.",
        "",
        "| Backend | Orders | Customers | Insert (s) | Rollup rebuild (s) | Predictions (s) "
        "| Full scan SQL "
        "| `/api/kpis` 30 days, served | 365 days, served | 365 days, served after an order "
        "| Full scan / served 365 days |",
        "| - | -: | -: | -: | -: | -: | -: | -: | -: | -: | -: |",
    ]
    for r in results:
        ratio = r.full_scan.p50_ms / r.kpis_365_days.p50_ms
        lines.append(
            f"| {r.backend} {r.version} | {r.shop.orders:,} | {r.shop.customers:,} "
            f"| {r.shop.insert_seconds:.0f} | {r.shop.rebuild_seconds:.0f} "
            f"| {'' if r.predictions_seconds is None else f'{r.predictions_seconds:.0f}'} "
            f"| {cell(r.full_scan)} "
            f"| {cell(r.kpis_30_days)} | {cell(r.kpis_365_days)} "
            f"| {cell(r.kpis_365_days_after_order)} | {ratio:.0f}x |"
        )
    lines += [
        "",
        "| Backend | Computed 30 days | Computed 365 days | `/api/kpis` custom 5 years (computed) "
        "| `/api/cohorts` 12 months | Every request of the page, last 30 days (sum of p50s) "
        "| Slowest of them |",
        "| - | -: | -: | -: | -: | -: | - |",
    ]
    for r in results:
        slowest_path, slowest = max(r.page_requests.items(), key=lambda item: item[1].p50_ms)
        if r.kpis_30_days.p50_ms > slowest.p50_ms:
            slowest_path, slowest = "/api/kpis", r.kpis_30_days
        lines.append(
            f"| {r.backend} {r.version} | {cell(r.compute_30_days)} | {cell(r.compute_365_days)} "
            f"| {cell(r.custom_5_years)} | {cell(r.cohorts_12_months)} "
            f"| {r.page_total_ms:.1f} | `{slowest_path}` {slowest.p50_ms:.1f} |"
        )
    lines += [
        "",
        "The page's requests: `/api/kpis` and "
        + ", ".join(f"`{p}`" for p in PAGE_REQUESTS)
        + " (the browser sends them at once; the sum is what they cost one after another). "
        "Each run also checked the served summary against computing it afresh, that an answer "
        "after an order says it is not current until the job has run, the API's lifetime "
        "orders and revenue against the full scan, and its active-customer counts against "
        "counting customer days.",
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
