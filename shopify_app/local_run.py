"""`make run`: the whole app on one machine with no Shopify account and no external service.

Starts, in this process: the web app on 127.0.0.1, the in-process webhook worker, a local SMTP
sink (every email lands in instance/outbox/ and on the /demo/outbox page), the demo store (two
years of history imported as a new shop's backfill is, in chunks with one rollup rebuild, then
live events delivered as signed webhooks on a compressed clock) and the flow jobs, run against the
demo's simulated clock. Settings come from `instance/local.env` (random secrets written on first
run, never committed); variables already set in the environment win. The demo database is
recreated on every run.
"""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import threading
import time
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path
from typing import Any

import click
from aiosmtpd.controller import Controller
from flask import Flask
from sqlalchemy import delete
from werkzeug.serving import BaseWSGIServer
from werkzeug.serving import make_server

from jobs import kpi_snapshots
from jobs import scheduler
from jobs.predictions import refresh_shop_predictions
from jobs.rollups import rebuild_shop_rollups
from shopify_app import create_app
from shopify_app import migrations_runner
from shopify_app.context import get_cipher
from shopify_app.context import get_settings
from shopify_app.db import get_database
from shopify_app.demo import DEMO_SHOP_DOMAIN
from shopify_app.demo.deliveries import DeliverySummary
from shopify_app.demo.deliveries import WebhookTarget
from shopify_app.demo.generator import DemoEvent
from shopify_app.demo.generator.simulation import FULL_STORE_CUSTOMERS
from shopify_app.demo.player import DemoStore
from shopify_app.gateway import API_VERSION
from shopify_app.gateway.oauth import TokenGrant
from shopify_app.models.backfill_run import BackfillRun
from shopify_app.paths import PROJECT_ROOT
from shopify_app.settings import DEFAULT_SCOPES
from shopify_app.store.credentials import install_shop
from shopify_app.store.token_cipher import generate_key
from shopify_app.web.dashboard.demo_launcher import OUTBOX_DIR
from webhooks.worker import start_background_worker

INSTANCE_DIR = PROJECT_ROOT / "instance"
LOCAL_ENV = INSTANCE_DIR / "local.env"
DEMO_DATABASE = INSTANCE_DIR / "demo.sqlite3"
HOST = "127.0.0.1"
SMTP_PORT = 1025


def ensure_local_env(path: Path = LOCAL_ENV, *, port: int = 5000) -> dict[str, str]:
    """Return the local settings, writing a file of fresh random secrets on first use."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        lines = {
            "SHOPIFY_API_KEY": "local-demo-app",
            "SHOPIFY_API_SECRET": secrets.token_hex(32),
            "SECRET_KEY": secrets.token_urlsafe(48),
            "TOKEN_ENCRYPTION_KEY": generate_key(),
            "MAIL_FROM": "retention@localhost.localdomain",
        }
        path.write_text("".join(f"{k}={v}\n" for k, v in lines.items()))
        path.chmod(0o600)
    values: dict[str, str] = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    values.update(
        {
            "APP_URL": f"http://{HOST}:{port}",
            "SMTP_URL": f"smtp://{HOST}:{SMTP_PORT}",
            "DATABASE_URL": f"sqlite:///{DEMO_DATABASE}",
            "DEMO_MODE": "true",
            "BACKGROUND_WORKER": "true",
        }
    )
    return values


class OutboxSink:
    """An SMTP server on 127.0.0.1 that keeps every message as a .eml file."""

    def __init__(self, directory: Path, *, port: int = SMTP_PORT) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.count = 0
        self._lock = threading.Lock()
        self._controller = Controller(self, hostname=HOST, port=port)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self._lock:
            self.count += 1
            name = f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{self.count:05d}.eml"
        (self.directory / name).write_bytes(envelope.content)
        return "250 Message accepted for delivery"

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()


def install_demo_shop(app: Flask, *, now: datetime) -> int:
    """Install the demo shop with a local, non-expiring credential; it never calls Shopify."""
    grant = TokenGrant(
        access_token="local-demo-token",
        scope=DEFAULT_SCOPES + ",read_all_orders",
        expires_at=None,
        refresh_token=None,
        refresh_token_expires_at=None,
    )
    with get_database(app).session_scope() as session:
        shop = install_shop(
            session, shop_domain=DEMO_SHOP_DOMAIN, grant=grant, cipher=get_cipher(app), now=now
        )
        shop.name = "Retention Demo Store"
        shop.email = "owner@retention-demo.example"
        # History comes from the demo store's import; there is no Shopify to export from.
        session.execute(delete(BackfillRun).where(BackfillRun.shop_id == shop.id))
        return shop.id


def refresh_read_models(app: Flask, shop_id: int, *, now: datetime) -> None:
    """Rebuild the aggregates and predictions the dashboard reads, as the nightly jobs would."""
    rebuild_shop_rollups(app, shop_id, now=now)
    refresh_shop_predictions(app, shop_id, now=now)


def run_flow_jobs(app: Flask, *, now: datetime) -> None:
    """Run the demo shop's due scheduler jobs (the flows) once, at the simulated *now*."""
    scheduler.run_once(app, now=now, domain=DEMO_SHOP_DOMAIN)


