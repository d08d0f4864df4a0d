"""Faults: the database goes away or fills up, the worker is killed, the clock is skewed."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import event
from sqlalchemy import exc
from sqlalchemy import func
from sqlalchemy import select

from shopify_app.db import Database
from shopify_app.models import DeliveryStatus
from shopify_app.models import Order
from shopify_app.models import Shop
from shopify_app.models import WebhookDelivery
from tests.support.payloads import load_payload
from tests.support.shopify import json_body
from tests.support.shopify import webhook_headers
from webhooks.inbox import CLAIM_LEASE
from webhooks.worker import drain

SHOP = "alpha.myshopify.com"


def order(number: int, *, updated_at: datetime, note: str = "") -> dict[str, Any]:
    payload = load_payload("orders__create")
    payload.update(
        id=5_000_000 + number,
        name=f"#{number}",
        source_name=note,
        updated_at=updated_at.isoformat(),
    )
    return payload


def post(
    client: FlaskClient,
    payload: dict[str, Any],
    *,
    webhook_id: str,
    triggered_at: datetime | None = None,
    topic: str = "orders/create",
) -> int:
    body = json_body(payload)
    headers = webhook_headers(
        topic, body, shop_domain=SHOP, webhook_id=webhook_id, triggered_at=triggered_at
    )
    return client.post("/webhooks", data=body, headers=headers).status_code


def deliveries(database: Database) -> dict[str, DeliveryStatus]:
    with database.session_scope() as session:
        return {d.webhook_id: d.status for d in session.scalars(select(WebhookDelivery))}


class Outage:
    """Make every new database connection fail while `down` is set, as a dead server would."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self.down = False
        self.refused = 0

    def __call__(self, dialect: Any, conn_rec: Any, cargs: Any, cparams: Any) -> None:
        if self.down:
            self.refused += 1
            raise exc.OperationalError("connect", {}, ConnectionRefusedError("database is down"))

    def start(self) -> None:
        self.down = True
        self.database.engine.dispose()  # drop pooled connections: the server went away


@pytest.fixture
def outage(database: Database) -> Iterator[Outage]:
    failing = Outage(database)
    event.listen(database.engine, "do_connect", failing)
    yield failing
    event.remove(database.engine, "do_connect", failing)


def test_database_outage_during_ingestion_answers_5xx_loses_nothing_and_resumes_by_itself(
    client: FlaskClient, database: Database, shop: Shop, outage: Outage
) -> None:
    t0 = datetime(2026, 3, 1, tzinfo=UTC)
    assert post(client, order(1, updated_at=t0), webhook_id="before") == 200

    outage.start()
    during = post(client, order(2, updated_at=t0), webhook_id="during")
    outage.down = False
    # Shopify retries the refused delivery; the app needs no restart.
    retried = post(client, order(2, updated_at=t0), webhook_id="during")
    after = post(client, order(3, updated_at=t0), webhook_id="after")
    drain(database, now=t0 + timedelta(minutes=1))

    assert outage.refused >= 1
    assert during == 503
    assert (retried, after) == (200, 200)
    assert deliveries(database) == dict.fromkeys(("before", "during", "after"), DeliveryStatus.DONE)
    with database.session_scope() as session:
        assert session.scalar(select(func.count()).select_from(Order)) == 3


def test_database_outage_while_the_worker_processes_leaves_deliveries_to_retry(
    client: FlaskClient, database: Database, shop: Shop, outage: Outage
) -> None:
    t0 = datetime(2026, 3, 1, tzinfo=UTC)
    for number in range(3):
        assert post(client, order(number, updated_at=t0), webhook_id=f"w{number}") == 200

    outage.start()
    with pytest.raises(exc.OperationalError):
        drain(database, now=t0)
    outage.down = False
    drain(database, now=t0 + timedelta(hours=1))

    assert set(deliveries(database).values()) == {DeliveryStatus.DONE}


def test_sqlite_disk_full_refuses_the_webhook_with_5xx_and_writes_nothing_half(
    client: FlaskClient, database: Database, shop: Shop, database_url: str
) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLITE_FULL is SQLite's; PostgreSQL has no per-connection page limit")
    t0 = datetime(2026, 3, 1, tzinfo=UTC)

    def cap_pages(dbapi_connection: Any, connection_record: Any) -> None:
        cursor = dbapi_connection.cursor()
        pages = cursor.execute("PRAGMA page_count").fetchone()[0]
        cursor.execute(f"PRAGMA max_page_count = {pages}")
        cursor.close()

    database.engine.dispose()
    event.listen(database.engine, "connect", cap_pages)
    big = order(1, updated_at=t0)
    big["line_items"] = big["line_items"] * 200  # a body larger than the free pages
    full = post(client, big, webhook_id="big")
    event.remove(database.engine, "connect", cap_pages)
    database.engine.dispose()

    assert full == 503
    assert deliveries(database) == {}
    assert post(client, big, webhook_id="big") == 200
    drain(database, now=t0)
    assert deliveries(database) == {"big": DeliveryStatus.DONE}


