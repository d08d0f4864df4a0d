"""`flask --app shopify_app shops ...`: import a shop's history and reconcile shops by hand."""

from __future__ import annotations

from typing import Any

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from shopify_app.db import get_database
from shopify_app.errors import AppError
from shopify_app.errors import InvalidShopDomain
from shopify_app.gateway.shop_domain import normalize_shop_domain
from shopify_app.models import Shop
from shopify_app.models.base import utcnow
from shopify_app.shop_clients import graphql_client_for
from shopify_app.store.sync import backfill
from shopify_app.store.sync import backfill_runs
from shopify_app.store.sync import reconciliation


@click.group("shops", cls=AppGroup)
def shops_group() -> None:
    """Import and repair shops' data from Shopify."""


def _shop_id(domain: str) -> int:
    try:
        normalized = normalize_shop_domain(domain)
    except InvalidShopDomain as exc:
        raise click.BadParameter(exc.message, param_hint="SHOP") from exc
    with get_database().session_factory() as session:
        shop_id = session.scalar(select(Shop.id).where(Shop.domain == normalized))
    if shop_id is None:
        raise click.ClickException(f"{normalized} has not installed the app")
    return shop_id


class _ProgressPrinter:
    """Show a wait message while Shopify exports, then a progress bar over the JSONL lines."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.bar: Any = None
        self.shown = 0
        self.last_wait_count: int | None = None

    def __call__(self, progress: backfill_runs.BackfillProgress) -> None:
        if self.bar is None and progress.bulk_status != "COMPLETED":
            if progress.object_count != self.last_wait_count:
                click.echo(
                    f"Waiting for Shopify to export {self.kind}"
                    f" ({progress.object_count or 0} objects so far)..."
                )
                self.last_wait_count = progress.object_count
            return
        if self.bar is None:
            self.bar = click.progressbar(
                length=max(progress.object_count or 0, progress.lines_processed, 1),
                label=f"Importing {self.kind}",
                show_pos=True,
            )
            self.bar.__enter__()
        step = progress.lines_processed - self.shown
        if step > 0:
            self.bar.update(step)
            self.shown = progress.lines_processed

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


@shops_group.command("backfill")
@click.argument("shop")
@click.option("--poll-interval", default=5.0, show_default=True, help="Seconds between polls.")
def backfill_command(shop: str, poll_interval: float) -> None:
    """Import SHOP's orders and abandoned checkouts, resuming an interrupted import."""
    shop_id = _shop_id(shop)
    database = get_database()
    with database.session_scope() as session:
        runs = [
            (run.id, run.kind)
            for run in backfill_runs.queue_backfill(session, shop_id=shop_id, now=utcnow())
        ]
    try:
        client = graphql_client_for(current_app, shop_id, now=utcnow())
    except AppError as exc:
        raise click.ClickException(exc.message) from exc
    failed = False
    for run_id, kind in runs:
        printer = _ProgressPrinter(kind)
        try:
            result = backfill.run_backfill(
                database.session_factory,
                run_id=run_id,
                client=client,
                poll_interval=poll_interval,
                max_wait=24 * 3600.0,
                on_progress=printer,
            )
        except Exception as exc:  # noqa: BLE001 - reported, recorded on the run, next kind goes on
            printer.close()
            click.echo(f"Backfill of {kind} failed: {type(exc).__name__}: {exc}", err=True)
            failed = True
            continue
        printer.close()
        click.echo(
            f"{kind.capitalize()}: {result.imported_count} imported,"
            f" {result.skipped_count} skipped ({result.status})."
        )
    with database.session_factory() as session:
        if not backfill_runs.has_full_order_history(session, shop_id=shop_id):
            click.echo(
                "Only the last 60 days of orders were available: the app lacks the"
                " read_all_orders scope."
            )
    if failed:
        raise SystemExit(1)


@shops_group.command("reconcile")
@click.argument("shop", required=False)
def reconcile_command(shop: str | None) -> None:
    """Fetch what changed since the last sync for SHOP (default: every installed shop)."""
    database = get_database()
    now = utcnow()
    shop_ids = [_shop_id(shop)] if shop else None
    results = reconciliation.reconcile_all_shops(
        database.session_factory,
        client_for=lambda shop_id: graphql_client_for(current_app, shop_id, now=now),
        now=now,
        shop_ids=shop_ids,
    )
    for result in results:
        if result.is_success:
            counts = ", ".join(f"{n} {resource}" for resource, n in result.counts.items())
            click.echo(f"{result.shop_domain}: {counts}")
        else:
            click.echo(f"{result.shop_domain}: failed ({result.error})", err=True)
    if not results:
        click.echo("No installed shops.")
    if any(not r.is_success for r in results):
        raise SystemExit(1)
