"""SQLite and PostgreSQL store the same shuffled webhook stream as exactly the same state."""

from __future__ import annotations

import random
from datetime import UTC
from datetime import datetime
from typing import Any

import pytest

from shopify_app.db import Database
from shopify_app.models import DeliveryStatus
from shopify_app.models import Shop
from shopify_app.store.token_cipher import TokenCipher
from tests.support import mixed_events as stream
from tests.support.fixtures.shops import install_test_shop
from tests.support.inbox_runs import Event
from tests.support.inbox_runs import drain_in_batches
from tests.support.inbox_runs import record_events
from tests.support.inbox_runs import status_counts
from tests.support.shop_state import final_state

SHOP = "parity.myshopify.com"


def ingest(
    database: Database, cipher: TokenCipher, events: list[Event], sizes: list[int]
) -> dict[str, Any]:
    """Store *events* in a new shop of *database*, drain them in batches; return the state."""
    installed = install_test_shop(database, cipher, SHOP)
    now = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)
    record_events(database, shop_domain=SHOP, events=events, now=now)
    drain_in_batches(database, sizes=sizes, now=now)
    with database.session_factory() as session:
        assert status_counts(session) == {DeliveryStatus.DONE: len({e.webhook_id for e in events})}
        shop = session.get(Shop, installed.id)
        assert shop is not None
        return final_state(session, shop, kpis=stream.KPI_WINDOW)


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
    assert (len(state["orders"]), len(state["refunds"]), len(state["checkouts"])) == (3, 2, 3)
    assert len(state["rollups"]["rollup_orders"]) == 2
