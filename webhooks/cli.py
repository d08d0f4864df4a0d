"""`flask --app shopify_app webhooks ...`: drain the inbox, list dead letters, replay them."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from shopify_app.db import get_database
from shopify_app.errors import AppError
from webhooks import inbox
from webhooks import worker
from webhooks.processing import Outcome

_ERROR_COLUMN_WIDTH = 100


# An AppGroup runs each command inside the app context, like commands made with @app.cli.
webhooks_group = AppGroup("webhooks", help="Process and inspect the webhook inbox.")


@webhooks_group.command("drain")
def drain_command() -> None:
    """Process every due delivery and return when none is left."""
    report = worker.drain(get_database(current_app))
    click.echo(
        f"Processed {report.total} webhook deliveries: "
        f"{report[Outcome.DONE]} done, "
        f"{report[Outcome.FAILED]} failed (will be retried), "
        f"{report[Outcome.DEAD]} dead-lettered, "
        f"{report[Outcome.IGNORED]} ignored."
    )


@webhooks_group.command("failed")
@click.option("--limit", default=100, show_default=True, help="Show at most this many.")
def failed_command(limit: int) -> None:
    """List dead-lettered deliveries: id, shop, topic, attempts, last error."""
    with get_database(current_app).session_scope() as session:
        rows = [
            (str(d.id), d.shop_domain, d.topic, str(d.attempts), _one_line(d.last_error))
            for d in inbox.list_dead(session, limit=limit)
        ]
    if not rows:
        click.echo("No dead-lettered webhook deliveries.")
        return
    header = ("ID", "SHOP", "TOPIC", "ATTEMPTS", "LAST ERROR")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(4)]
    for row in [header, *rows]:
        cells = [cell.ljust(width) for cell, width in zip(row[:4], widths, strict=True)]
        click.echo("  ".join([*cells, row[4]]))


@webhooks_group.command("replay")
@click.argument("delivery_id", type=int, required=False)
@click.option("--all-failed", is_flag=True, help="Re-queue every dead-lettered delivery.")
def replay_command(delivery_id: int | None, all_failed: bool) -> None:
    """Re-queue the delivery DELIVERY_ID, or every dead-lettered one with --all-failed."""
    if (delivery_id is None) == (not all_failed):
        raise click.UsageError("Give either a delivery ID or --all-failed.")
    database = get_database(current_app)
    try:
        with database.session_scope() as session:
            if delivery_id is not None:
                inbox.replay(session, delivery_id=delivery_id)
                message = f"Re-queued webhook delivery {delivery_id}."
            else:
                count = inbox.replay_dead(session)
                message = f"Re-queued {count} dead-lettered webhook deliveries."
    except AppError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(message + " Run `flask --app shopify_app webhooks drain` to process them now.")


def _one_line(text: str | None) -> str:
    line = " ".join((text or "").split())
    if len(line) > _ERROR_COLUMN_WIDTH:
        return line[: _ERROR_COLUMN_WIDTH - 1] + "…"
    return line
