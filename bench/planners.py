"""Planner tick time: grows with due work, not with total rows (abandoned-checkout planner).

    python -m bench.planners --database-url postgresql://postgres@127.0.0.1:5432/bench \
        --shops 10000 --sizes 100000,300000,1000000 --due 1000 --write-docs

For each size, the database holds *shops* installed shops and that many open checkouts, bulk
inserted with `INSERT ... SELECT generate_series` (all abandoned weeks ago, outside every reminder
window). One tick is what the scheduler does every 5 minutes: `jobs.scheduler.run_job` of
`flows.abandoned_checkout.plan` over every installed shop, each shop in its own transaction.
The baseline is a tick with nothing due; then *due* checkouts abandoned two hours ago are added
(spread over the shops) and a tick plans their reminders. THE DATABASE IS WIPED.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa

from bench.report import DOCS_PATH
from bench.report import machine_description
from bench.report import normalise_postgres_url
from bench.report import replace_section
from bench.report import section_footer

SECTION_HEADING = "## Planner tick"
JOB = "flows.abandoned_checkout.plan"


@dataclass
class Tick:
    shops: int
    checkouts: int
    due: int
    idle_seconds: float
    due_seconds: float
    planned: int


def prepare(url: str, shops: int) -> None:
    from shopify_app import migrations_runner

    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.text("DROP SCHEMA IF EXISTS public CASCADE"))
        connection.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()
    migrations_runner.upgrade(url)
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO shops (domain, name, currency, iana_timezone, installed_at, "
                "created_at, updated_at) SELECT 'shop' || g || '.myshopify.com', 'Shop ' || g, "
                "'USD', 'UTC', now(), now(), now() FROM generate_series(1, CAST(:n AS bigint)) AS g"
            ),
            {"n": shops},
        )
    engine.dispose()


def add_idle_checkouts(engine: sa.Engine, *, start: int, count: int, shops: int) -> None:
    """Insert open checkouts abandoned 30-60 days ago (never due), spread over the shops."""
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO checkouts (shop_id, token, email, buyer_accepts_marketing, "
                "line_items, currency, total_price, shopify_created_at, shopify_updated_at, "
                "created_at) "
                "SELECT 1 + (g % CAST(:shops AS bigint)), 'idle-' || g, "
                "'idle' || g || '@example.com', false, "
                "'[]', 'USD', 10, now() - interval '60 days', "
                "now() - interval '30 days' - (g % 1000) * interval '1 minute', now() "
                "FROM generate_series(CAST(:start AS bigint), CAST(:stop AS bigint)) AS g"
            ),
            {"shops": shops, "start": start, "stop": start + count - 1},
        )
        connection.execute(sa.text("ANALYZE checkouts"))


def add_due_checkouts(engine: sa.Engine, *, due: int, shops: int, now: datetime) -> None:
    """Insert *due* checkouts abandoned two hours ago, one per shop round-robin."""
    with engine.begin() as connection:
        connection.execute(sa.text("DELETE FROM messages"))
        connection.execute(sa.text("DELETE FROM checkouts WHERE token LIKE 'due-%'"))
        connection.execute(
            sa.text(
                "INSERT INTO checkouts (shop_id, token, email, buyer_accepts_marketing, "
                "line_items, currency, total_price, shopify_created_at, shopify_updated_at, "
                "created_at) "
                "SELECT 1 + (g % CAST(:shops AS bigint)), 'due-' || g, "
                "'due' || g || '@example.com', true, "
                "'[]', 'USD', 10, :now - interval '3 hours', :now - interval '2 hours', :now "
                "FROM generate_series(1, CAST(:due AS bigint)) AS g"
            ),
            {"shops": shops, "due": due, "now": now},
        )


def remove_due_checkouts(engine: sa.Engine) -> None:
    with engine.begin() as connection:
        connection.execute(sa.text("DELETE FROM messages"))
        connection.execute(sa.text("DELETE FROM checkouts WHERE token LIKE 'due-%'"))


def tick(app: object, *, now: datetime) -> tuple[float, int, int]:
    """Run one scheduler tick of the planner; return seconds, messages planned and failures."""
    from jobs.registry import load_jobs
    from jobs.scheduler import run_job

    job = load_jobs()[JOB]
    started = time.perf_counter()
    run = run_job(app, JOB, job, now=now)  # type: ignore[arg-type]
    elapsed = time.perf_counter() - started
    planned = sum(int(result) for result in run.results.values() if isinstance(result, int))
    return elapsed, planned, len(run.failures)


def make_app(url: str) -> object:
    from shopify_app import create_app

    return create_app(
        {
            "TESTING": True,
            "SHOPIFY_API_KEY": "bench",
            "SHOPIFY_API_SECRET": "bench-secret",
            "APP_URL": "https://bench.example.com",
            "SECRET_KEY": "bench-secret-key-that-is-long-enough-0",
            "TOKEN_ENCRYPTION_KEY": "Xq3x0Yx4mHtGkVrvV7oQy8iS9yZ4pI6n6yqN8C3Yp0s=",
            "DATABASE_URL": url,
            "BACKGROUND_WORKER": False,
            "REDIS_URL": "",
        }
    )


def measure(url: str, *, shops: int, sizes: Sequence[int], due: int) -> list[Tick]:
    from shopify_app.db import get_database

    url = normalise_postgres_url(url)
    prepare(url, shops)
    engine = sa.create_engine(url)
    app = make_app(url)
    ticks = []
    inserted = 0
    try:
        for size in sorted(sizes):
            add_idle_checkouts(engine, start=inserted + 1, count=size - inserted, shops=shops)
            inserted = size
            now = datetime.now(UTC)
            remove_due_checkouts(engine)
            idle_seconds, idle_planned, failures = tick(app, now=now)
            if idle_planned or failures:
                raise SystemExit(f"the idle tick planned {idle_planned}, failed {failures}")
            add_due_checkouts(engine, due=due, shops=shops, now=now)
            due_seconds, planned, failures = tick(app, now=now)
            if failures or planned < due * 0.8:
                raise SystemExit(f"the due tick planned {planned} of {due}, failed {failures}")
            ticks.append(Tick(shops, size, due, idle_seconds, due_seconds, planned))
    finally:
        get_database(app).dispose()  # type: ignore[arg-type]
        engine.dispose()
    return ticks


def render_section(ticks: Sequence[Tick], *, command: str, machine: str) -> str:
    rows = [
        "| Shops | Open checkouts | Due | Planned | Tick, none due (s) | Tick, due (s) "
        "| Due/none ratio | Extra ms per due checkout |",
        "| -: | -: | -: | -: | -: | -: | -: | -: |",
    ]
    for t in ticks:
        ratio = t.due_seconds / t.idle_seconds if t.idle_seconds else 0.0
        extra = (t.due_seconds - t.idle_seconds) * 1000 / t.due if t.due else 0.0
        rows.append(
            f"| {t.shops} | {t.checkouts} | {t.due} | {t.planned} | {t.idle_seconds:.2f} "
            f"| {t.due_seconds:.2f} | {ratio:.2f} | {extra:.1f} |"
        )
    method = (
        "One scheduler tick of the abandoned-checkout planner (`run_job` over every installed "
        "shop, one transaction per shop) with a growing number of open checkouts that are not "
        "due, against the same tick with a fixed number of due checkouts added. `Planned` counts "
        "the new messages (control-group ones included). The idle tick measures the per-shop "
        "cost (settings read, one indexed range query on `ix_checkouts_shop_open_updated` that "
        "finds nothing); the difference is the cost of the due work."
    )
    largest = max(ticks, key=lambda t: t.checkouts)
    note = ""
    if largest.checkouts < 1_000_000 or largest.shops < 10_000:
        note = (
            f"The issue asks for 10,000 shops and 1,000,000 checkouts; this run stopped at "
            f"{largest.shops} shops and {largest.checkouts} checkouts to fit the time of a "
            "working session on a shared machine."
        )
    return "\n".join(
        [
            SECTION_HEADING,
            "",
            textwrap.fill(method, width=100),
            "",
            *rows,
            "",
            *([textwrap.fill(note, width=100), ""] if note else []),
            *section_footer(command=command, machine=machine),
        ]
    )


def main(argv: Sequence[str] | None = None) -> list[Tick]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True, help="a PostgreSQL database to WIPE")
    parser.add_argument("--shops", type=int, default=10_000)
    parser.add_argument("--sizes", default="100000,300000,1000000")
    parser.add_argument("--due", type=int, default=1000)
    parser.add_argument("--write-docs", action="store_true")
    parser.add_argument("--docs-path", type=Path, default=DOCS_PATH)
    args = parser.parse_args(argv)
    sizes = [int(part) for part in args.sizes.split(",") if part.strip()]
    ticks = measure(args.database_url, shops=args.shops, sizes=sizes, due=args.due)
    command = "python -m bench.planners " + " ".join(argv if argv is not None else sys.argv[1:])
    section = render_section(ticks, command=command, machine=machine_description())
    sys.stdout.write(section)
    if args.write_docs:
        replace_section(args.docs_path, SECTION_HEADING, section)
    return ticks


if __name__ == "__main__":
    main()
