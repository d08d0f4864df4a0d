"""Benchmark webhook acknowledgements while the in-process worker drains a backlog, on SQLite.

The embedded default (`make run`, a single-process install) runs the inbox worker in the web
process (`webhooks.worker.BackgroundWorker`, started by the first request when
BACKGROUND_WORKER is on). On SQLite its batch transactions hold the database's one write lock,
and every acknowledgement's INSERT needs that lock too. This measures, in one run:

1. the bare endpoint of `bench.webhook_ack` (verify the HMAC, insert the body once) under
   gunicorn with the repo's gunicorn.conf.py, driven by wrk at its maximum rate;
2. our app under the same gunicorn settings with BACKGROUND_WORKER on and a backlog of pending
   `orders/create` deliveries (`bench.processing.store_bodies`) in the inbox, so the worker is
   busy throughout: its maximum rate with wrk, then latency under an open-loop constant rate of
   half that maximum (`bench.open_loop`: latency from the scheduled send, no coordinated
   omission). Done deliveries are counted around each load: the worker's rate while it ran.

Both servers time every SQLite write transaction's wait for the write lock and its hold, per
thread kind (`bench.lock_trace`): where an acknowledgement's time goes when the target is missed.

Every request carries a webhook id of its own (a real insert); bodies are the signed orders of
`bench.webhook_ack.build_payloads`, signed once each and cycled (`bench/signed_webhooks.lua`).

Needs wrk (Debian: `apt-get install -y wrk`).

    .venv/bin/python -m bench.ack_under_processing               # print the table
    .venv/bin/python -m bench.ack_under_processing --write-docs  # also update docs/benchmarks.md
"""

from __future__ import annotations

import argparse
import concurrent.futures
import multiprocessing
import runpy
import sqlite3
import sys
import tempfile
import textwrap
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import sqlalchemy as sa

from bench import lock_trace
from bench import open_loop
from bench import wrk
from bench.processing import SHOP
from bench.processing import reset_data
from bench.processing import store_bodies
from bench.report import DOCS_PATH
from bench.report import REPO_ROOT
from bench.report import machine_description
from bench.report import replace_section
from bench.report import section_footer
from bench.webhook_ack import CEILING
from bench.webhook_ack import OURS
from bench.webhook_ack import SECRET
from bench.webhook_ack import Delivery
from bench.webhook_ack import build_payloads
from bench.webhook_ack import ceiling_table
from bench.webhook_ack import count_stored
from bench.webhook_ack import serving_gunicorn
from bench.webhook_ack import signed_headers
from bench.webhook_ack import sqlite_database
from shopify_app.db import make_engine
from shopify_app.models import DeliveryStatus
from shopify_app.models import WebhookDelivery

SECTION_HEADING = "## Acknowledgement while processing"
_PER_REQUEST = ("X-Shopify-Hmac-Sha256", "X-Shopify-Webhook-Id", "X-Shopify-Event-Id")

SignedSet = tuple[dict[str, str], tuple[open_loop.SignedBody, ...]]
"""The headers every request shares, and the bodies with their HMACs."""


@dataclass(frozen=True)
class Phase:
    """One load against one endpoint, and what the worker processed meanwhile."""

    endpoint: str
    load: str
    seconds: float
    requests: int
    acknowledged: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    stored: int
    processed_per_second: float | None
    rate: float | None = None
    """The scheduled rate of an open-loop load; None for wrk's as-fast-as-answered."""

    @property
    def acknowledged_per_second(self) -> float:
        return self.acknowledged / self.seconds if self.seconds else 0.0


@dataclass(frozen=True)
class Outcome:
    phases: list[Phase]
    backlog: int
    pending_at_end: int
    workers: int
    threads: int
    locks: dict[str, dict[str, dict[str, float]]]
    """`bench.lock_trace.summarise` of both servers: write-lock waits and holds per thread kind."""


def repo_gunicorn_sizes() -> tuple[int, int]:
    """Return (workers, threads) as the repo's gunicorn.conf.py sets them on this machine."""
    config = runpy.run_path(str(REPO_ROOT / "gunicorn.conf.py"))
    return int(config["workers"]), int(config["threads"])


