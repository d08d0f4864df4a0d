"""Any permutation, with duplicates, of a mixed event stream, drained in any batches, ends the same.

The stream (`tests.support.mixed_events`) mixes orders, refunds, fulfillments, checkouts and
customers. The reference is the stream in the order it happened, one handler call per event. Each
example shuffles it, repeats some events (under their own webhook id or the first's), stores it in
the inbox and drains it in batches of drawn sizes, through the worker's batch path; refunds and
fulfillments that arrive before their order fail and are retried once the backoff has passed.
The stored model, the rollups and the KPIs must equal the reference's, surrogate ids aside.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import datetime
from datetime import timedelta
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from shopify_app.db import Database
from shopify_app.models import DeliveryStatus
from shopify_app.models import Shop
from tests.support import mixed_events as stream
from tests.support.inbox_runs import deliver_one_by_one
from tests.support.inbox_runs import drain_in_batches
from tests.support.inbox_runs import record_events
from tests.support.inbox_runs import status_counts
from tests.support.shop_state import final_state

EVENTS = stream.mixed_events()


SHUFFLES = st.permutations(range(len(EVENTS)))
REPEATS = st.lists(
    st.tuples(st.integers(0, len(EVENTS) - 1), st.integers(0, len(EVENTS)), st.booleans()),
    max_size=8,
)
"""Events delivered again: (which, where in the stream, under a webhook id of its own)."""
BATCH_SIZES = st.lists(st.integers(1, 50), min_size=1, max_size=6)
BUDGETS = st.sampled_from([timedelta(0), timedelta(hours=1)])
"""A spent budget commits a batch's deliveries one by one; an hour keeps one transaction."""


def check_reference(expected: dict[str, Any]) -> None:
    """Check that the in-order run reached the state the stream describes."""
    orders = {order["shopify_id"]: order for order in expected["orders"]}
    first = orders[stream.ORDER_A]
    assert (first["financial_status"], len(first["lines"])) == ("refunded", 4)
    assert first["cancelled_at"] == stream.T0 + timedelta(hours=3)
    assert (orders[stream.ORDER_B]["total_price"], len(orders[stream.ORDER_B]["lines"])) == (
        Decimal("294.96"),
        4,
    )
    assert orders[stream.ORDER_C]["financial_status"] == "paid"
    assert {f["order"]: f["delivered_at"] for f in expected["fulfillments"]} == {
        stream.ORDER_A: stream.T0 + timedelta(days=3),
        stream.ORDER_B: stream.T0 + timedelta(days=21),
    }
    assert {r["order"]: len(r["lines"]) for r in expected["refunds"]} == {
        stream.ORDER_A: 5,
        stream.ORDER_B: 1,
    }
    assert {c["token"]: c["recovered_order"] for c in expected["checkouts"]} == {
        stream.TOKEN: stream.ORDER_A,
        stream.TOKEN_C: stream.ORDER_C,
        stream.ABANDONED: None,
    }
    assert {c["token"]: c["email"] for c in expected["checkouts"]}[stream.ABANDONED] == (
        "x@example.org"
    )
    names = {c["shopify_id"]: c["first_name"] for c in expected["customers"]}
    assert names == {
        stream.JOHN: "John 20 days, 2:00:00",
        stream.BOB: "Robert",
        stream.DANA: "Dana",
    }
    kpis = expected["kpis"]["current"]
    # A is cancelled: John's second order and Bob's are the orders that count.
    assert (kpis["orders"], kpis["customers"], kpis["new_customers"]) == (2, 2, 2)


def test_any_shuffle_with_duplicates_in_any_batches_yields_the_in_order_state(
    database: Database, session: Session, make_shop: Callable[..., Shop], now: datetime
) -> None:
    numbers = itertools.count()

    def fresh_shop() -> Shop:
        shop = session.get(Shop, make_shop(f"prop-{next(numbers)}.myshopify.com").id)
        assert shop is not None
        session.commit()
        return shop

    reference = fresh_shop()
    deliver_one_by_one(session, reference, EVENTS, now=now)
    expected = final_state(session, reference, kpis=stream.KPI_WINDOW)
    check_reference(expected)

    @settings(
        max_examples=30,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(order=SHUFFLES, repeats=REPEATS, sizes=BATCH_SIZES, budget=BUDGETS)
    def check(
        order: list[int], repeats: list[tuple[int, int, bool]], sizes: list[int], budget: timedelta
    ) -> None:
        shop = fresh_shop()
        events = stream.shuffled_with_duplicates(EVENTS, order, repeats)
        record_events(database, shop_domain=shop.domain, events=events, now=now)
        drain_in_batches(database, sizes=sizes, now=now, budget=budget)
        assert set(status_counts(session)) == {DeliveryStatus.DONE}
        assert final_state(session, shop, kpis=stream.KPI_WINDOW) == expected

    check()
