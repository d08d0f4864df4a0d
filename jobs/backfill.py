"""Jobs that import shops' history: drive one backfill run, or every run that is due."""

from __future__ import annotations

import logging
from datetime import datetime

from flask import Flask

from shopify_app.db import get_database
from shopify_app.models import BackfillRun
from shopify_app.models.base import utcnow
from shopify_app.shop_clients import graphql_client_for
from shopify_app.store.sync import backfill
from shopify_app.store.sync import backfill_runs

logger = logging.getLogger(__name__)

MAX_WAIT = 120.0
"""Seconds one job call waits for Shopify's export; a longer export is polled on the next tick."""


def run_backfill(app: Flask, run_id: int, *, now: datetime | None = None) -> str:
    """Drive backfill run *run_id* as far as it goes now; return its status."""
    database = get_database(app)
    with database.session_factory() as session:
        run = session.get(BackfillRun, run_id)
        if run is None:
            raise LookupError(f"backfill run {run_id} does not exist")
        shop_id = run.shop_id
    client = graphql_client_for(app, shop_id, now=now or utcnow())
    progress = backfill.run_backfill(
        database.session_factory, run_id=run_id, client=client, max_wait=MAX_WAIT
    )
    return progress.status


def run_shop_backfills(app: Flask, shop_id: int, *, now: datetime) -> int:
    """Drive the shop's due backfill runs (queued at install, interrupted, or waiting).

    Returns how many runs were driven; a run's failure is recorded on the run and raised.
    """
    with get_database(app).session_factory() as session:
        run_ids = backfill_runs.runs_to_resume(session, now=now, shop_id=shop_id)
    for run_id in run_ids:
        run_backfill(app, run_id, now=now)
    return len(run_ids)


def run_due_backfills(app: Flask, *, now: datetime | None = None) -> int:
    """Drive every shop's due backfill runs; one run's failure does not stop the others."""
    moment = now or utcnow()
    with get_database(app).session_factory() as session:
        run_ids = backfill_runs.runs_to_resume(session, now=moment)
    for run_id in run_ids:
        try:
            run_backfill(app, run_id, now=moment)
        except Exception:  # recorded on the run; the next run goes on
            logger.exception("Backfill run %d failed", run_id)
    return len(run_ids)