def refresh_kpi_snapshots(app: Flask, shop_id: int) -> None:
    """Do what the scheduler's `kpis.refresh` does each minute, on the page's (real) clock."""
    kpi_snapshots.refresh_kpi_snapshots(app, shop_id, datetime.now(UTC))


def main(argv: list[str] | None = None) -> None:
    """Run the app, the demo store and its flows locally until Ctrl-C (`make run`)."""
    args = _parse_args(argv)
    _prepare_instance(port=args.port)
    app = _create_demo_app()
    now = datetime.now(UTC)
    shop_id = install_demo_shop(app, now=now)
    sink = _start_outbox_sink()
    server = _start_web_server(app, port=args.port)
    start_background_worker(app)
    base_url = f"http://{HOST}:{args.port}"
    click.secho(f"\nRetention is running: open {base_url}/demo", fg="green", bold=True)
    click.echo(f"Emails sent by the flows: {base_url}/demo/outbox   (Ctrl-C stops everything)\n")
    store = _demo_store(
        app, base_url=base_url, now=now, seed=args.seed, customers=args.customers, speed=args.speed
    )
    stop = threading.Event()
    try:
        summary = _import_history(app, store, shop_id)
        # The import rebuilt the rollups; the predictions are the other nightly read model.
        refresh_shop_predictions(app, shop_id, now=store.clock.now())
        run_flow_jobs(app, now=store.clock.now())
        refresh_kpi_snapshots(app, shop_id)
        _echo_history(summary, sink, base_url=base_url)
        if args.no_live:
            return
        _run_live(app, shop_id, store, stop, speed=args.speed)
    except KeyboardInterrupt:
        click.echo("\nStopping…")
    finally:
        stop.set()
        server.shutdown()
        sink.stop()


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Run Retention locally with a demo store.")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "5000")))
    parser.add_argument(
        "--customers",
        type=int,
        default=int(os.environ.get("DEMO_CUSTOMERS", str(FULL_STORE_CUSTOMERS))),
        help="demo store size (the generator's full size is 5000)",
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--speed", type=float, default=3600.0, help="simulated seconds per real second"
    )
    parser.add_argument("--no-live", action="store_true", help="stop after the history")
    return parser.parse_args(argv)


def _prepare_instance(*, port: int) -> None:
    """Put the local settings in the environment (set ones win) and drop the old demo database."""
    for key, value in ensure_local_env(port=port).items():
        os.environ.setdefault(key, value)
    DEMO_DATABASE.unlink(missing_ok=True)
    for suffix in ("-wal", "-shm"):
        Path(str(DEMO_DATABASE) + suffix).unlink(missing_ok=True)


