"""`flask --app shopify_app demo ...`: write the demo store's webhooks to a file, or play them."""

from __future__ import annotations

import threading
from collections.abc import Callable
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC
from datetime import datetime
from typing import Any

import click
from flask import current_app
from flask.cli import AppGroup

from shopify_app.context import get_settings
from shopify_app.demo import DEMO_SHOP_DOMAIN
from shopify_app.demo.deliveries import Delivery
from shopify_app.demo.deliveries import DeliveryOptions
from shopify_app.demo.deliveries import DeliverySummary
from shopify_app.demo.deliveries import WebhookTarget
from shopify_app.demo.generator import ShopSimulation
from shopify_app.demo.generator import event_to_json
from shopify_app.demo.generator import history
from shopify_app.demo.player import DemoStore


def _parse_now(value: str | None) -> datetime:
    if not value:
        return datetime.now(UTC).replace(microsecond=0)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter(f"{value!r} is not an ISO 8601 time") from exc
    if parsed.tzinfo is None:
        raise click.BadParameter("give a UTC offset, e.g. 2026-03-10T15:00:00+00:00")
    return parsed.astimezone(UTC)


_seed = click.option("--seed", default=7, show_default=True, help="Random seed of the shop.")
_customers = click.option(
    "--customers",
    default=5000,
    show_default=True,
    type=click.IntRange(min=1),
    help="Customers who arrive during the history.",
)
_days = click.option(
    "--days",
    "history_days",
    default=730,
    show_default=True,
    type=click.IntRange(min=1),
    help="Days of history before now.",
)
_now = click.option(
    "--now",
    "now_text",
    default=None,
    help="End of the history (ISO 8601 with offset); default: the current time. "
    "Fix it to make two runs byte-identical.",
)


@contextmanager
def _history_bar(start: datetime, end: datetime, label: str) -> Iterator[Any]:
    total_days = max(1, (end - start).days)
    with click.progressbar(length=total_days, label=label, show_pos=False) as bar:
        yield bar


# An AppGroup runs each command inside the app context (for the app's settings).
@click.group("demo", cls=AppGroup)
def demo_group() -> None:
    """Generate the demo store and deliver it to a running app as Shopify would."""


@demo_group.command("generate")
@_seed
@_customers
@_days
@_now
@click.option(
    "--out",
    "out_path",
    required=True,
    type=click.Path(dir_okay=False, writable=True),
    help="JSONL file to write (one event per line: occurred_at, topic, payload).",
)
def generate_command(
    seed: int, customers: int, history_days: int, now_text: str | None, out_path: str
) -> None:
    """Write the demo store's history of webhooks as JSONL."""
    simulation = ShopSimulation(
        seed=seed, customers=customers, now=_parse_now(now_text), history_days=history_days
    )
    written = 0
    with (
        open(out_path, "w", encoding="utf-8", newline="\n") as out,
        _history_bar(simulation.start, simulation.now, "Generating history") as bar,
    ):
        done_days = 0
        for event in history(simulation):
            out.write(event_to_json(event))
            out.write("\n")
            written += 1
            days = (event.occurred_at - simulation.start).days
            if days > done_days:
                bar.update(days - done_days)
                done_days = days
    click.echo(f"Wrote {written} events to {out_path}.")


def _echo_summary(title: str, summary: DeliverySummary) -> None:
    click.echo(
        f"{title}: {summary.delivered} of {summary.events} events delivered, "
        f"{summary.duplicates_sent} duplicates sent, {summary.retries} retries, "
        f"{summary.failed} failed."
    )
    for failure in summary.failures:
        click.echo(f"  failed: {failure}", err=True)


@demo_group.command("play")
@click.option(
    "--url",
    "base_url",
    default="http://127.0.0.1:5000",
    show_default=True,
    help="Base URL of the running app; deliveries go to <url>/webhooks.",
)
@_seed
@_customers
@_days
@_now
@click.option(
    "--live/--no-live",
    default=False,
    show_default=True,
    help="Keep going after the history on a compressed clock, until Ctrl-C.",
)
@click.option(
    "--speed",
    default=3600.0,
    show_default=True,
    type=click.FloatRange(min=0.001),
    help="Simulated seconds per real second in live mode.",
)
@click.option(
    "--senders",
    default=4,
    show_default=True,
    type=click.IntRange(min=1),
    help="Concurrent sender threads.",
)
@click.option(
    "--duplicates",
    default=0.02,
    show_default=True,
    type=click.FloatRange(0, 1),
    help="Share of deliveries sent twice with the same webhook id.",
)
@click.option(
    "--out-of-order",
    default=0.05,
    show_default=True,
    type=click.FloatRange(0, 1),
    help="Share of deliveries that swap places with a neighbour.",
)
def play_command(
    base_url: str,
    seed: int,
    customers: int,
    history_days: int,
    now_text: str | None,
    live: bool,
    speed: float,
    senders: int,
    duplicates: float,
    out_of_order: float,
) -> None:
    """Deliver the demo store's webhooks to a running app, signed with this app's secret."""
    settings = get_settings(current_app)
    store = DemoStore(
        target=WebhookTarget(
            base_url=base_url, api_secret=settings.shopify_api_secret, shop_domain=DEMO_SHOP_DOMAIN
        ),
        now=_parse_now(now_text),
        seed=seed,
        customers=customers,
        history_days=history_days,
        speed=speed,
        options=DeliveryOptions(
            seed=seed, senders=senders, duplicate_share=duplicates, out_of_order_share=out_of_order
        ),
    )
    simulation = store.simulation
    stop = threading.Event()
    click.echo(f"Delivering {history_days} days of {DEMO_SHOP_DOMAIN} to {base_url}/webhooks")
    with _history_bar(simulation.start, simulation.now, "Delivering history") as bar:
        progress = {"days": 0}

        def advance(delivery: Delivery) -> None:
            days = (delivery.triggered_at - simulation.start).days
            if days > progress["days"]:
                bar.update(days - progress["days"])
                progress["days"] = days

        summary = _run_until_interrupted(
            lambda: store.play_history(stop=stop, on_progress=advance), stop
        )
    _echo_summary("History", summary)
    if live and not stop.is_set():
        click.echo(
            f"Live: one real second is {speed:g} simulated seconds, from "
            f"{store.clock.now():%Y-%m-%d %H:%M} UTC. Press Ctrl-C to stop."
        )
        summary = summary.merge(_run_until_interrupted(lambda: store.play_live(stop=stop), stop))
        _echo_summary("Total", summary)
    if stop.is_set():
        click.echo("Stopped.")
    if summary.failed:
        raise SystemExit(1)


def _run_until_interrupted(
    play: Callable[[], DeliverySummary], stop: threading.Event
) -> DeliverySummary:
    """Run *play* in a thread so Ctrl-C reaches this one, which then stops the player cleanly."""
    result: list[DeliverySummary] = []
    finished = threading.Event()

    def run() -> None:
        try:
            result.append(play())
        finally:
            finished.set()

    # Wait on an Event, not Thread.join: a join interrupted by Ctrl-C can return early.
    threading.Thread(target=run, name="demo-play", daemon=True).start()
    try:
        while not finished.wait(0.5):
            pass
    except KeyboardInterrupt:
        stop.set()
        finished.wait()
    return result[0] if result else DeliverySummary()