def test_triggered_at_far_in_the_future_is_stored_and_does_not_freeze_later_updates(
    client: FlaskClient, database: Database, shop: Shop
) -> None:
    t0 = datetime(2026, 3, 1, tzinfo=UTC)
    skewed = datetime(2099, 1, 1, tzinfo=UTC)
    past = datetime(1999, 1, 1, tzinfo=UTC)
    assert (
        post(client, order(1, updated_at=t0, note="first"), webhook_id="a", triggered_at=skewed)
        == 200
    )
    assert (
        post(
            client,
            order(1, updated_at=t0 + timedelta(hours=1), note="second"),
            webhook_id="b",
            triggered_at=past,
            topic="orders/updated",
        )
        == 200
    )
    drain(database, now=t0 + timedelta(hours=2))

    with database.session_scope() as session:
        stored = session.scalar(select(Order))
        assert stored is not None
        assert stored.source_name == "second"
        triggered = session.scalar(
            select(WebhookDelivery.triggered_at).where(WebhookDelivery.webhook_id == "a")
        )
        assert triggered is not None
        assert triggered.replace(tzinfo=UTC) == skewed


def test_dst_change_in_the_shops_zone_keeps_the_order_of_updates(
    client: FlaskClient, database: Database, shop: Shop
) -> None:
    # 2026-11-01 01:30 happens twice in New York; the later wall time must still win by instant.
    first = datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # 01:30 EDT
    second = datetime(2026, 11, 1, 6, 30, tzinfo=UTC)  # 01:30 EST, one hour later
    late = order(1, updated_at=second, note="later")
    early = order(1, updated_at=first, note="earlier")
    late["updated_at"] = "2026-11-01T01:30:00-05:00"
    early["updated_at"] = "2026-11-01T01:30:00-04:00"
    assert post(client, late, webhook_id="late", triggered_at=second) == 200
    assert (
        post(client, early, webhook_id="early", triggered_at=first, topic="orders/updated") == 200
    )
    drain(database, now=second + timedelta(minutes=5))

    with database.session_scope() as session:
        stored = session.scalar(select(Order))
        assert stored is not None
        assert stored.source_name == "later"


KILLED_WORKER = """
import os, signal, sys
from datetime import datetime, timedelta
from shopify_app import create_app
from shopify_app.db import get_database
from tests.support.settings import TEST_SETTINGS
from webhooks import handlers, worker

app = create_app({**TEST_SETTINGS, "DATABASE_URL": sys.argv[1]})
real = handlers.HANDLERS["orders/create"]
seen = []

def handle_then_die(session, shop, payload, ctx):
    real(session, shop, payload, ctx)
    seen.append(ctx.delivery_id)
    if len(seen) == int(sys.argv[3]):
        session.flush()
        os.kill(os.getpid(), signal.SIGKILL)  # mid-batch, mid-transaction

handlers.HANDLERS["orders/create"] = handle_then_die
# One batch, one transaction: the budget is long enough for all eight deliveries.
worker.drain(
    get_database(app), now=datetime.fromisoformat(sys.argv[2]), budget=timedelta(minutes=5)
)
"""


def test_worker_killed_mid_batch_leaves_rows_that_are_recovered_and_processed_once(
    client: FlaskClient, database: Database, shop: Shop, database_url: str
) -> None:
    t0 = datetime(2026, 3, 1, tzinfo=UTC)
    for number in range(8):
        assert post(client, order(number, updated_at=t0), webhook_id=f"k{number}") == 200
    database.engine.dispose()

    killed = subprocess.run(
        [sys.executable, "-c", KILLED_WORKER, database_url, t0.isoformat(), "3"],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert killed.returncode == -signal.SIGKILL, killed.stderr
    left = deliveries(database)
    assert DeliveryStatus.PROCESSING in left.values()
    with database.session_scope() as session:
        before = session.scalar(select(func.count()).select_from(Order))
    assert before == 0  # the batch's one transaction died with the process, mid-batch

    drain(database, now=t0)  # within the lease: nothing is taken twice
    assert deliveries(database) == left
    drain(database, now=t0 + CLAIM_LEASE + timedelta(seconds=1))

    assert set(deliveries(database).values()) == {DeliveryStatus.DONE}
    with database.session_scope() as session:
        assert session.scalar(select(func.count()).select_from(Order)) == 8
        attempts = sorted(session.scalars(select(WebhookDelivery.attempts)))
    assert attempts == [2] * 8  # every delivery of the lost batch was taken once more
