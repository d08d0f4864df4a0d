"""`make run`: the whole app on one machine with no Shopify account and no external service.

Starts, in this process: the web app on 127.0.0.1, the in-process webhook worker, a local SMTP
sink (every email lands in instance/outbox/ and on the /demo/outbox page), the demo store (two
years of history delivered as signed webhooks, then live events on a compressed clock) and the
flow jobs, run against the demo's simulated clock. Settings come from `instance/local.env`
(random secrets written on first run, never committed); variables already set in the
environment win. The demo database is recreated on every run.
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

from shopify_app import PROJECT_ROOT
from shopify_app.store.token_cipher import generate_key
from shopify_app.web.dashboard.demo_launcher import OUTBOX_DIR

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
        from aiosmtpd.controller import Controller

        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.count = 0
        self._lock = threading.Lock()
        self._controller = Controller(self, hostname=HOST, port=port)

    async def handle_DATA(
        self, server: Any, session: Any, envelope: Any
    ) -> str:
        with self._lock:
            self.count += 1
            name = f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{self.count:05d}.eml"
        (self.directory / name).write_bytes(envelope.content)
        return "250 Message accepted for delivery"

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()


def install_demo_shop(app: Any, *, now: datetime) -> int:
    """Install the demo shop with a local, non-expiring credential; it never calls Shopify."""
    from sqlalchemy import delete

    from shopify_app.context import get_cipher
    from shopify_app.db import get_database
    from shopify_app.demo import DEMO_SHOP_DOMAIN
    from shopify_app.gateway.oauth import TokenGrant
    from shopify_app.models.backfill_run import BackfillRun
    from shopify_app.settings import DEFAULT_SCOPES
    from shopify_app.store.credentials import install_shop

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
        # History arrives as webhooks from the demo player; there is no Shopify to import from.
        session.execute(delete(BackfillRun).where(BackfillRun.shop_id == shop.id))
        return shop.id


def inbox_counts(app: Any) -> dict[str, int]:
    from sqlalchemy import func
    from sqlalchemy import select

    from shopify_app.db import get_database
    from shopify_app.models import WebhookDelivery

    with get_database(app).session_scope() as session:
        rows = session.execute(
            select(WebhookDelivery.status, func.count()).group_by(WebhookDelivery.status)
        ).all()
    return {str(status): int(count) for status, count in rows}


def pending_deliveries(app: Any) -> int:
    """Count deliveries still waiting for (or in) processing."""
    counts = inbox_counts(app)
    return counts.get("pending", 0) + counts.get("processing", 0)


def refresh_read_models(app: Any, shop_id: int, *, now: datetime) -> None:
    """Rebuild the aggregates and predictions the dashboard reads, as the nightly jobs would."""
    from jobs.predictions import refresh_shop_predictions
    from jobs.rollups import rebuild_shop_rollups

    rebuild_shop_rollups(app, shop_id, now=now)
    refresh_shop_predictions(app, shop_id, now=now)


def run_flow_jobs(app: Any, *, now: datetime) -> None:
    from jobs import scheduler
    from shopify_app.demo import DEMO_SHOP_DOMAIN

    scheduler.run_once(app, now=now, domain=DEMO_SHOP_DOMAIN)


def refresh_kpi_snapshots(app: Any, shop_id: int) -> None:
    """Do what the scheduler's `kpis.refresh` does each minute, on the page's (real) clock."""
    from jobs.kpi_snapshots import refresh_kpi_snapshots as refresh

    refresh(app, shop_id, datetime.now(UTC))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run Retention locally with a demo store.")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "5000")))
    parser.add_argument(
        "--customers",
        type=int,
        default=int(os.environ.get("DEMO_CUSTOMERS", "200")),
        help="demo store size (the generator's full size is 5000)",
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--speed", type=float, default=3600.0, help="simulated seconds per real second"
    )
    parser.add_argument("--no-live", action="store_true", help="stop after the history")
    args = parser.parse_args(argv)

    for key, value in ensure_local_env(port=args.port).items():
        os.environ.setdefault(key, value)
    DEMO_DATABASE.unlink(missing_ok=True)
    for suffix in ("-wal", "-shm"):
        Path(str(DEMO_DATABASE) + suffix).unlink(missing_ok=True)

    import click
    from werkzeug.serving import make_server

    from shopify_app import create_app
    from shopify_app import migrations_runner
    from shopify_app.context import get_settings
    from shopify_app.demo import DEMO_SHOP_DOMAIN
    from shopify_app.demo.deliveries import WebhookTarget
    from shopify_app.demo.player import DemoStore
    from shopify_app.gateway import API_VERSION
    from webhooks.worker import start_background_worker

    app = create_app()
    # Request lines and routine worker notes would bury the progress bars; the summary counts
    # retried deliveries (the demo sends some out of order on purpose), so only errors show.
    for name in ("werkzeug", "shopify_app", "jobs"):
        logging.getLogger(name).setLevel(logging.WARNING)
    logging.getLogger("webhooks").setLevel(logging.ERROR)
    settings = get_settings(app)
    migrations_runner.upgrade(settings.database_url)
    now = datetime.now(UTC)
    shop_id = install_demo_shop(app, now=now)

    sink = OutboxSink(OUTBOX_DIR)
    for old in OUTBOX_DIR.glob("*.eml"):
        old.unlink()
    sink.start()
    server = make_server(HOST, args.port, app, threaded=True)
    threading.Thread(target=server.serve_forever, name="web", daemon=True).start()
    start_background_worker(app)

    base_url = f"http://{HOST}:{args.port}"
    click.secho(f"\nRetention is running: open {base_url}/demo", fg="green", bold=True)
    click.echo(f"Emails sent by the flows: {base_url}/demo/outbox   (Ctrl-C stops everything)\n")

    store = DemoStore(
        target=WebhookTarget(
            base_url=base_url,
            api_secret=settings.shopify_api_secret,
            shop_domain=DEMO_SHOP_DOMAIN,
            api_version=API_VERSION,
        ),
        now=now,
        seed=args.seed,
        customers=args.customers,
        speed=args.speed,
    )
    stop = threading.Event()
    history_start = store.simulation.now - timedelta(days=730)
    span = (store.simulation.now - history_start).total_seconds()
    try:
        with click.progressbar(
            length=1000, label="Delivering two years of store history", show_percent=True
        ) as bar:
            shown = 0

            def progress(delivery: Any) -> None:
                nonlocal shown
                done = (delivery.triggered_at - history_start).total_seconds() / span
                target = min(int(done * 1000), 1000)
                if target > shown:
                    bar.update(target - shown)
                    shown = target

            summary = store.play_history(stop=stop, on_progress=progress)
            bar.update(1000 - shown)
        with click.progressbar(length=max(pending_deliveries(app), 1), label="Processing") as bar:
            left = pending_deliveries(app)
            while left:
                time.sleep(0.5)
                now_left = pending_deliveries(app)
                bar.update(max(left - now_left, 0))
                left = now_left
        refresh_read_models(app, shop_id, now=store.clock.now())
        run_flow_jobs(app, now=store.clock.now())
        refresh_kpi_snapshots(app, shop_id)
        counts = inbox_counts(app)
        click.echo("")
        click.secho("Demo store delivered", bold=True)
        click.echo(f"  events delivered   {summary.delivered:>8}")
        click.echo(f"  duplicates sent    {summary.duplicates_sent:>8}")
        click.echo(f"  delivery failures  {summary.failed:>8}")
        click.echo(f"  processed          {counts.get('done', 0):>8}")
        click.echo(f"  retrying           {counts.get('failed', 0):>8}  (came before their order)")
        click.echo(f"  dead-lettered      {counts.get('dead', 0):>8}")
        click.echo(f"  emails sent        {sink.count:>8}")
        click.secho(f"\nDashboard: {base_url}/demo   Outbox: {base_url}/demo/outbox", fg="green")
        if args.no_live:
            return
        click.echo(f"Live mode: one simulated hour per {3600 / args.speed:g} s; Ctrl-C stops.")
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
    except KeyboardInterrupt:
        click.echo("\nStopping…")
    finally:
        stop.set()
        server.shutdown()
        sink.stop()


if __name__ == "__main__":
    main()
