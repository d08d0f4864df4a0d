"""Backfill: a recorded bulk export is imported once, resumably, never over newer webhook data."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import responses
from flask.testing import FlaskClient
from flask.testing import FlaskCliRunner
from sqlalchemy import delete
from sqlalchemy import event
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.orm import Session

from jobs.registry import load_jobs
from shopify_app.analytics.rollups.incremental import note_order_changed
from shopify_app.analytics.rollups.tables import ROLLUP_MODELS
from shopify_app.analytics.rollups.tables import current_version
from shopify_app.db import Database
from shopify_app.gateway.graphql import GraphQLClient
from shopify_app.models import BackfillRun
from shopify_app.models import Checkout
from shopify_app.models import Customer
from shopify_app.models import Order
from shopify_app.models import OrderLine
from shopify_app.models import Shop
from shopify_app.models import ShopCredential
from shopify_app.models.backfill_run import BackfillKind
from shopify_app.models.backfill_run import BackfillStatus
from shopify_app.store import order_batches
from shopify_app.store import orders
from shopify_app.store import planner_statistics
from shopify_app.store.payloads import InvalidPayload
from shopify_app.store.sync import backfill
from shopify_app.store.sync import backfill_runs
from shopify_app.store.sync import graphql_shapes
from tests.support.rollups import rollup_rows
from tests.support.shopify import json_body
from tests.support.shopify import make_session_token
from tests.support.shopify import webhook_headers

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
ORDERS_JSONL = FIXTURES / "bulk_orders.jsonl"
CHECKOUTS_JSONL = FIXTURES / "bulk_abandoned_checkouts.jsonl"
SHOP = "alpha.myshopify.com"
GRAPHQL_URL = f"https://{SHOP}/admin/api/2026-07/graphql.json"
RESULT_URLS = {
    "orders": "https://storage.googleapis.com/shopify-bulk/orders-5001.jsonl?X-Goog-Signature=x",
    "checkouts": "https://storage.googleapis.com/shopify-bulk/checkouts-5002.jsonl?X-Goog-Signature=y",
}


def _jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line]


ORDER_LINES = _jsonl(ORDERS_JSONL)
ROOT_ORDERS = [obj for obj in ORDER_LINES if "__parentId" not in obj]
ORDER_ITEMS = [obj for obj in ORDER_LINES if "__parentId" in obj]


class FakeBulkShopify:
    """Shopify's side of a bulk export: the mutation, the status poll and the JSONL download."""

    def __init__(
        self,
        mock: responses.RequestsMock,
        *,
        polls_before_done: int = 0,
        final_status: str = "COMPLETED",
    ) -> None:
        self.mock = mock
        self.polls_before_done = polls_before_done
        self.final_status = final_status
        self.mutations: list[str] = []
        self.started: list[str] = []
        self.queries: list[str] = []
        self.polls = 0
        mock.add_callback(responses.POST, GRAPHQL_URL, callback=self._graphql)
        mock.get(RESULT_URLS["orders"], body=ORDERS_JSONL.read_bytes())
        mock.get(RESULT_URLS["checkouts"], body=CHECKOUTS_JSONL.read_bytes())

    def downloads(self, kind: str) -> int:
        return sum(1 for call in self.mock.calls if call.request.url == RESULT_URLS[kind])

    def _graphql(self, request: Any) -> tuple[int, dict[str, str], str]:
        data: dict[str, Any]
        body = json.loads(request.body)
        query = body["query"]
        if "bulkOperationRunQuery" in query:
            bulk_query = body["variables"]["query"]
            self.mutations.append(query)
            self.queries.append(bulk_query)
            kind = "checkouts" if "abandonedCheckouts" in bulk_query else "orders"
            self.started.append(kind)
            operation = {"id": f"gid://shopify/BulkOperation/{kind}", "status": "CREATED"}
            data = {"bulkOperationRunQuery": {"bulkOperation": operation, "userErrors": []}}
        elif "bulkOperation(id:" in query:
            kind = body["variables"]["id"].rsplit("/", 1)[-1]
            self.polls += 1
            done = self.polls > self.polls_before_done
            failed = done and self.final_status != "COMPLETED"
            lines = ORDER_LINES if kind == "orders" else _jsonl(CHECKOUTS_JSONL)
            data = {
                "bulkOperation": {
                    "id": body["variables"]["id"],
                    "status": self.final_status if done else "RUNNING",
                    "errorCode": "TIMEOUT" if failed else None,
                    "objectCount": str(len(lines) if done else len(lines) // 2),
                    "rootObjectCount": "0",
                    "url": RESULT_URLS[kind] if done and not failed else None,
                    "partialDataUrl": None,
                    "createdAt": "2026-03-10T15:00:00Z",
                    "completedAt": "2026-03-10T15:01:00Z" if done else None,
                }
            }
        else:
            return 400, {}, json.dumps({"errors": [{"message": "unexpected query"}]})
        return 200, {}, json.dumps({"data": data})


@pytest.fixture
def shopify(mock: responses.RequestsMock) -> FakeBulkShopify:
    return FakeBulkShopify(mock)


def _run_id(session: Session, shop: Shop, kind: BackfillKind) -> int:
    run = backfill_runs.unfinished_run(session, shop_id=shop.id, kind=kind)
    assert run is not None
    run_id = run.id
    session.rollback()  # end the read: on SQLite an open transaction holds the write lock
    return run_id


def _count(session: Session, model: type[Any]) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_install_queues_an_orders_and_a_checkouts_backfill_without_calling_shopify(
    shop: Shop, session: Session
) -> None:
    runs = session.scalars(select(BackfillRun).where(BackfillRun.shop_id == shop.id)).all()

    assert sorted(run.kind for run in runs) == ["checkouts", "orders"]
    assert {run.status for run in runs} == {BackfillStatus.PENDING}


def test_backfill_imports_every_order_with_its_customer_and_line_items(
    shop: Shop,
    session: Session,
    database: Database,
    shopify: FakeBulkShopify,
    graphql: GraphQLClient,
    now: datetime,
) -> None:
    run_id = _run_id(session, shop, BackfillKind.ORDERS)

    progress = backfill.run_backfill(
        database.session_factory, run_id=run_id, client=graphql, clock=lambda: now
    )

    assert progress.status == BackfillStatus.COMPLETED
    assert progress.imported_count == len(ROOT_ORDERS) == 36
    assert progress.lines_processed == len(ORDER_LINES)
    assert _count(session, Order) == 36
    assert _count(session, OrderLine) == len(ORDER_ITEMS)
    order = session.scalar(select(Order).where(Order.shopify_id == 5020))
    assert order is not None
    refunded = ROOT_ORDERS[20]["refunds"][0]["totalRefundedSet"]["shopMoney"]["amount"]
    assert str(order.total_refunded) == refunded == "32.00"
    assert order.customer_id is not None
    ada = session.scalar(select(Customer).where(Customer.shopify_id == 9101))
    assert ada is not None
    assert ada.email == "ada@example.com"
    assert ada.email_consent_state == "subscribed"
    assert session.scalar(select(Order.is_test).where(Order.shopify_id == 5013)) is True
    assert shopify.started == ["orders"]
    # Grouped output is what lets an order be reassembled from a stream.
    assert "groupObjects: true" in shopify.mutations[0]


def _crash_on_call(real: Callable[..., Any], *, call: int) -> Callable[..., Any]:
    """Return *real*, except that its call number *call* raises as a killed worker would."""
    calls = {"n": 0}

    def crashing(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == call:
            raise RuntimeError("worker killed")
        return real(*args, **kwargs)

    return crashing


def _rollups_rederived_order_by_order(session: Session, shop_id: int) -> Any:
    """Return the aggregates the per-order path gives: from none, one `note_order_changed` each."""
    for model in ROLLUP_MODELS:
        session.execute(delete(model).where(model.shop_id == shop_id))
    for order_id in session.scalars(select(Order.id).where(Order.shop_id == shop_id)).all():
        note_order_changed(session, shop_id=shop_id, order_id=order_id)
    session.flush()
    return rollup_rows(session, shop_id)


def test_interrupted_backfill_resumes_after_the_last_committed_chunk_without_duplicates(
    shop: Shop,
    session: Session,
    database: Database,
    shopify: FakeBulkShopify,
    graphql: GraphQLClient,
    now: datetime,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    run_id = _run_id(session, shop, BackfillKind.ORDERS)
    real_upsert = order_batches.upsert_orders
    monkeypatch.setattr(order_batches, "upsert_orders", _crash_on_call(real_upsert, call=3))
    with pytest.raises(RuntimeError, match="worker killed"):
        backfill.run_backfill(
            database.session_factory,
            run_id=run_id,
            client=graphql,
            clock=lambda: now,
            batch_size=8,
        )

    interrupted = session.get(BackfillRun, run_id)
    assert interrupted is not None
    assert interrupted.status == BackfillStatus.FAILED
    assert interrupted.error == "RuntimeError: worker killed"
    assert interrupted.imported_count == 16  # two chunks committed, the third rolled back
    assert _count(session, Order) == 16
    assert interrupted.last_object_id == ROOT_ORDERS[15]["id"]
    assert interrupted.lines_processed == ORDER_LINES.index(ROOT_ORDERS[16])
    session.rollback()

    monkeypatch.setattr(order_batches, "upsert_orders", real_upsert)
    progress = backfill.run_backfill(
        database.session_factory, run_id=run_id, client=graphql, clock=lambda: now, batch_size=8
    )

    assert progress.status == BackfillStatus.COMPLETED
    assert progress.imported_count == 36
    assert shopify.started == ["orders"]  # the export was not started again
    assert shopify.downloads("orders") == 2
    shopify_ids = session.scalars(select(Order.shopify_id).order_by(Order.shopify_id)).all()
    assert shopify_ids == sorted(int(o["id"].rsplit("/", 1)[1]) for o in ROOT_ORDERS)
    line_ids = session.scalars(select(OrderLine.shopify_id)).all()
    assert sorted(line_ids) == sorted(int(i["id"].rsplit("/", 1)[1]) for i in ORDER_ITEMS)


def test_backfill_rebuilds_the_rollups_once_to_what_the_per_order_path_gives(
    shop: Shop,
    session: Session,
    database: Database,
    shopify: FakeBulkShopify,
    graphql: GraphQLClient,
    now: datetime,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    run_id = _run_id(session, shop, BackfillKind.ORDERS)
    rebuilds: list[int] = []
    real_rebuild = backfill.rebuild_rollups

    def counted_rebuild(*args: Any, **kwargs: Any) -> int:
        rebuilds.append(kwargs["shop_id"])
        return real_rebuild(*args, **kwargs)

    monkeypatch.setattr(backfill, "rebuild_rollups", counted_rebuild)
    progress = backfill.run_backfill(
        database.session_factory, run_id=run_id, client=graphql, clock=lambda: now, batch_size=8
    )

    assert progress.status == BackfillStatus.COMPLETED
    assert rebuilds == [shop.id]
    assert current_version(session, shop_id=shop.id) > 0  # cached KPI snapshots are stale
    imported = rollup_rows(session, shop.id)
    assert imported["rollup_orders"]
    assert imported["rollup_customer_days"]
    real_rebuild(session, shop_id=shop.id, now=now)
    assert rollup_rows(session, shop.id) == imported
    assert _rollups_rederived_order_by_order(session, shop.id) == imported


def test_backfill_refreshes_the_planner_statistics_after_chunks_1_2_4_on_postgresql(
    shop: Shop,
    session: Session,
    database: Database,
    shopify: FakeBulkShopify,
    graphql: GraphQLClient,
    now: datetime,
) -> None:
    run_id = _run_id(session, shop, BackfillKind.ORDERS)
    analyzed: list[str] = []

    def note_analyze(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.startswith("ANALYZE"):
            analyzed.append(statement)

    event.listen(database.engine, "before_cursor_execute", note_analyze)
    try:
        backfill.run_backfill(
            database.session_factory, run_id=run_id, client=graphql, clock=lambda: now, batch_size=8
        )
    finally:
        event.remove(database.engine, "before_cursor_execute", note_analyze)

    # 36 orders in chunks of 8: chunks 1 to 5, statistics refreshed after 1, 2 and 4.
    expected = 3 if database.engine.dialect.name == "postgresql" else 0
    assert len(analyzed) == expected
    assert all("orders" in statement for statement in analyzed)
    assert [planner_statistics.is_refresh_due(n) for n in range(1, 10)] == [
        True, True, False, True, False, False, False, True, False,
    ]  # fmt: skip


def test_webhooks_applied_between_chunks_are_counted_once_the_backfill_rebuilds(
    shop: Shop,
    session: Session,
    database: Database,
    shopify: FakeBulkShopify,
    graphql: GraphQLClient,
    now: datetime,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Order 5030 is in the last chunk; its webhook (cancelled, newer) arrives before that chunk.
    exported = next(o for o in ROOT_ORDERS if o["id"].endswith("/5030"))
    cancelled = graphql_shapes.order_to_rest(
        exported, [i for i in ORDER_ITEMS if i["__parentId"] == exported["id"]]
    )
    cancelled.update(updated_at="2026-03-09T12:00:00Z", cancelled_at="2026-03-09T11:59:00Z")
    newer = {**cancelled, "id": 7001, "name": "#7001", "cancelled_at": None, "line_items": []}
    newer.pop("checkout_token", None)
    real_chunks = backfill._chunks

    def chunks_with_webhooks_between(*args: Any, **kwargs: Any) -> Any:
        for number, chunk in enumerate(real_chunks(*args, **kwargs)):
            if number == 1:
                with database.session_scope() as webhooks:
                    stored = webhooks.get(Shop, shop.id)
                    assert stored is not None
                    for payload in (cancelled, newer):
                        orders.upsert_order(
                            webhooks, shop=stored, payload=payload, event_at=None, now=now
                        )
            yield chunk

    monkeypatch.setattr(backfill, "_chunks", chunks_with_webhooks_between)
    backfill.run_backfill(
        database.session_factory,
        run_id=_run_id(session, shop, BackfillKind.ORDERS),
        client=graphql,
        clock=lambda: now,
        batch_size=20,
    )

    assert _count(session, Order) == 37
    cancelled_id = session.scalar(select(Order.id).where(Order.shopify_id == 5030))
    newer_id = session.scalar(select(Order.id).where(Order.shopify_id == 7001))
    counted = {row[0] for row in rollup_rows(session, shop.id)["rollup_orders"]}
    assert newer_id in counted
    assert cancelled_id not in counted
    assert _rollups_rederived_order_by_order(session, shop.id) == rollup_rows(session, shop.id)


def test_backfill_that_crashed_before_its_rebuild_only_rebuilds_when_resumed(
    shop: Shop,
    session: Session,
    database: Database,
    shopify: FakeBulkShopify,
    graphql: GraphQLClient,
    now: datetime,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    run_id = _run_id(session, shop, BackfillKind.ORDERS)
    real_rebuild = backfill.rebuild_rollups
    monkeypatch.setattr(backfill, "rebuild_rollups", _crash_on_call(real_rebuild, call=1))
    with pytest.raises(RuntimeError, match="worker killed"):
        backfill.run_backfill(
            database.session_factory, run_id=run_id, client=graphql, clock=lambda: now
        )
    crashed = session.get(BackfillRun, run_id)
    assert crashed is not None
    assert (crashed.status, crashed.lines_processed) == (BackfillStatus.FAILED, len(ORDER_LINES))
    assert rollup_rows(session, shop.id)["rollup_orders"] == []
    session.rollback()
    upserts = _crash_on_call(order_batches.upsert_orders, call=1)
    monkeypatch.setattr(order_batches, "upsert_orders", upserts)

    progress = backfill.run_backfill(
        database.session_factory, run_id=run_id, client=graphql, clock=lambda: now
    )

    assert progress.status == BackfillStatus.COMPLETED
    assert progress.imported_count == 36
    resumed = rollup_rows(session, shop.id)
    assert resumed["rollup_orders"]
    assert _rollups_rederived_order_by_order(session, shop.id) == resumed


def test_orders_the_store_refuses_are_skipped_with_their_reason(
    shop: Shop,
    session: Session,
    database: Database,
    shopify: FakeBulkShopify,
    graphql: GraphQLClient,
    now: datetime,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    real_upsert = order_batches.upsert_orders

    def refusing_the_first(*args: Any, **kwargs: Any) -> order_batches.OrderBatchResult:
        versions = kwargs.pop("versions")
        result = real_upsert(*args, versions=versions[1:], **kwargs)
        result.failures[versions[0].key] = InvalidPayload("order payload has no price")
        return result

    monkeypatch.setattr(order_batches, "upsert_orders", refusing_the_first)
    progress = backfill.run_backfill(
        database.session_factory,
        run_id=_run_id(session, shop, BackfillKind.ORDERS),
        client=graphql,
        clock=lambda: now,
        batch_size=20,
    )

    assert (progress.imported_count, progress.skipped_count) == (34, 2)
    assert _count(session, Order) == 34
    assert caplog.text.count("Skipped a orders object: order payload has no price") == 2


def test_backfill_never_overwrites_a_newer_order_delivered_by_webhook(
    shop: Shop,
    session: Session,
    database: Database,
    shopify: FakeBulkShopify,
    graphql: GraphQLClient,
    client: FlaskClient,
    runner: FlaskCliRunner,
    now: datetime,
) -> None:
    exported = ROOT_ORDERS[3]
    webhook_payload = graphql_shapes.order_to_rest(
        exported, [i for i in ORDER_ITEMS if i["__parentId"] == exported["id"]]
    )
    webhook_payload["updated_at"] = "2026-03-09T12:00:00Z"  # after the exported version
    webhook_payload["financial_status"] = "refunded"
    webhook_payload["cancelled_at"] = "2026-03-09T11:59:00Z"
    body = json_body(webhook_payload)
    delivered = client.post(
        "/webhooks", data=body, headers=webhook_headers("orders/updated", body, shop_domain=SHOP)
    )
    drained = runner.invoke(args=["webhooks", "drain"])
    assert delivered.status_code == 200
    assert drained.exit_code == 0, drained.output

    backfill.run_backfill(
        database.session_factory,
        run_id=_run_id(session, shop, BackfillKind.ORDERS),
        client=graphql,
        clock=lambda: now,
    )

    kept = session.scalar(select(Order).where(Order.shopify_id == 5003))
    assert kept is not None
    assert kept.financial_status == "refunded"
    assert kept.cancelled_at is not None
    assert _count(session, Order) == 36


def test_backfill_without_read_all_orders_is_limited_to_60_days_and_says_so(
    shop: Shop,
    session: Session,
    database: Database,
    shopify: FakeBulkShopify,
    graphql: GraphQLClient,
    client: FlaskClient,
    now: datetime,
) -> None:
    run_id = _run_id(session, shop, BackfillKind.ORDERS)
    run = session.get(BackfillRun, run_id)
    assert run is not None
    assert run.is_history_limited is True
    assert run.history_since is not None
    installed_at = run.created_at
    session.rollback()

    backfill.run_backfill(database.session_factory, run_id=run_id, client=graphql)
    response = client.get(
        "/api/backfill", headers={"Authorization": f"Bearer {make_session_token(SHOP)}"}
    )

    since = (installed_at - timedelta(days=60)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert f"created_at:>='{since}'" in shopify.queries[0]
    body = response.get_json()
    assert response.status_code == 200
    assert body["has_full_order_history"] is False
    assert body["order_history_days"] == 60
    orders_run = next(r for r in body["runs"] if r["kind"] == "orders")
    assert orders_run["status"] == "completed"
    assert orders_run["is_history_limited"] is True
    assert orders_run["imported_count"] == 36
    assert orders_run["lines_processed"] == orders_run["object_count"] == len(ORDER_LINES)
    checkouts_run = next(r for r in body["runs"] if r["kind"] == "checkouts")
    assert checkouts_run["status"] == "pending"


def test_backfill_with_read_all_orders_asks_for_the_whole_history(
    make_shop: Callable[..., Shop],
    session: Session,
    database: Database,
    graphql: GraphQLClient,
    now: datetime,
) -> None:
    shop = make_shop(SHOP)
    credential = session.get(ShopCredential, shop.id)
    assert credential is not None
    credential.scopes += ",read_all_orders"
    session.commit()
    session.query(BackfillRun).delete()
    session.commit()
    (run,) = backfill_runs.queue_backfill(
        session, shop_id=shop.id, now=now, kinds=(BackfillKind.ORDERS,)
    )
    session.commit()

    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        shopify = FakeBulkShopify(mock, polls_before_done=1)
        backfill.run_backfill(database.session_factory, run_id=run.id, client=graphql, max_wait=0.0)

    assert run.is_history_limited is False
    assert run.history_since is None
    assert shopify.started == ["orders"]
    assert "created_at" not in shopify.queries[0]


def test_abandoned_checkouts_are_imported_by_token_from_their_recovery_url(
    shop: Shop,
    session: Session,
    database: Database,
    shopify: FakeBulkShopify,
    graphql: GraphQLClient,
    now: datetime,
) -> None:
    run_id = _run_id(session, shop, BackfillKind.CHECKOUTS)

    progress = backfill.run_backfill(
        database.session_factory, run_id=run_id, client=graphql, clock=lambda: now
    )

    assert progress.imported_count == 8
    checkouts = session.scalars(select(Checkout).order_by(Checkout.token)).all()
    assert len(checkouts) == 8
    assert all(len(c.token) == 32 for c in checkouts)
    assert sum(1 for c in checkouts if c.completed_at is not None) == 1
    assert all(c.line_items for c in checkouts)
    assert shopify.started == ["checkouts"]


def test_backfill_waits_for_a_running_export_and_leaves_it_for_later_past_max_wait(
    shop: Shop,
    session: Session,
    database: Database,
    graphql: GraphQLClient,
    sleeps: list[float],
    now: datetime,
) -> None:
    run_id = _run_id(session, shop, BackfillKind.ORDERS)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        slow = FakeBulkShopify(mock, polls_before_done=5)
        waited = backfill.run_backfill(
            database.session_factory,
            run_id=run_id,
            client=graphql,
            clock=lambda: now,
            sleep=sleeps.append,
            poll_interval=2.0,
            max_wait=4.0,
        )
        assert waited.status == BackfillStatus.RUNNING
        assert waited.bulk_status == "RUNNING"
        assert sleeps == [2.0, 2.0]

        done = backfill.run_backfill(
            database.session_factory,
            run_id=run_id,
            client=graphql,
            clock=lambda: now,
            sleep=sleeps.append,
            poll_interval=2.0,
            max_wait=60.0,
        )

    assert done.status == BackfillStatus.COMPLETED
    assert slow.started == ["orders"]
    assert done.imported_count == 36


def test_failed_export_fails_the_run_and_the_next_attempt_starts_a_new_export(
    shop: Shop,
    session: Session,
    database: Database,
    graphql: GraphQLClient,
    now: datetime,
) -> None:
    run_id = _run_id(session, shop, BackfillKind.CHECKOUTS)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        failing = FakeBulkShopify(mock, final_status="FAILED")
        with pytest.raises(backfill.BackfillFailed, match="FAILED \\(TIMEOUT\\)"):
            backfill.run_backfill(
                database.session_factory, run_id=run_id, client=graphql, clock=lambda: now
            )
        failed = session.get(BackfillRun, run_id)
        assert failed is not None
        assert failed.status == BackfillStatus.FAILED
        assert failed.bulk_operation_id is None
        session.rollback()
        failing.final_status = "COMPLETED"

        retried = backfill.run_backfill(
            database.session_factory, run_id=run_id, client=graphql, clock=lambda: now
        )

    assert retried.status == BackfillStatus.COMPLETED
    assert failing.started == ["checkouts", "checkouts"]
    assert _count(session, Checkout) == 8


def test_scheduled_backfill_job_drives_the_pending_runs_of_a_fresh_install(
    app: Any, shop: Shop, session: Session, shopify: FakeBulkShopify, now: datetime
) -> None:
    job = load_jobs()["backfill.shop"]

    driven = job.run(app, shop.id, now)

    assert driven == 2
    statuses = session.scalars(select(BackfillRun.status)).all()
    assert sorted(statuses) == ["completed", "completed"]
    assert _count(session, Order) == 36
    assert _count(session, Checkout) == 8
    session.rollback()
    assert job.run(app, shop.id, now) == 0  # nothing is due once both runs completed


def test_failed_run_is_retried_only_after_a_quiet_period_and_a_few_times(
    shop: Shop, session: Session, now: datetime
) -> None:
    run = session.get(BackfillRun, _run_id(session, shop, BackfillKind.ORDERS))
    assert run is not None
    run.status = BackfillStatus.FAILED.value
    run.attempts = 1
    run.heartbeat_at = now - timedelta(minutes=1)
    session.commit()
    checkouts_run = _run_id(session, shop, BackfillKind.CHECKOUTS)

    assert backfill_runs.runs_to_resume(session, now=now) == [checkouts_run]
    later = now + timedelta(minutes=20)
    assert backfill_runs.runs_to_resume(session, now=later) == sorted([run.id, checkouts_run])
    run.attempts = backfill_runs.MAX_ATTEMPTS
    session.commit()
    assert backfill_runs.runs_to_resume(session, now=later) == [checkouts_run]


def test_shops_backfill_command_shows_progress_and_a_60_day_notice(
    runner: FlaskCliRunner, shop: Shop, session: Session, shopify: FakeBulkShopify
) -> None:
    result = runner.invoke(args=["shops", "backfill", SHOP, "--poll-interval", "0"])

    assert result.exit_code == 0, result.output
    assert "Importing orders" in result.output
    assert "Orders: 36 imported, 0 skipped (completed)." in result.output
    assert "Checkouts: 8 imported, 0 skipped (completed)." in result.output
    assert "last 60 days" in result.output
    assert _count(session, Order) == 36


def test_shops_backfill_command_refuses_a_shop_that_never_installed(
    runner: FlaskCliRunner, shop: Shop
) -> None:
    result = runner.invoke(args=["shops", "backfill", "nobody.myshopify.com"])

    assert result.exit_code != 0
    assert "has not installed the app" in result.output