def signed_set(count: int) -> SignedSet:
    """Return the headers every request shares and *count* bodies, each signed once, for the
    installed shop of `bench.processing` (so our worker processes them like the backlog)."""
    bodies = []
    common: dict[str, str] = {}
    for body in build_payloads(count):
        headers = signed_headers(Delivery("", body), shop=SHOP)
        bodies.append(open_loop.SignedBody(body, headers["X-Shopify-Hmac-Sha256"]))
        common = {k: v for k, v in headers.items() if k not in _PER_REQUEST}
    return common, tuple(bodies)


def count_status(engine: sa.Engine, status: DeliveryStatus) -> int:
    with engine.connect() as connection:
        query = sa.select(sa.func.count(WebhookDelivery.id)).where(WebhookDelivery.status == status)
        return int(connection.scalar(query) or 0)


class Meter:
    """Runs the loads of one benchmark run against one database and records each as a Phase."""

    def __init__(self, engine: sa.Engine, signed_file: Path, *, seconds: float, connections: int):
        self.engine = engine
        self.signed_file = signed_file
        self.seconds = seconds
        self.connections = connections

    def max_rate(self, kind: str, url: str, *, warmup: float) -> Phase:
        """Warm *url* up, then measure its maximum rate with wrk, counting processed rows."""
        wrk.run_wrk(url, self.signed_file, prefix=f"warm-{kind}-", seconds=warmup, connections=2)
        prefix = f"{kind}-max-"  # `count_stored` counts "<kind>-<run>-*"
        done_before, started = count_status(self.engine, DeliveryStatus.DONE), time.monotonic()
        run = wrk.run_wrk(
            url, self.signed_file, prefix=prefix, seconds=self.seconds, connections=self.connections
        )
        processed = self._processed_per_second(kind, done_before, time.monotonic() - started)
        return Phase(
            endpoint=kind,
            load=f"wrk, {self.connections} connections (max rate)",
            seconds=run.seconds,
            requests=run.requests,
            acknowledged=run.requests - run.failed,
            p50_ms=run.p50_ms,
            p99_ms=run.p99_ms,
            max_ms=run.max_ms,
            stored=count_stored(self.engine, run="max")[kind],
            processed_per_second=processed,
        )

    def constant_rate(self, url: str, signed: SignedSet, *, rate: float, connections: int) -> Phase:
        """Measure ours under an open-loop load of *rate* requests/s from a process of its own."""
        address = urlsplit(url)
        prefix = f"{OURS}-open-"
        plan = open_loop.LoadPlan(
            host=address.hostname or "127.0.0.1",
            port=address.port or 80,
            path=address.path,
            headers=signed[0],
            bodies=signed[1],
            id_prefix=prefix,
            rate=rate,
            seconds=self.seconds,
            connections=connections,
            start_at=time.time() + 2.0,  # the process's start-up
        )
        context = multiprocessing.get_context("spawn")
        with concurrent.futures.ProcessPoolExecutor(1, mp_context=context) as pool:
            future = pool.submit(open_loop.run, plan)
            time.sleep(max(0.0, plan.start_at - time.time()))
            done_before, started = count_status(self.engine, DeliveryStatus.DONE), time.monotonic()
            result = future.result()
            processed = self._processed_per_second(OURS, done_before, time.monotonic() - started)
        return Phase(
            endpoint=OURS,
            load=f"open loop at {rate:.0f}/s, {connections} connections",
            seconds=result.seconds,
            requests=len(result.latencies_ms) + result.failures,
            acknowledged=len(result.latencies_ms),
            p50_ms=result.percentile(0.50),
            p99_ms=result.percentile(0.99),
            max_ms=max(result.latencies_ms, default=float("nan")),
            stored=count_stored(self.engine, run="open")[OURS],
            processed_per_second=processed,
            rate=rate,
        )

    def _processed_per_second(self, kind: str, done_before: int, seconds: float) -> float | None:
        if kind == CEILING:
            return None
        return (
            (count_status(self.engine, DeliveryStatus.DONE) - done_before) / seconds
            if seconds
            else 0.0
        )


