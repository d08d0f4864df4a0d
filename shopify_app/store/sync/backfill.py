"""Import a shop's history (orders, abandoned checkouts) through GraphQL bulk operations.

Every object goes through the same `upsert_order` / `upsert_checkout` as webhooks, so a backfill
and webhook deliveries can overlap in any order: the newer `updated_at` wins either way. The run
row records the last imported JSONL line in the same transaction as the upserts of that batch, so
an interrupted import resumes exactly after the last committed object. Queueing runs and reading
their state is `shopify_app.store.sync.backfill_runs`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from itertools import islice

from sqlalchemy.orm import Session
from sqlalchemy.orm import sessionmaker

from shopify_app.errors import AppError
from shopify_app.errors import NotFound
from shopify_app.gateway import bulk
from shopify_app.gateway.graphql import GraphQLClient
from shopify_app.models import BackfillRun
from shopify_app.models import Shop
from shopify_app.models.backfill_run import BackfillKind
from shopify_app.models.backfill_run import BackfillStatus
from shopify_app.models.base import utcnow
from shopify_app.store import checkouts
from shopify_app.store import orders
from shopify_app.store.sync import graphql_shapes
from shopify_app.store.sync.backfill_runs import BackfillProgress
from shopify_app.store.sync.backfill_runs import progress_of
from shopify_app.store.sync.graphql_shapes import UnconvertibleObject

logger = logging.getLogger(__name__)

BATCH_SIZE = 50
MAX_ERROR_LENGTH = 500


class BackfillFailed(AppError):
    status_code = 502


ProgressCallback = Callable[[BackfillProgress], None]


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
    driver = _RunDriver(
        session_factory,
        run_id=run_id,
        client=client,
        clock=clock,
        on_progress=on_progress,
    )
    try:
        return driver.drive(
            sleep=sleep, poll_interval=poll_interval, max_wait=max_wait, batch_size=batch_size
        )
    except Exception as exc:
        _record_failure(session_factory, run_id=run_id, error=exc, now=clock())
        raise


class _RunDriver:
    """The steps of one run, each in its own transaction: begin, export, wait, import, complete."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        *,
        run_id: int,
        client: GraphQLClient,
        clock: Callable[[], datetime],
        on_progress: ProgressCallback | None,
    ) -> None:
        self.session_factory = session_factory
        self.run_id = run_id
        self.client = client
        self.clock = clock
        self.on_progress = on_progress

    def drive(
        self,
        *,
        sleep: Callable[[float], None],
        poll_interval: float,
        max_wait: float,
        batch_size: int,
    ) -> BackfillProgress:
        started = self._begin()
        if started is None:
            return self._report_current()
        operation_id, kind, search = started
        if operation_id is None:
            operation_id = _start_export(
                self.session_factory,
                run_id=self.run_id,
                client=self.client,
                kind=kind,
                search=search,
                now=self.clock(),
            )
        operation = bulk.wait_for_bulk_operation(
            self.client,
            operation_id,
            poll_interval=poll_interval,
            max_wait=max_wait,
            sleep=sleep,
            on_poll=self._record_poll,
        )
        self._fail_if_export_is_lost(operation)
        if not operation.is_terminal:
            return self._report_current()
        self._import_result(batch_size)
        return self._complete()

    def _report(self, run: BackfillRun) -> BackfillProgress:
        progress = progress_of(run)
        if self.on_progress is not None:
            self.on_progress(progress)
        return progress

    def _report_current(self) -> BackfillProgress:
        with _transaction(self.session_factory) as session:
            return self._report(_load_run(session, self.run_id))

    def _begin(self) -> tuple[str | None, str, str | None] | None:
        """Mark the run running; return its export id, kind and filter, or None when it is done."""
        with _transaction(self.session_factory) as session:
            run = _load_run(session, self.run_id)
            if run.status == BackfillStatus.COMPLETED:
                return None
            now = self.clock()
            run.status = BackfillStatus.RUNNING.value
            run.attempts += 1
            run.error = None
            run.started_at = run.started_at or now
            run.heartbeat_at = now
            return run.bulk_operation_id, run.kind, _search_filter(run)

    def _record_poll(self, operation: bulk.BulkOperation) -> None:
        with _transaction(self.session_factory) as session:
            run = _load_run(session, self.run_id)
            _record_operation(run, operation, now=self.clock())
            self._report(run)

    def _fail_if_export_is_lost(self, operation: bulk.BulkOperation) -> None:
        if operation.status == "EXPIRED":
            # The result URL lives 7 days; an import resumed later than that starts a new export
            # from the top (the upserts make re-importing the first part harmless).
            with _transaction(self.session_factory) as session:
                run = _load_run(session, self.run_id)
                run.bulk_operation_id = None
                run.result_url = None
                run.lines_processed = 0
                run.last_object_id = None
            raise BackfillFailed("the bulk export expired before it was imported; run it again")
        if operation.status in {"FAILED", "CANCELED"}:
            with _transaction(self.session_factory) as session:
                # A new attempt needs a new export: this one will never produce a result.
                _load_run(session, self.run_id).bulk_operation_id = None
            raise BackfillFailed(
                f"the bulk export ended {operation.status}"
                + (f" ({operation.error_code})" if operation.error_code else "")
            )

    def _import_result(self, batch_size: int) -> None:
        with _transaction(self.session_factory) as session:
            run = _load_run(session, self.run_id)
            url = run.result_url
            skip = run.lines_processed
        if not url:
            return
        objects = bulk.group_bulk_objects(bulk.iter_jsonl(url, skip_lines=skip))
        for batch in _batches(objects, batch_size):
            self._import_batch(batch)

    def _import_batch(self, batch: list[bulk.BulkObject]) -> None:
        """Import one batch and move the run's resume point past it, in one transaction."""
        with _transaction(self.session_factory) as session:
            run = _load_run(session, self.run_id)
            shop = session.get(Shop, run.shop_id)
            if shop is None:
                raise NotFound("the shop of this backfill no longer exists")
            now = self.clock()
            for obj in batch:
                if import_object(session, shop=shop, kind=run.kind, obj=obj, now=now):
                    run.imported_count += 1
                else:
                    run.skipped_count += 1
                run.lines_processed = obj.last_line
                run.last_object_id = obj.id
            run.heartbeat_at = now
            self._report(run)

    def _complete(self) -> BackfillProgress:
        with _transaction(self.session_factory) as session:
            run = _load_run(session, self.run_id)
            now = self.clock()
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
            return self._report(run)


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
