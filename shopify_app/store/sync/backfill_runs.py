"""Backfill runs as rows: queue one per kind, find the ones to drive, report their progress.

A run row is the whole state of an import (see `shopify_app.store.sync.backfill`), so these
functions are all the admin page, the CLI and the scheduler need to know where a shop stands.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from shopify_app.models import BackfillRun
from shopify_app.models import Shop
from shopify_app.models import ShopCredential
from shopify_app.models.backfill_run import ACTIVE_STATUSES
from shopify_app.models.backfill_run import BackfillKind
from shopify_app.models.backfill_run import BackfillStatus

ORDER_HISTORY_LIMIT = timedelta(days=60)
"""Without `read_all_orders`, the Admin API only returns orders of the last 60 days."""

STALE_AFTER = timedelta(minutes=15)
"""A running backfill whose heartbeat is older than this was interrupted; a job may take it over."""

MAX_ATTEMPTS = 5


@dataclass(frozen=True)
class BackfillProgress:
    """A snapshot of a run for progress bars and the admin page."""

    run_id: int
    kind: str
    status: str
    bulk_status: str | None
    lines_processed: int
    object_count: int | None
    imported_count: int
    skipped_count: int


def has_full_order_history(session: Session, *, shop_id: int) -> bool:
    """Tell whether the shop granted `read_all_orders`, so orders older than 60 days are visible."""
    credential = session.get(ShopCredential, shop_id)
    return credential is not None and "read_all_orders" in credential.scope_set


def queue_backfill(
    session: Session,
    *,
    shop_id: int,
    now: datetime,
    kinds: Sequence[BackfillKind] = (BackfillKind.ORDERS, BackfillKind.CHECKOUTS),
) -> list[BackfillRun]:
    """Queue a pending run per kind, reusing a kind's unfinished run rather than adding another."""
    runs: list[BackfillRun] = []
    for kind in kinds:
        run = unfinished_run(session, shop_id=shop_id, kind=kind)
        if run is None:
            run = BackfillRun(
                shop_id=shop_id,
                kind=kind.value,
                status=BackfillStatus.PENDING.value,
                lines_processed=0,
                imported_count=0,
                skipped_count=0,
                attempts=0,
                created_at=now,
            )
            _record_history_limit(session, run, now=now)
            session.add(run)
        runs.append(run)
    session.flush()
    return runs


def unfinished_run(session: Session, *, shop_id: int, kind: BackfillKind) -> BackfillRun | None:
    """Return the shop's newest run of *kind* that has not completed, if any."""
    return session.scalar(
        select(BackfillRun)
        .where(
            BackfillRun.shop_id == shop_id,
            BackfillRun.kind == kind.value,
            BackfillRun.status.in_([s.value for s in ACTIVE_STATUSES]),
        )
        .order_by(BackfillRun.created_at.desc(), BackfillRun.id.desc())
        .limit(1)
    )


def latest_runs(session: Session, *, shop_id: int, limit: int = 10) -> list[BackfillRun]:
    """Return the shop's newest runs first, for the admin page."""
    return list(
        session.scalars(
            select(BackfillRun)
            .where(BackfillRun.shop_id == shop_id)
            .order_by(BackfillRun.created_at.desc(), BackfillRun.id.desc())
            .limit(limit)
        )
    )


def runs_to_resume(
    session: Session, *, now: datetime, shop_id: int | None = None, limit: int = 20
) -> list[int]:
    """Return ids of runs a job should drive now, oldest first.

    Pending runs; runs still waiting for Shopify's export (polling again is harmless); runs
    that were importing but went quiet (their process died); failed runs, a few times, once
    they have been quiet for a while (most failures are Shopify or network hiccups).
    """
    quiet = BackfillRun.heartbeat_at.is_(None) | (BackfillRun.heartbeat_at < now - STALE_AFTER)
    waiting = BackfillRun.bulk_status.is_(None) | (BackfillRun.bulk_status != "COMPLETED")
    statement = (
        select(BackfillRun.id)
        .join(Shop, Shop.id == BackfillRun.shop_id)
        .where(Shop.uninstalled_at.is_(None))
        .where(
            (BackfillRun.status == BackfillStatus.PENDING.value)
            | ((BackfillRun.status == BackfillStatus.RUNNING.value) & (waiting | quiet))
            | (
                (BackfillRun.status == BackfillStatus.FAILED.value)
                & (BackfillRun.attempts < MAX_ATTEMPTS)
                & quiet
            )
        )
        .order_by(BackfillRun.created_at, BackfillRun.id)
        .limit(limit)
    )
    if shop_id is not None:
        statement = statement.where(BackfillRun.shop_id == shop_id)
    return list(session.scalars(statement))


def progress_of(run: BackfillRun) -> BackfillProgress:
    return BackfillProgress(
        run_id=run.id,
        kind=run.kind,
        status=run.status,
        bulk_status=run.bulk_status,
        lines_processed=run.lines_processed,
        object_count=run.object_count,
        imported_count=run.imported_count,
        skipped_count=run.skipped_count,
    )


def _record_history_limit(session: Session, run: BackfillRun, *, now: datetime) -> None:
    if run.kind != BackfillKind.ORDERS:
        return
    limited = not has_full_order_history(session, shop_id=run.shop_id)
    run.is_history_limited = limited
    run.history_since = now - ORDER_HISTORY_LIMIT if limited else None