def _create_demo_app() -> Flask:
    """Create the app from the environment, quiet its routine logs, and migrate its database."""
    app = create_app()
    # Request lines and routine worker notes would bury the progress bars; the summary counts
    # retried deliveries (the demo sends some out of order on purpose), so only errors show.
    for name in ("werkzeug", "shopify_app", "jobs"):
        logging.getLogger(name).setLevel(logging.WARNING)
    logging.getLogger("webhooks").setLevel(logging.ERROR)
    migrations_runner.upgrade(get_settings(app).database_url)
    return app


def _start_outbox_sink() -> OutboxSink:
    sink = OutboxSink(OUTBOX_DIR)
    for old in OUTBOX_DIR.glob("*.eml"):
        old.unlink()
    sink.start()
    return sink


def _start_web_server(app: Flask, *, port: int) -> BaseWSGIServer:
    server = make_server(HOST, port, app, threaded=True)
    threading.Thread(target=server.serve_forever, name="web", daemon=True).start()
    return server


def _demo_store(
    app: Flask, *, base_url: str, now: datetime, seed: int, customers: int, speed: float
) -> DemoStore:
    """Return the demo store, its webhooks signed with *app*'s secret and sent to *base_url*."""
    target = WebhookTarget(
        base_url=base_url,
        api_secret=get_settings(app).shopify_api_secret,
        shop_domain=DEMO_SHOP_DOMAIN,
        api_version=API_VERSION,
    )
    return DemoStore(target=target, now=now, seed=seed, customers=customers, speed=speed)


class _HistoryBar:
    """A progress bar in thousandths of the history, moved on to each chunk's last moment."""

    STEPS = 1000

    def __init__(self, bar: Any, *, start: datetime, end: datetime) -> None:
        self._bar = bar
        self._start = start
        self._span = (end - start).total_seconds()
        self._shown = 0

    def advance(self, event: DemoEvent) -> None:
        done = (event.occurred_at - self._start).total_seconds() / self._span
        target = min(int(done * self.STEPS), self.STEPS)
        if target > self._shown:
            self._bar.update(target - self._shown)
            self._shown = target

    def finish(self) -> None:
        self._bar.update(self.STEPS - self._shown)


def _import_history(app: Flask, store: DemoStore, shop_id: int) -> DeliverySummary:
    """Import the demo store's two years of history, with a progress bar."""
    end = store.simulation.now
    with click.progressbar(
        length=_HistoryBar.STEPS, label="Importing two years of store history", show_percent=True
    ) as bar:
        progress = _HistoryBar(bar, start=end - timedelta(days=730), end=end)
        summary = store.import_history(
            get_database(app).session_factory, shop_id=shop_id, on_chunk=progress.advance
        )
        progress.finish()
    return summary


def _echo_history(summary: DeliverySummary, sink: OutboxSink, *, base_url: str) -> None:
    click.echo("")
    click.secho("Demo store history", bold=True)
    click.echo(f"  events imported    {summary.delivered:>8}")
    click.echo(f"  import failures    {summary.failed:>8}")
    click.echo(f"  emails sent        {sink.count:>8}")
    click.secho(f"\nDashboard: {base_url}/demo   Outbox: {base_url}/demo/outbox", fg="green")


def _run_live(
    app: Flask, shop_id: int, store: DemoStore, stop: threading.Event, *, speed: float
) -> None:
    """Play the store's future on its compressed clock and run the jobs on it, until stopped."""
    click.echo(f"Live mode: one simulated hour per {3600 / speed:g} s; Ctrl-C stops.")
    live = threading.Thread(target=store.play_live, kwargs={"stop": stop}, daemon=True)
    live.start()
    last_rollup = store.clock.now()
    while not stop.is_set():
        time.sleep(2.0)
        simulated = store.clock.now()
        run_flow_jobs(app, now=simulated)
        if simulated - last_rollup >= timedelta(days=1):
            refresh_read_models(app, shop_id, now=simulated)
            last_rollup = simulated
        refresh_kpi_snapshots(app, shop_id)


if __name__ == "__main__":
    main()
