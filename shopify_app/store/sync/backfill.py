"""Import a shop's history (orders, abandoned checkouts) through GraphQL bulk operations.

Every object goes through the same `upsert_order` / `upsert_checkout` as webhooks, so a backfill
and webhook deliveries can overlap in any order: the newer `updated_at` wins either way. The run
row records the last imported JSONL line in the same transaction as the upserts of that batch, so
an interrupted import resumes exactly after the last committed object.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from collections.abc import Iterator
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from itertools import islice

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm import sessionmaker

from shopify_app.errors import AppError
from shopify_app.errors import NotFound
from shopify_app.gateway import bulk
from shopify_app.gateway.graphql import GraphQLClient
from shopify_app.models import BackfillRun
from shopify_app.models import Shop
from shopify_app.models import ShopCredential
from shopify_app.models.backfill_run import ACTIVE_STATUSES
from shopify_app.models.backfill_run import BackfillKind
from shopify_app.models.backfill_run import BackfillStatus
from shopify_app.models.base import utcnow
from shopify_app.store import checkouts
from shopify_app.store import orders
from shopify_app.store.sync import graphql_shapes
from shopify_app.store.sync.graphql_shapes import UnconvertibleObject

logger = logging.getLogger(__name__)

ORDER_HISTORY_LIMIT = timedelta(days=60)
"""Without `read_all_orders`, the Admin API only returns orders of the last 60 days."""

STALE_AFTER = timedelta(minutes=15)
"""A running backfill whose heartbeat is older than this was interrupted; a job may take it over."""

BATCH_SIZE = 50
MAX_ATTEMPTS = 5
MAX_ERROR_LENGTH = 500


class BackfillFailed(AppError):
    status_code = 502


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


ProgressCallback = Callable[[BackfillProgress], None]


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


def import_object(
    session: Session, *, shop: Shop, kind: str, obj: bulk.BulkObject, now: datetime
) -> bool:
    """Feed one exported object through its upsert; return False when it had to be skipped."""
    try:
        if kind == BackfillKind.ORDERS:
            payload = graphql_shapes.order_to_rest(obj.root, obj.children)
        else:
            payload = graphql_shapes.checkout_to_rest(obj.root, obj.children)
    except UnconvertibleObject as exc:
        logger.warning("Skipped a %s object: %s", kind, exc, extra={"shop": shop.domain})
        return False
    if kind == BackfillKind.ORDERS:
        orders.upsert_order(session, shop=shop, payload=payload, event_at=None, now=now)
    else:
        checkouts.upsert_checkout(session, shop=shop, payload=payload, event_at=None, now=now)
    return True


def run_backfill(
    session_factory: sessionmaker[Session],
    *,
    run_id: int,
    client: GraphQLClient,
    clock: Callable[[], datetime] = utcnow,
    sleep: Callable[[float], None] = time.sleep,
    poll_interval: float = 5.0,
    max_wait: float = 600.0,
    batch_size: int = BATCH_SIZE,
    on_progress: ProgressCallback | None = None,
) -> BackfillProgress:
    """Drive one run as far as it can go: start the export, wait for it, import its result.

    Takes a session factory rather than a session because it commits after every batch: a crash
    loses at most one batch, and the run row always says where to resume. Returns the run's
    progress; a run whose export is still running after *max_wait* stays RUNNING for a later
    call. Any failure is recorded on the run (status FAILED) and re-raised.
    """
    try:
        return _drive(
            session_factory,
            run_id=run_id,
            client=client,
            clock=clock,
            sleep=sleep,
            poll_interval=poll_interval,
            max_wait=max_wait,
            batch_size=batch_size,
            on_progress=on_progress,
        )
    except Exception as exc:
        _record_failure(session_factory, run_id=run_id, error=exc, now=clock())
        raise


def _drive(
    session_factory: sessionmaker[Session],
    *,
    run_id: int,
    client: GraphQLClient,
    clock: Callable[[], datetime],
    sleep: Callable[[float], None],
    poll_interval: float,
    max_wait: float,
    batch_size: int,
    on_progress: ProgressCallback | None,
) -> BackfillProgress:
    def report(run: BackfillRun) -> BackfillProgress:
        progress = progress_of(run)
        if on_progress is not None:
            on_progress(progress)
        return progress

    with _transaction(session_factory) as session:
        run = _load_run(session, run_id)
        if run.status == BackfillStatus.COMPLETED:
            return report(run)
        now = clock()
        run.status = BackfillStatus.RUNNING.value
        run.attempts += 1
        run.error = None
        run.started_at = run.started_at or now
        run.heartbeat_at = now
        operation_id = run.bulk_operation_id
        kind = run.kind
        search = _search_filter(run)

    if operation_id is None:
        operation_id = _start_export(
            session_factory, run_id=run_id, client=client, kind=kind, search=search, now=clock()
        )

    def on_poll(operation: bulk.BulkOperation) -> None:
        with _transaction(session_factory) as session:
            run = _load_run(session, run_id)
            _record_operation(run, operation, now=clock())
            report(run)

    operation = bulk.wait_for_bulk_operation(
        client,
        operation_id,
        poll_interval=poll_interval,
        max_wait=max_wait,
        sleep=sleep,
        on_poll=on_poll,
    )
    if operation.status == "EXPIRED":
        # The result URL lives 7 days; an import resumed later than that starts a new export
        # from the top (the upserts make re-importing the first part harmless).
        with _transaction(session_factory) as session:
            run = _load_run(session, run_id)
            run.bulk_operation_id = None
            run.result_url = None
            run.lines_processed = 0
            run.last_object_id = None
        raise BackfillFailed("the bulk export expired before it was imported; run it again")
    if operation.status in {"FAILED", "CANCELED"}:
        with _transaction(session_factory) as session:
            run = _load_run(session, run_id)
            # A new attempt needs a new export: this one will never produce a result.
            run.bulk_operation_id = None
        raise BackfillFailed(
            f"the bulk export ended {operation.status}"
            + (f" ({operation.error_code})" if operation.error_code else "")
        )
    if not operation.is_terminal:
        with _transaction(session_factory) as session:
            return report(_load_run(session, run_id))

    with _transaction(session_factory) as session:
        run = _load_run(session, run_id)
        url = run.result_url
        skip = run.lines_processed

    if url:
        objects = bulk.group_bulk_objects(bulk.iter_jsonl(url, skip_lines=skip))
        for batch in _batches(objects, batch_size):
            with _transaction(session_factory) as session:
                run = _load_run(session, run_id)
                shop = session.get(Shop, run.shop_id)
                if shop is None:
                    raise NotFound("the shop of this backfill no longer exists")
                now = clock()
                for obj in batch:
                    if import_object(session, shop=shop, kind=run.kind, obj=obj, now=now):
                        run.imported_count += 1
                    else:
                        run.skipped_count += 1
                    run.lines_processed = obj.last_line
                    run.last_object_id = obj.id
                run.heartbeat_at = now
                report(run)

    with _transaction(session_factory) as session:
        run = _load_run(session, run_id)
        now = clock()
        run.status = BackfillStatus.COMPLETED.value
        run.finished_at = now
        run.heartbeat_at = now
        logger.info(
            "Backfill %d (%s) imported %d objects, skipped %d",
            run.id,
            run.kind,
            run.imported_count,
            run.skipped_count,
        )
        return report(run)


def _start_export(
    session_factory: sessionmaker[Session],
    *,
    run_id: int,
    client: GraphQLClient,
    kind: str,
    search: str | None,
    now: datetime,
) -> str:
    query = (
        bulk.orders_bulk_query(search)
        if kind == BackfillKind.ORDERS
        else bulk.checkouts_bulk_query(search)
    )
    operation = bulk.start_bulk_query(client, query)
    with _transaction(session_factory) as session:
        run = _load_run(session, run_id)
        run.bulk_operation_id = operation.id
        run.bulk_status = operation.status
        run.result_url = None
        run.lines_processed = 0
        run.last_object_id = None
        run.heartbeat_at = now
    return operation.id


def _record_operation(run: BackfillRun, operation: bulk.BulkOperation, *, now: datetime) -> None:
    run.bulk_status = operation.status
    if operation.object_count is not None:
        run.object_count = operation.object_count
    if operation.url:
        run.result_url = operation.url
    run.heartbeat_at = now


def _record_failure(
    session_factory: sessionmaker[Session], *, run_id: int, error: Exception, now: datetime
) -> None:
    message = f"{type(error).__name__}: {error}"[:MAX_ERROR_LENGTH]
    try:
        with _transaction(session_factory) as session:
            run = session.get(BackfillRun, run_id)
            if run is None:
                return
            run.status = BackfillStatus.FAILED.value
            run.error = message
            run.heartbeat_at = now
    except Exception:
        logger.exception("Could not record the failure of backfill %d", run_id)
        return
    logger.warning("Backfill %d failed: %s", run_id, type(error).__name__)


def _record_history_limit(session: Session, run: BackfillRun, *, now: datetime) -> None:
    if run.kind != BackfillKind.ORDERS:
        return
    limited = not has_full_order_history(session, shop_id=run.shop_id)
    run.is_history_limited = limited
    run.history_since = now - ORDER_HISTORY_LIMIT if limited else None


def _search_filter(run: BackfillRun) -> str | None:
    # Shopify applies the 60-day window by itself; asking for it explicitly keeps the export's
    # range the same as the one the admin page announces.
    if run.kind == BackfillKind.ORDERS and run.history_since is not None:
        return f"created_at:>='{run.history_since.strftime('%Y-%m-%dT%H:%M:%SZ')}'"
    return None


@contextmanager
def _transaction(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    with session_factory() as session, session.begin():
        yield session


def _load_run(session: Session, run_id: int) -> BackfillRun:
    run = session.get(BackfillRun, run_id)
    if run is None:
        raise NotFound(f"backfill run {run_id} does not exist")
    return run


def _batches(objects: Iterator[bulk.BulkObject], size: int) -> Iterator[list[bulk.BulkObject]]:
    while True:
        batch = list(islice(objects, size))
        if not batch:
            return
        yield batch