def measure(options: argparse.Namespace) -> Outcome:
    """Run the bare endpoint's and our maximum rates, then ours at half its maximum (*options*:
    the command line's, see `main`)."""
    signed = signed_set(options.bodies)
    with sqlite_database() as url, tempfile.TemporaryDirectory(prefix="bench-ack-") as scratch:
        engine = make_engine(url)
        try:
            reset_data(engine, store_bodies(options.backlog))
            ceiling_table.create(engine, checkfirst=True)
            signed_file, trace_dir = Path(scratch) / "signed.txt", Path(scratch) / "locks"
            wrk.write_signed_file(signed_file, *signed)
            trace_dir.mkdir()
            meter = Meter(
                engine, signed_file, seconds=options.seconds, connections=options.connections
            )
            servers = serving_gunicorn(
                [CEILING, OURS],
                url,
                secret=SECRET,
                workers=options.workers,
                threads=options.threads,
                background_worker=True,
                trace_dir=trace_dir,
            )
            with servers as urls:
                phases = _loads(meter, urls, signed, options.open_loop_connections, options.warmup)
                pending = count_status(engine, DeliveryStatus.PENDING)
            locks = lock_trace.summarise(trace_dir)  # written as the servers' workers exit
        finally:
            engine.dispose()
    return Outcome(phases, options.backlog, pending, options.workers, options.threads, locks)


def _loads(
    meter: Meter, urls: dict[str, str], signed: SignedSet, connections: int, warmup: float
) -> list[Phase]:
    # Ours gets no request before its warm-up, so its worker starts then, after the bare run.
    phases = [meter.max_rate(CEILING, urls[CEILING], warmup=warmup)]
    phases.append(meter.max_rate(OURS, urls[OURS], warmup=warmup))
    half = max(1.0, phases[-1].acknowledged_per_second / 2)
    phases.append(meter.constant_rate(urls[OURS], signed, rate=half, connections=connections))
    return phases


# --- report -----------------------------------------------------------------------------------


def render_table(outcome: Outcome) -> str:
    rows = [
        "| Endpoint | Load | Seconds | Requests | Acked/s | p50 ms | p99 ms | Max ms | Failed "
        "| Stored | Processed/s meanwhile |",
        "| - | - | -: | -: | -: | -: | -: | -: | -: | -: | -: |",
    ]
    for phase in outcome.phases:
        name = "ceiling (bare)" if phase.endpoint == CEILING else "ours, worker on"
        processed = (
            "" if phase.processed_per_second is None else f"{phase.processed_per_second:.0f}"
        )
        rows.append(
            f"| {name} | {phase.load} | {phase.seconds:.1f} | {phase.requests} "
            f"| {phase.acknowledged_per_second:.0f} | {phase.p50_ms:.1f} | {phase.p99_ms:.1f} "
            f"| {phase.max_ms:.1f} | {phase.requests - phase.acknowledged} | {phase.stored} "
            f"| {processed} |"
        )
    return "\n".join(rows)


def render_lock_table(outcome: Outcome) -> str:
    """Return the write-lock waits and holds of each server's transactions, per thread kind."""
    rows = [
        "| Server, threads | Transactions | Wait p50 / p99 / max ms | Hold p50 / p99 / max ms "
        "| Held in all, s |",
        "| - | -: | -: | -: | -: |",
    ]
    names = {"ceiling request": "bare, request", "ours request": "ours, request"}
    names["ours worker"] = "ours, inbox worker"
    for key, name in names.items():
        stats = outcome.locks.get(key)
        if not stats or not stats["wait_ms"]["count"]:
            continue
        wait, hold = stats["wait_ms"], stats["hold_ms"]
        rows.append(
            f"| {name} | {wait['count']:.0f} "
            f"| {wait['p50']:.1f} / {wait['p99']:.0f} / {wait['max']:.0f} "
            f"| {hold['p50']:.1f} / {hold['p99']:.0f} / {hold['max']:.0f} "
            f"| {hold['total'] / 1000:.1f} |"
        )
    return "\n".join(rows)


