"""Every scheduled job, by stable name: a plain mapping the scheduler and `flask jobs` read.

A job function takes the app, a shop id and the clock: `run(app, shop_id, now)`. It owns its
transactions (planners get one per shop through `in_transaction`), so one shop's failure stays
with that shop. A new job is one entry in `JOBS`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta

from flask import Flask
from sqlalchemy.orm import Session

from jobs import backfill as backfill_jobs
from jobs import predictions as prediction_jobs
from jobs import reconciliation as reconciliation_jobs
from jobs import rollups as rollup_jobs
from jobs import tasks
from jobs.kpi_snapshots import refresh_kpi_snapshots
from jobs.messages import send_shop_messages
from shopify_app.db import get_database
from shopify_app.messaging import attribution
from shopify_app.messaging.flows import abandoned_checkout
from shopify_app.messaging.flows import replenishment
from shopify_app.messaging.flows import review_request
from shopify_app.messaging.flows import win_back

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


def reconcile_shop_now(app: Flask, shop_id: int, now: datetime) -> dict[str, int]:
    """Reconcile the shop against Shopify as of the real time (the scheduler's clock is ignored)."""
    del now  # Shopify's "changed since" cursor is real time, whatever clock the run was given.
    return reconciliation_jobs.reconcile_shop(app, shop_id)


def refresh_predictions(app: Flask, shop_id: int, now: datetime) -> object:
    """Refit the shop's CLV model and rescore its customers."""
    return prediction_jobs.refresh_shop_predictions(app, shop_id, now=now)


def run_backfills(app: Flask, shop_id: int, now: datetime) -> int:
    """Drive the shop's due bulk backfill runs."""
    return backfill_jobs.run_shop_backfills(app, shop_id, now=now)


def rebuild_rollups(app: Flask, shop_id: int, now: datetime) -> int:
    """Rebuild the shop's KPI rollups from its orders."""
    return rollup_jobs.rebuild_shop_rollups(app, shop_id, now=now)


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
    "predictions.refresh": Job(refresh_predictions, every=timedelta(hours=24)),
    "reconciliation.shop": Job(reconcile_shop_now, every=timedelta(hours=1)),
    "backfill.shop": Job(run_backfills, every=timedelta(minutes=5)),
    "rollups.rebuild": Job(rebuild_rollups, every=timedelta(hours=24)),
}


def load_jobs() -> dict[str, Job]:
    """Return every scheduled job by name (a copy: callers may filter it)."""
    return dict(JOBS)
