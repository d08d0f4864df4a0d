"""Any permutation, with duplicates, of an order/checkout event stream ends in the same state.

The stream is built from the sample payloads with varying `updated_at` and trigger times: five
order versions (two with the same `updated_at`, told apart by trigger time), refund and
fulfillment events (which fail while their order is missing and are retried, as the worker
does), and two checkouts: one completed by the order, one whose two versions share `updated_at`.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from shopify_app.models import Shop
from shopify_app.store.parent_orders import OrderNotYetKnown
from tests.support.handlers import deliver
from tests.support.payloads import load_payload
from tests.support.stored_state import final_state

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
TOKEN = "123123123"


def _order(topic: str, updated: timedelta, **changes: Any) -> dict[str, Any]:
    payload = load_payload(topic.replace("/", "__"))
    payload.update(checkout_token=TOKEN, test=False, cancelled_at=None, cancel_reason=None)
    payload["updated_at"] = (T0 + updated).isoformat()
    payload["customer"]["first_name"] = f"John {updated}"
    payload.update(changes)
    return payload


def _checkout(topic: str, token: str, updated: timedelta, **changes: Any) -> dict[str, Any]:
    payload = load_payload(topic.replace("/", "__"))
    payload["token"] = token
    payload["updated_at"] = (T0 + updated).isoformat()
    payload["customer"] = load_payload("orders__create")["customer"]
    payload["customer"]["first_name"] = f"Johnny {updated}"
    payload.update(changes)
    return payload


def _fulfillment(updated: timedelta, shipment_status: str | None) -> dict[str, Any]:
    payload = load_payload("fulfillments__create")
    payload["updated_at"] = (T0 + updated).isoformat()
    payload["shipment_status"] = shipment_status
    return payload


def _build_events() -> list[tuple[str, dict[str, Any]]]:
    edited = _order("orders/updated", timedelta(hours=2), financial_status="paid")
    cancelled = _order(
        "orders/cancelled",
        timedelta(hours=3),
        financial_status="refunded",
        cancelled_at=(T0 + timedelta(hours=3)).isoformat(),
    )
    for version in (edited, cancelled):  # the edit removed the first line for good
        version["line_items"] = version["line_items"][1:]
        version["total_price_set"]["shop_money"]["amount"] = "315.96"
    one_line = _checkout("checkouts/update", TOKEN, timedelta(minutes=-30), email="j@example.org")
    one_line["line_items"] = one_line["line_items"][:1]
    one_line["line_items"][0]["quantity"] = 2
    return [
        ("orders/create", _order("orders/create", timedelta(0), financial_status="pending")),
        ("orders/updated", _order("orders/updated", timedelta(0), financial_status="authorized")),
        ("orders/paid", _order("orders/paid", timedelta(hours=1), financial_status="paid")),
        ("orders/updated", edited),
        ("orders/cancelled", cancelled),
        ("refunds/create", load_payload("refunds__create")),
        ("fulfillments/create", _fulfillment(timedelta(hours=1), None)),
        ("fulfillments/update", _fulfillment(timedelta(days=2), "in_transit")),
        ("fulfillments/update", _fulfillment(timedelta(days=3), "delivered")),
        ("checkouts/create", _checkout("checkouts/create", TOKEN, timedelta(hours=-1))),
        ("checkouts/update", one_line),
        (
            "checkouts/update",
            _checkout("checkouts/update", TOKEN, timedelta(0), completed_at=T0.isoformat()),
        ),
        ("checkouts/create", _checkout("checkouts/create", "abandoned", timedelta(hours=-5))),
        (
            "checkouts/update",
            # Same updated_at as its create: only the trigger time tells them apart.
            _checkout("checkouts/update", "abandoned", timedelta(hours=-5), email="x@example.org"),
        ),
    ]


EVENTS = _build_events()
TRIGGERED_AT = [T0 + timedelta(minutes=i) for i in range(len(EVENTS))]


@st.composite
def streams(draw: st.DrawFn) -> list[int]:
    """Return a permutation of the events with some of them delivered again anywhere."""
    stream = list(draw(st.permutations(range(len(EVENTS)))))
    repeats = draw(
        st.lists(
            st.tuples(st.integers(0, len(EVENTS) - 1), st.integers(0, len(EVENTS))), max_size=6
        )
    )
    for index, position in repeats:
        stream.insert(position, index)
    return stream


def run_stream(session: Session, shop: Shop, stream: list[int], now: datetime) -> None:
    """Deliver *stream*; a delivery whose order is missing goes back in the queue, as a retry."""
    queue = deque(stream)
    attempts = 0
    while queue:
        attempts += 1
        assert attempts < 10 * len(EVENTS) * 2, "a delivery never succeeded"
        index = queue.popleft()
        topic, payload = EVENTS[index]
        try:
            deliver(
                session,
                shop,
                topic,
                payload,
                now=now,
                triggered_at=TRIGGERED_AT[index],
                webhook_id=f"event-{index}",
            )
        except OrderNotYetKnown:
            queue.append(index)


def test_any_permutation_with_duplicates_yields_the_in_order_state(
    session: Session, make_shop: Callable[..., Shop], now: datetime
) -> None:
    numbers = itertools.count()

    def fresh_shop() -> Shop:
        shop = session.get(Shop, make_shop(f"prop-{next(numbers)}.myshopify.com").id)
        assert shop is not None
        session.commit()
        return shop

    reference = fresh_shop()
    run_stream(session, reference, list(range(len(EVENTS))), now)
    expected = final_state(session, reference)
    # The reference run reaches the state the stream describes, so equality below means something.
    (order,) = expected["orders"]
    assert (order["financial_status"], len(order["lines"])) == ("refunded", 4)
    assert order["cancelled_at"] == T0 + timedelta(hours=3)
    assert expected["fulfillments"][0]["delivered_at"] == T0 + timedelta(days=3)
    assert {c["token"]: c["recovered_order"] for c in expected["checkouts"]} == {
        TOKEN: order["shopify_id"],
        "abandoned": None,
    }
    assert expected["customers"][0]["first_name"] == "John 3:00:00"
    assert {c["token"]: c["email"] for c in expected["checkouts"]}["abandoned"] == "x@example.org"

    @settings(
        max_examples=30,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(stream=streams())
    def check(stream: list[int]) -> None:
        shop = fresh_shop()
        run_stream(session, shop, stream, now)
        assert final_state(session, shop) == expected

    check()
