"""Every scheduled job, by stable name: a plain mapping the scheduler and `flask jobs` read.

A job function takes the app, a shop id and the clock: `run(app, shop_id, now)`. It owns its
transactions (planners get one per shop through `in_transaction`), so one shop's failure stays
with that shop. Other parts add their jobs by adding entries to `JOBS` (or through
`OPTIONAL_JOBS`, wired when their module is present).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta

from flask import Flask
from sqlalchemy.orm import Session

from jobs import tasks
from jobs.kpi_snapshots import refresh_kpi_snapshots
from shopify_app.adapters.smtp import SMTPMailer
from shopify_app.context import get_settings
from shopify_app.db import get_database
from shopify_app.messaging import attribution
from shopify_app.messaging.flows import abandoned_checkout
from shopify_app.messaging.flows import replenishment
from shopify_app.messaging.flows import review_request
from shopify_app.messaging.flows import win_back
from shopify_app.messaging.sender import SenderConfig
from shopify_app.messaging.sender import send_due_messages
from shopify_app.messaging.template_overrides import load_template_override

JobFunction = Callable[[Flask, int, datetime], object]
ShopService = Callable[..., int]


@dataclass(frozen=True)
class Job:
    run: JobFunction
    every: timedelta
    in_run_once: bool = False  # part of `flask jobs run-once` (flows: planners and sender)


def in_transaction(service: ShopService) -> JobFunction:
    """Wrap `service(session, *, shop_id, now) -> int` into a job with its own transaction."""

    def run(app: Flask, shop_id: int, now: datetime) -> int:
        session: Session
        with get_database(app).session_scope() as session:
            return service(session, shop_id=shop_id, now=now)

    run.__doc__ = service.__doc__
    return run


def send_messages(app: Flask, shop_id: int, now: datetime) -> int | str:
    """Send the shop's due messages over SMTP_URL (as a queue task when REDIS_URL is set)."""
    queue = tasks.task_queue(app)
    if queue is not None:
        return "queued" if queue.enqueue_send(shop_id) else "enqueue failed"
    return send_shop_messages(app, shop_id, now)


def send_shop_messages(app: Flask, shop_id: int, now: datetime) -> int:
    """Send the shop's due messages over SMTP_URL in this process; return how many went out."""
    settings = get_settings(app)
    report = send_due_messages(
        get_database(app).session_factory,
        now=now,
        shop_id=shop_id,
        mailer=SMTPMailer(settings.smtp_url),
        config=SenderConfig(
            mail_from=settings.mail_from,
            app_url=settings.app_url,
            secret_key=settings.secret_key,
        ),
        override_loader=load_template_override,
    )
    return report.sent


JOBS: dict[str, Job] = {
    "flows.replenishment.learn": Job(
        in_transaction(replenishment.learn_intervals), every=timedelta(hours=24), in_run_once=True
    ),
    "flows.abandoned_checkout.plan": Job(
        in_transaction(abandoned_checkout.plan), every=timedelta(minutes=5), in_run_once=True
    ),
    "flows.replenishment.plan": Job(
        in_transaction(replenishment.plan), every=timedelta(hours=1), in_run_once=True
    ),
    "flows.review_request.plan": Job(
        in_transaction(review_request.plan), every=timedelta(hours=1), in_run_once=True
    ),
    "flows.win_back.plan": Job(
        in_transaction(win_back.plan), every=timedelta(hours=6), in_run_once=True
    ),
    "flows.attribution": Job(
        in_transaction(attribution.attribute_orders),
        every=timedelta(minutes=30),
        in_run_once=True,
    ),
    "messages.send": Job(send_messages, every=timedelta(minutes=1), in_run_once=True),
    "kpis.refresh": Job(refresh_kpi_snapshots, every=timedelta(minutes=1)),
    "queue.sweep": Job(tasks.sweep_job, every=tasks.SWEEP_EVERY),
}

OPTIONAL_JOBS: dict[str, tuple[str, str, timedelta, bool]] = {
    # name: (module, function taking (app, shop_id) [and now=], interval, passes now)
    "predictions.refresh": (
        "jobs.predictions",
        "refresh_shop_predictions",
        timedelta(hours=24),
        True,
    ),
    "reconciliation.shop": ("jobs.reconciliation", "reconcile_shop", timedelta(hours=1), False),
    "backfill.shop": ("jobs.backfill", "run_shop_backfills", timedelta(minutes=5), True),
    "rollups.rebuild": ("jobs.rollups", "rebuild_shop_rollups", timedelta(hours=24), True),
}


def load_jobs() -> dict[str, Job]:
    """Return `JOBS` plus the optional jobs whose modules exist in this checkout."""
    jobs = dict(JOBS)
    for name, (module_name, function_name, every, passes_now) in OPTIONAL_JOBS.items():
        if name in jobs:
            continue
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError:
            continue
        function = getattr(module, function_name, None)
        if callable(function):
            jobs[name] = Job(_adapt(function, passes_now), every=every)
    return jobs


def _adapt(function: Callable[..., object], passes_now: bool) -> JobFunction:
    def run(app: Flask, shop_id: int, now: datetime) -> object:
        if passes_now:
            return function(app, shop_id, now=now)
        return function(app, shop_id)

    run.__doc__ = function.__doc__
    return run
