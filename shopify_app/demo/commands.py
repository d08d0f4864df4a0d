"""`flask --app shopify_app demo ...`: write the demo store's webhooks to a file, or play them."""

from __future__ import annotations

import threading
from collections.abc import Callable
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC
from datetime import datetime
from typing import Any
from typing import TypeVar

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

_F = TypeVar("_F", bound=Callable[..., Any])


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


def _option(*decls: str, help: str, **attrs: Any) -> Callable[[_F], _F]:
    """Return a click option that shows its default in --help."""
    return click.option(*decls, show_default=True, help=help, **attrs)


def _share_option(flag: str, *, default: float, help: str) -> Callable[[_F], _F]:
    """Return a click option for a share of the deliveries, between 0 and 1."""
    return _option(flag, default=default, type=click.FloatRange(0, 1), help=help)


_AT_LEAST_ONE = click.IntRange(min=1)
_seed = _option("--seed", default=7, help="Random seed of the shop.")
_customers = _option(
    "--customers",
    default=5000,
    type=_AT_LEAST_ONE,
    help="Customers who arrive during the history.",
)
_days = _option(
    "--days", "history_days", default=730, type=_AT_LEAST_ONE, help="Days of history before now."
)
_now = click.option(
    "--now",
    "now_text",
    default=None,
    help="End of the history (ISO 8601 with offset); default: the current time. "
    "Fix it to make two runs byte-identical.",
)
_url = _option(
    "--url",
    "base_url",
    default="http://127.0.0.1:5000",
    help="Base URL of the running app; deliveries go to <url>/webhooks.",
)
_live = _option(
    "--live/--no-live",
    default=False,
    help="Keep going after the history on a compressed clock, until Ctrl-C.",
)
_speed = _option(
    "--speed",
    default=3600.0,
    type=click.FloatRange(min=0.001),
    help="Simulated seconds per real second in live mode.",
)
_senders = _option("--senders", default=4, type=_AT_LEAST_ONE, help="Concurrent sender threads.")
_duplicates = _share_option(
    "--duplicates", default=0.02, help="Share of deliveries sent twice with the same webhook id."
)
_out_of_order = _share_option(
    "--out-of-order", default=0.05, help="Share of deliveries that swap places with a neighbour."
)


class _DayBar:
    """A progress bar over the history's days, moved on to each event's moment."""

    def __init__(self, bar: Any, start: datetime) -> None:
        self._bar = bar
        self._start = start
        self._days = 0

    def advance(self, moment: datetime) -> None:
        """Move the bar on to *moment*'s day of the history."""
        days = (moment - self._start).days
        if days > self._days:
            self._bar.update(days - self._days)
            self._days = days


@contextmanager
def _history_bar(start: datetime, end: datetime, label: str) -> Iterator[_DayBar]:
    total_days = max(1, (end - start).days)
    with click.progressbar(length=total_days, label=label, show_pos=False) as bar:
        yield _DayBar(bar, start)


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
        for event in history(simulation):
            out.write(event_to_json(event))
            out.write("\n")
            written += 1
            bar.advance(event.occurred_at)
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
@_url
@_seed
@_customers
@_days
@_now
@_live
@_speed
@_senders
@_duplicates
@_out_of_order
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
    stop = threading.Event()
    click.echo(f"Delivering {history_days} days of {DEMO_SHOP_DOMAIN} to {base_url}/webhooks")
    summary = _play_history(store, stop)
    _echo_summary("History", summary)
    if live and not stop.is_set():
        summary = summary.merge(_play_live(store, stop, speed=speed))
        _echo_summary("Total", summary)
    if stop.is_set():
        click.echo("Stopped.")
    if summary.failed:
        raise SystemExit(1)


def _play_history(store: DemoStore, stop: threading.Event) -> DeliverySummary:
    """Deliver the history as fast as the app takes it, with a bar over its days."""
    simulation = store.simulation
    with _history_bar(simulation.start, simulation.now, "Delivering history") as bar:

        def advance(delivery: Delivery) -> None:
            bar.advance(delivery.triggered_at)

        return _run_until_interrupted(
            lambda: store.play_history(stop=stop, on_progress=advance), stop
        )


def _play_live(store: DemoStore, stop: threading.Event, *, speed: float) -> DeliverySummary:
    """Deliver the events after the history on the store's compressed clock, until stopped."""
    click.echo(
        f"Live: one real second is {speed:g} simulated seconds, from "
        f"{store.clock.now():%Y-%m-%d %H:%M} UTC. Press Ctrl-C to stop."
    )
    return _run_until_interrupted(lambda: store.play_live(stop=stop), stop)


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
