"""`flask --app shopify_app jobs list|run-once` and `flask --app shopify_app scheduler`."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime

import click
from flask import current_app
from flask.cli import AppGroup
from flask.cli import with_appcontext

from jobs import scheduler as scheduler_module
from jobs.registry import load_jobs
from shopify_app.db import get_database
from shopify_app.messaging.claims import list_needing_review


@click.group("jobs", cls=AppGroup)
def jobs_group() -> None:
    """List the scheduled jobs or run the flow jobs once."""


@jobs_group.command("list")
def list_jobs() -> None:
    """List every registered job with its interval."""
    for name, job in load_jobs().items():
        marker = " (run-once)" if job.in_run_once else ""
        summary = (job.run.__doc__ or "").strip().splitlines()[0] if job.run.__doc__ else ""
        click.echo(f"{name}\tevery {job.every}{marker}\t{summary}")


def _parse_now(value: str | None) -> datetime:
    if not value:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter("use ISO 8601, e.g. 2026-03-08T12:00:00Z") from exc
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@jobs_group.command("run-once")
@click.option("--now", "now_text", help="Run as of this ISO 8601 time (default: now; naive = UTC).")
@click.option("--shop", "domain", help="Only this shop (its myshopify.com domain).")
def run_once(now_text: str | None, domain: str | None) -> None:
    """Run every due planner, attribution and the sender once as of --now."""
    now = _parse_now(now_text)
    runs = scheduler_module.run_once(current_app, now=now, domain=domain)
    failed = False
    for run in runs:
        for shop, result in run.results.items():
            click.echo(f"{run.name}\t{shop}\t{result}")
        for shop, error in run.failures.items():
            failed = True
            click.echo(f"{run.name}\t{shop}\tFAILED {error}", err=True)
    if failed:
        raise SystemExit(1)


@click.command("scheduler")
@with_appcontext
def scheduler_command() -> None:
    """Run the job scheduler in this process (one per deployment; others stay idle)."""
    scheduler_module.Scheduler(current_app._get_current_object()).start()  # type: ignore[attr-defined]


@jobs_group.command("needs-review")
def list_needs_review() -> None:
    """List messages a sender claimed but never recorded: check the mail log, then resolve."""
    with get_database(current_app).session_factory() as session:
        rows = list_needing_review(session)
    for row in rows:
        claimed = row.claimed_at.isoformat() if row.claimed_at else "-"
        click.echo(f"{row.id}\t{row.domain}\t{row.flow}\tstep {row.step}\tclaimed {claimed}")
    if not rows:
        click.echo("No message needs review.")
