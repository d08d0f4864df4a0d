"""`flask --app shopify_app worker`: run queue tasks (inbox deliveries, message sending).

A thin wrapper around a Dramatiq worker built from `create_app()` settings, so it uses the same
REDIS_URL, DATABASE_URL and pool settings as the web processes. Run as many of these processes
as the load needs; SIGTERM or SIGINT stops taking new tasks and lets running ones finish.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType

import click
import dramatiq
from flask import current_app
from flask.cli import with_appcontext

from jobs.tasks import QUEUES
from jobs.tasks import task_queue


@click.command("worker")
@click.option(
    "--threads",
    default=4,
    show_default=True,
    envvar="WORKER_THREADS",
    help="Tasks run at once in this process (keep under DATABASE_POOL_SIZE + overflow).",
)
@click.option(
    "--queue",
    "queues",
    multiple=True,
    type=click.Choice(QUEUES),
    help="Only consume this queue (repeatable; default: all).",
)
@click.option(
    "--shutdown-timeout",
    default=60,
    show_default=True,
    help="Seconds to let running tasks finish on SIGTERM.",
)
@with_appcontext
def worker_command(threads: int, queues: tuple[str, ...], shutdown_timeout: int) -> None:
    """Process queued inbox deliveries and message sends until SIGTERM (needs REDIS_URL)."""
    queue = task_queue(current_app._get_current_object())  # type: ignore[attr-defined]
    if queue is None:
        raise click.ClickException(
            "REDIS_URL is not set: without a queue the web process drains the inbox itself "
            "(BACKGROUND_WORKER) and `flask --app shopify_app scheduler` sends messages."
        )
    stopping = threading.Event()

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    worker = dramatiq.Worker(  # type: ignore[no-untyped-call]
        queue.broker, worker_threads=threads, queues=set(queues) or None
    )
    worker.start()  # type: ignore[no-untyped-call]
    click.echo(f"Worker started with {threads} threads on {', '.join(queues or QUEUES)}.")
    try:
        while not stopping.wait(1.0):
            pass
    finally:
        worker.stop(timeout=shutdown_timeout * 1000)  # type: ignore[no-untyped-call]
        queue.broker.close()  # type: ignore[no-untyped-call]
    click.echo("Worker stopped.")
