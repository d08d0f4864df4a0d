"""SQLite and PostgreSQL store the same shuffled webhook stream as exactly the same state."""

from __future__ import annotations

import random
from datetime import UTC
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import select

from shopify_app.db import Database
from shopify_app.models import DeliveryStatus
from shopify_app.models import Shop
from shopify_app.models import WebhookDelivery
from shopify_app.store.token_cipher import TokenCipher
from tests.support import mixed_events as stream
from tests.support.fixtures.shops import install_test_shop
from tests.support.inbox_runs import Event
from tests.support.inbox_runs import drain_in_batches
from tests.support.inbox_runs import record_events
from tests.support.payloads import load_payload
from tests.support.shop_state import final_state

SHOP = "parity.myshopify.com"


def ingest(
    database: Database, cipher: TokenCipher, events: list[Event], sizes: list[int]
) -> dict[str, Any]:
    """Store *events* in a new shop of *database*, drain them in batches; return the state
    and how each delivery ended."""
    installed = install_test_shop(database, cipher, SHOP)
    now = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)
    record_events(database, shop_domain=SHOP, events=events, now=now)
    drain_in_batches(database, sizes=sizes, now=now)
    with database.session_factory() as session:
        ended = session.execute(
            select(WebhookDelivery.webhook_id, WebhookDelivery.status, WebhookDelivery.last_error)
        ).all()
        shop = session.get(Shop, installed.id)
        assert shop is not None
        state = final_state(session, shop, kpis=stream.KPI_WINDOW)
    return {**state, "deliveries": sorted(tuple(row) for row in ended)}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_sqlite_and_postgresql_end_a_shuffled_stream_in_identical_states(
    backend_databases: dict[str, Database], cipher: TokenCipher, seed: int
) -> None:
    events = stream.random_stream(seed, stream.mixed_events())
    sizes = random.Random(seed).choices(range(1, 51), k=4)

    states = {
        backend: ingest(database, cipher, events, sizes)
        for backend, database in backend_databases.items()
    }

    assert states["sqlite"] == states["postgresql"]
    # Equal and not empty: the stream was stored, rollups and KPIs included.
    state = states["sqlite"]
    assert {status for _, status, _ in state["deliveries"]} == {DeliveryStatus.DONE}
    assert (len(state["orders"]), len(state["refunds"]), len(state["checkouts"])) == (3, 2, 3)
    assert len(state["rollups"]["rollup_orders"]) == 2


def test_values_only_sqlite_could_store_are_stored_alike_or_refused_alike_on_both(
    backend_databases: dict[str, Database], cipher: TokenCipher
) -> None:
    events = stream.mixed_events()
    renamed = events[-1].payload  # Dana's last update: a NUL inside her name
    assert renamed["id"] == stream.DANA
    renamed["first_name"] = "Da\x00na"
    huge = load_payload("orders__create")
    huge.update(id=stream.ORDER_A + 9, test=False, cancelled_at=None)
    huge["total_price_set"]["shop_money"]["amount"] = "1000000000000.00"
    events.append(Event("orders/create", huge, stream.T0, "too-much"))

    states = {
        backend: ingest(database, cipher, events, [50])
        for backend, database in backend_databases.items()
    }

    assert states["sqlite"] == states["postgresql"]
    state = states["sqlite"]
    customers = {c["shopify_id"]: c["first_name"] for c in state["customers"]}
    assert customers[stream.DANA] == "Dana"
    ended = {webhook_id: (status, error) for webhook_id, status, error in state["deliveries"]}
    assert ended["too-much"] == (
        DeliveryStatus.DEAD,
        "InvalidPayload: amount out of range: 1000000000000.00",
    )