def verdict(outcome: Outcome) -> str:
    """Say the ratio and the p99 against the targets (0.5 of the bare rate; p99 < 100 ms)."""
    bare, ours, steady = outcome.phases
    ratio = ours.acknowledged_per_second / max(bare.acknowledged_per_second, 1e-9)
    busy = (
        f"{outcome.pending_at_end} deliveries (of the backlog of {outcome.backlog} and those "
        "acknowledged) were still pending at the end: the worker was busy throughout."
        if outcome.pending_at_end
        else "The backlog ran out before the end: the worker was idle for part of the load."
    )
    return (
        f"Ours acknowledged {ratio:.{2 if ratio >= 0.1 else 3}f} of the bare endpoint's rate "
        "(target: at least 0.5). "
        f"Offered {steady.rate or 0:.0f}/s, half our maximum, it acknowledged "
        f"{steady.acknowledged_per_second:.0f}/s with a p99 of {steady.p99_ms:.0f} ms (target: "
        f"under 100 ms) and a slowest of {steady.max_ms:.0f} ms. {busy}"
    )


LOCKS_NOTE = (
    "Write lock: every SQLite write transaction starts with `BEGIN IMMEDIATE`, which takes the "
    "database's one write lock or waits in SQLite's busy handler (`bench.lock_trace` times it "
    "per thread in the servers, over the whole run); hold is from then to COMMIT."
)


def render_section(outcome: Outcome, *, command: str, machine: str) -> str:
    method = (
        "Acknowledged webhooks per second of `POST /webhooks` while the in-process worker "
        "(`BACKGROUND_WORKER` on, one per gunicorn process, started by its first request) drains "
        f"a backlog of {outcome.backlog} pending `orders/create` deliveries "
        "(`bench.processing.store_bodies`) on SQLite, against the bare endpoint of "
        "`bench.webhook_ack` (verify the HMAC, insert the body once) in the same run and the "
        "same database file, measured first, before our worker starts. Both are served by "
        f"gunicorn with the repo's `gunicorn.conf.py` ({outcome.workers} workers x "
        f"{outcome.threads} threads). The maximum rates come from "
        "wrk (closed loop; its latencies are shown but say little); the latency row is an "
        "open-loop constant rate of half our maximum (`bench.open_loop`), each request timed "
        "from its scheduled send, so stalls are counted for every request that waited. Every "
        "request has a webhook id of its own; bodies are `bench.webhook_ack`'s signed orders "
        "(3.5-14.2 KB), cycled. `Processed/s meanwhile` counts deliveries the worker marked done "
        "during the load."
    )
    return "\n".join(
        [
            SECTION_HEADING,
            "",
            textwrap.fill(method, width=100),
            "",
            render_table(outcome),
            "",
            textwrap.fill(verdict(outcome), width=100),
            "",
            render_lock_table(outcome),
            "",
            textwrap.fill(LOCKS_NOTE, width=100),
            "",
            *section_footer(command=command, machine=machine),
        ]
    )


def main(argv: Sequence[str] | None = None) -> Outcome:
    workers, threads = repo_gunicorn_sizes()
    parser = argparse.ArgumentParser(
        prog="python -m bench.ack_under_processing", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--backlog", type=int, default=20_000, help="pending deliveries at start")
    parser.add_argument("--bodies", type=int, default=1000, help="distinct signed bodies")
    parser.add_argument("--seconds", type=float, default=15.0, help="length of each load")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections")
    parser.add_argument("--open-loop-connections", type=int, default=64)
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of wrk before each")
    parser.add_argument("--workers", type=int, default=workers, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=threads, help="gunicorn threads each")
    parser.add_argument("--write-docs", action="store_true", help=f"update {SECTION_HEADING!r}")
    parser.add_argument("--docs-path", type=Path, default=DOCS_PATH)
    args = parser.parse_args(argv)
    wrk.require_wrk()
    outcome = measure(args)
    tables = (render_table(outcome), verdict(outcome), render_lock_table(outcome))
    print(*tables, sep="\n\n")  # noqa: T201 - the benchmark's output
    if args.write_docs:
        command = ".venv/bin/python -m bench.ack_under_processing " + " ".join(
            argv if argv is not None else sys.argv[1:]
        )
        machine = machine_description({"SQLite": sqlite3.sqlite_version})
        replace_section(
            args.docs_path,
            SECTION_HEADING,
            render_section(outcome, command=command, machine=machine),
        )
    return outcome


if __name__ == "__main__":
    main()
