"""Import a shop's history (orders, abandoned checkouts) through GraphQL bulk operations.

The JSONL is read in chunks of `BATCH_SIZE` objects. A chunk's orders are one call to the batch
path of webhooks (`upsert_orders`) and its checkouts go through `upsert_checkout`, so a backfill
and webhook deliveries can overlap in any order: the newer `updated_at` wins either way. The run
row records the chunk's last JSONL line in the same transaction as its upserts, so an interrupted
import resumes exactly after the last committed chunk.

Orders are stored without touching the read models; once the whole file is in, the shop's
rollups are rebuilt once, set-based, in the transaction that marks the run completed. The rebuild
also covers whatever webhooks changed meanwhile, and a run that crashed after its last chunk but
before the rebuild, when resumed, streams past the lines it imported and only rebuilds. Queueing
runs and reading their state is `shopify_app.store.sync.backfill_runs`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from collections.abc import Iterator
from collections.abc import Sequence
from contextlib import contextmanager
from datetime import datetime
from itertools import islice
from typing import Any

from sqlalchemy.orm import Session
from sqlalchemy.orm import sessionmaker

from shopify_app.analytics.rollups.rebuild import rebuild_rollups
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
from shopify_app.store import order_batches
from shopify_app.store import planner_statistics
from shopify_app.store.order_batches import OrderVersion
from shopify_app.store.payloads import InvalidPayload
from shopify_app.store.sync import graphql_shapes
from shopify_app.store.sync.backfill_runs import BackfillProgress
from shopify_app.store.sync.backfill_runs import progress_of
from shopify_app.store.sync.graphql_shapes import UnconvertibleObject

logger = logging.getLogger(__name__)

BATCH_SIZE = 2000
"""Objects per chunk: one transaction, one `upsert_orders`, one move of the resume point."""
MAX_ERROR_LENGTH = 500


class BackfillFailed(AppError):
    status_code = 502


ProgressCallback = Callable[[BackfillProgress], None]


def import_objects(
    session: Session, *, shop: Shop, kind: str, objects: Sequence[bulk.BulkObject], now: datetime
) -> int:
    """Store one chunk of exported objects; return how many had to be skipped.

    An object that cannot be converted, or that the store refuses, is skipped with its reason
    logged: one bad object must not stop the import of a shop's whole history.
    """
    payloads: list[dict[str, Any]] = []
    for obj in objects:
        try:
            payloads.append(_to_payload(kind, obj))
        except UnconvertibleObject as exc:
            _log_skipped(shop, kind, exc)
    refused: list[InvalidPayload] = []
    if kind == BackfillKind.ORDERS:
        versions = [
            OrderVersion(key=position, payload=payload, event_at=None)
            for position, payload in enumerate(payloads)
        ]
        result = order_batches.upsert_orders(
            session, shop=shop, versions=versions, now=now, update_rollups=False
        )
        refused.extend(result.failures.values())
    else:
        # Abandoned checkouts are few next to orders, and nothing is derived from them.
        for payload in payloads:
            try:
                with session.begin_nested():
                    checkouts.upsert_checkout(
                        session, shop=shop, payload=payload, event_at=None, now=now
                    )
            except InvalidPayload as exc:
                refused.append(exc)
    for reason in refused:
        _log_skipped(shop, kind, reason)
    return len(objects) - len(payloads) + len(refused)


def _to_payload(kind: str, obj: bulk.BulkObject) -> dict[str, Any]:
    if kind == BackfillKind.ORDERS:
        return graphql_shapes.order_to_rest(obj.root, obj.children)
    return graphql_shapes.checkout_to_rest(obj.root, obj.children)


def _log_skipped(shop: Shop, kind: str, reason: Exception) -> None:
    logger.warning("Skipped a %s object: %s", kind, reason, extra={"shop": shop.domain})


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

    Takes a session factory rather than a session because it commits after every chunk: a crash
    loses at most one chunk, and the run row always says where to resume. Returns the run's
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
        for number, chunk in enumerate(_chunks(objects, batch_size), start=1):
            self._import_chunk(chunk, refresh_statistics=planner_statistics.is_refresh_due(number))

    def _import_chunk(self, chunk: list[bulk.BulkObject], *, refresh_statistics: bool) -> None:
        """Import one chunk and move the run's resume point past it, in one transaction."""
        with _transaction(self.session_factory) as session:
            run = _load_run(session, self.run_id)
            now = self.clock()
            skipped = import_objects(
                session, shop=_load_shop(session, run), kind=run.kind, objects=chunk, now=now
            )
            run.imported_count += len(chunk) - skipped
            run.skipped_count += skipped
            run.lines_processed = chunk[-1].last_line
            run.last_object_id = chunk[-1].id
            run.heartbeat_at = now
            if refresh_statistics:
                planner_statistics.refresh_statistics(session)
            self._report(run)

    def _complete(self) -> BackfillProgress:
        """Rebuild the read models the orders feed, and mark the run completed, in one go."""
        with _transaction(self.session_factory) as session:
            run = _load_run(session, self.run_id)
            now = self.clock()
            if run.kind == BackfillKind.ORDERS:
                # Only orders (and their refunds) feed the rollups; checkouts feed none.
                rebuild_rollups(session, shop_id=_load_shop(session, run).id, now=now)
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


def _load_shop(session: Session, run: BackfillRun) -> Shop:
    shop = session.get(Shop, run.shop_id)
    if shop is None:
        raise NotFound("the shop of this backfill no longer exists")
    return shop


def _chunks(objects: Iterator[bulk.BulkObject], size: int) -> Iterator[list[bulk.BulkObject]]:
    while True:
        chunk = list(islice(objects, size))
        if not chunk:
            return
        yield chunk
