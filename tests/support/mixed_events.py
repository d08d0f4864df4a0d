"""Webhook events of many topics, built from the sample payloads, in the order they happened.

Three orders (two of one repeat customer, one of a customer who also arrives through the customers
topics), their refunds and fulfillments, three checkouts and a customer who never orders. Versions
of one object differ in `updated_at`; a few share it and are told apart by their trigger time
only. Refunds and fulfillments fail while their order is missing and succeed once it is stored.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta
from typing import Any

from tests.support.inbox_runs import Event
from tests.support.payloads import load_payload
from tests.support.shop_state import KpiWindow

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
KPI_WINDOW = KpiWindow(
    start=date(2026, 1, 1), end=date(2026, 6, 30), now=datetime(2026, 7, 1, tzinfo=UTC)
)

ORDER_A = 820982911946154508
ORDER_B = ORDER_A + 1
ORDER_C = ORDER_A + 2
TOKEN = "123123123"
TOKEN_C = "c-checkout"
ABANDONED = "abandoned"
JOHN = 115310627314723954
BOB = 706405506930370084
DANA = BOB + 1
LINE_OFFSET = {ORDER_A: 0, ORDER_B: 1, ORDER_C: 2}
"""Added to the sample's line ids so that each order's lines have ids of their own."""


def _at(offset: timedelta) -> str:
    return (T0 + offset).isoformat()


def _order(
    topic: str, order_id: int, updated: timedelta, *, placed: timedelta, **changes: Any
) -> dict[str, Any]:
    payload = load_payload(topic.replace("/", "__"))
    payload.update(id=order_id, name=f"#{order_id % 10_000}", test=False)
    payload.update(cancelled_at=None, cancel_reason=None, checkout_token=None)
    payload.update(created_at=_at(placed), processed_at=_at(placed), updated_at=_at(updated))
    for line in payload["line_items"]:
        line["id"] += LINE_OFFSET[order_id]
    payload["customer"]["first_name"] = f"John {updated}"
    payload.update(changes)
    return payload


def _bob(payload: dict[str, Any], *, first_name: str) -> dict[str, Any]:
    """Return *payload* (an order or checkout) as Bob's, his nested snapshot named *first_name*."""
    customer = load_payload("customers__create")
    customer.update(updated_at=None, first_name=first_name)
    payload["customer"] = customer
    payload["email"] = customer["email"]
    if "contact_email" in payload:
        payload["contact_email"] = customer["email"]
    return payload


def _checkout(topic: str, token: str, updated: timedelta, **changes: Any) -> dict[str, Any]:
    payload = load_payload(topic.replace("/", "__"))
    payload["token"] = token
    payload["updated_at"] = _at(updated)
    payload["customer"] = load_payload("orders__create")["customer"]
    payload["customer"]["first_name"] = f"Johnny {updated}"
    payload.update(changes)
    return payload


def _refund(refund_id: int, order_id: int, at: timedelta, lines: slice) -> dict[str, Any]:
    payload = load_payload("refunds__create")
    payload.update(id=refund_id, order_id=order_id, created_at=_at(at), processed_at=_at(at))
    payload["refund_line_items"] = payload["refund_line_items"][lines]
    for line in payload["refund_line_items"]:
        line["line_item_id"] += LINE_OFFSET[order_id]
    for transaction in payload["transactions"]:
        transaction["order_id"] = order_id
    return payload


def _fulfillment(
    topic: str, fulfillment_id: int, order_id: int, updated: timedelta, shipment: str | None
) -> dict[str, Any]:
    payload = load_payload(topic.replace("/", "__"))
    payload.update(id=fulfillment_id, order_id=order_id, updated_at=_at(updated))
    payload["shipment_status"] = shipment
    return payload


def _customer(topic: str, customer_id: int, updated: timedelta, **changes: Any) -> dict[str, Any]:
    payload = load_payload(topic.replace("/", "__"))
    payload.update(id=customer_id, updated_at=_at(updated), **changes)
    return payload


def _order_a() -> list[tuple[str, dict[str, Any]]]:
    """The first order, edited, paid, cancelled; refunded, fulfilled and from a checkout."""
    zero = timedelta(0)

    def version(topic: str, updated: timedelta, **changes: Any) -> dict[str, Any]:
        return _order(topic, ORDER_A, updated, placed=zero, checkout_token=TOKEN, **changes)

    edited = version("orders/updated", timedelta(hours=2), financial_status="paid")
    cancelled = version(
        "orders/cancelled",
        timedelta(hours=3),
        financial_status="refunded",
        cancelled_at=_at(timedelta(hours=3)),
    )
    for changed in (edited, cancelled):  # the edit removed the first line for good
        changed["line_items"] = changed["line_items"][1:]
        changed["total_price_set"]["shop_money"]["amount"] = "315.96"
    refund = _refund(890088186047892319, ORDER_A, timedelta(hours=4), slice(None))
    return [
        ("orders/create", version("orders/create", zero, financial_status="pending")),
        ("orders/updated", version("orders/updated", zero, financial_status="authorized")),
        ("orders/paid", version("orders/paid", timedelta(hours=1), financial_status="paid")),
        ("orders/updated", edited),
        ("orders/cancelled", cancelled),
        ("refunds/create", refund),
        *(
            (topic, _fulfillment(topic, 123456, ORDER_A, timedelta(days=days), shipment))
            for topic, days, shipment in (
                ("fulfillments/create", 0, None),
                ("fulfillments/update", 2, "in_transit"),
                ("fulfillments/update", 3, "delivered"),
            )
        ),
    ]


def _checkouts() -> list[tuple[str, dict[str, Any]]]:
    one_line = _checkout("checkouts/update", TOKEN, timedelta(minutes=-30), email="j@example.org")
    one_line["line_items"] = one_line["line_items"][:1]
    one_line["line_items"][0]["quantity"] = 2
    return [
        ("checkouts/create", _checkout("checkouts/create", TOKEN, timedelta(hours=-1))),
        ("checkouts/update", one_line),
        (
            "checkouts/update",
            _checkout("checkouts/update", TOKEN, timedelta(0), completed_at=T0.isoformat()),
        ),
        ("checkouts/create", _checkout("checkouts/create", ABANDONED, timedelta(hours=-5))),
        (
            "checkouts/update",
            # Same updated_at as its create: only the trigger time tells them apart.
            _checkout("checkouts/update", ABANDONED, timedelta(hours=-5), email="x@example.org"),
        ),
    ]


def _order_b() -> list[tuple[str, dict[str, Any]]]:
    """John's second order: paid, then edited down to four lines; one line refunded."""
    placed = timedelta(days=20)

    def version(topic: str, hours: int, **changes: Any) -> dict[str, Any]:
        return _order(topic, ORDER_B, placed + timedelta(hours=hours), placed=placed, **changes)

    edited = version("orders/updated", 2, financial_status="partially_refunded")
    edited["line_items"] = edited["line_items"][:-1]
    edited["total_price_set"]["shop_money"]["amount"] = "294.96"
    return [
        ("orders/create", version("orders/create", 0, financial_status="pending")),
        ("orders/updated", version("orders/updated", 1, financial_status="paid")),
        ("orders/updated", edited),
        (
            "refunds/create",
            _refund(890088186047892320, ORDER_B, placed + timedelta(days=5), slice(1)),
        ),
        ("fulfillments/create", _fulfillment("fulfillments/create", 123457, ORDER_B, placed, None)),
        (
            "fulfillments/update",
            _fulfillment(
                "fulfillments/update", 123457, ORDER_B, placed + timedelta(days=1), "delivered"
            ),
        ),
    ]


def _bob_and_dana() -> list[tuple[str, dict[str, Any]]]:
    """Bob arrives as a customer, orders once from a checkout, and is renamed; Dana never orders."""
    placed = timedelta(days=30)
    order = _order("orders/create", ORDER_C, placed, placed=placed, checkout_token=TOKEN_C)
    paid = _order(
        "orders/paid",
        ORDER_C,
        placed,
        placed=placed,
        checkout_token=TOKEN_C,
        financial_status="paid",
    )
    checkout = _checkout("checkouts/create", TOKEN_C, placed - timedelta(minutes=10))
    completed = _checkout("checkouts/update", TOKEN_C, placed, completed_at=_at(placed))
    consent = {"state": "subscribed", "opt_in_level": "single_opt_in", "consent_updated_at": None}
    return [
        ("customers/create", _customer("customers/create", BOB, timedelta(days=-1))),
        ("checkouts/create", _bob(checkout, first_name="Bobby")),
        ("orders/create", _bob(order, first_name="Bob C")),
        # Same updated_at as the create: the later trigger (paid) wins.
        ("orders/paid", _bob(paid, first_name="Bob paid")),
        ("checkouts/update", _bob(completed, first_name="Bob done")),
        (
            "customers/update",
            _customer("customers/update", BOB, timedelta(days=40), first_name="Rob"),
        ),
        (
            "customers/update",
            _customer("customers/update", BOB, timedelta(days=40), first_name="Robert"),
        ),
        (
            "customers/create",
            _customer(
                "customers/create", DANA, timedelta(days=-2), email="d@x.org", first_name="Dana"
            ),
        ),
        (
            "customers/update",
            _customer(
                "customers/update",
                DANA,
                timedelta(days=-1),
                email="dana@example.org",
                first_name="Dana",
                email_marketing_consent=consent,
            ),
        ),
    ]


def mixed_events() -> list[Event]:
    """Return the events in the order they happened, each triggered a minute after the last."""
    described = [*_checkouts(), *_order_a(), *_order_b(), *_bob_and_dana()]
    return [
        Event(topic, payload, T0 + timedelta(minutes=number), f"event-{number}")
        for number, (topic, payload) in enumerate(described)
    ]


def shuffled_with_duplicates(
    events: list[Event], order: list[int], repeats: list[tuple[int, int, bool]]
) -> list[Event]:
    """Return *events* in *order*, each repeat (event, position, is_new_id) inserted at position.

    A repeat under its own webhook id is a second delivery of the same event, which the handlers
    must absorb; one under the first's id is a redelivery the inbox keeps once.
    """
    stream = [events[index] for index in order]
    for index, position, is_new_id in repeats:
        repeat = events[index]
        if is_new_id:
            repeat = replace(repeat, webhook_id=f"{repeat.webhook_id}-again-{position}")
        stream.insert(position, repeat)
    return stream


def random_stream(seed: int, events: list[Event]) -> list[Event]:
    """Return a seeded shuffle of *events* with a few of them delivered again anywhere."""
    rng = random.Random(seed)
    order = rng.sample(range(len(events)), len(events))
    repeats = [
        (rng.randrange(len(events)), rng.randrange(len(events)), rng.random() < 0.5)
        for _ in range(8)
    ]
    return shuffled_with_duplicates(events, order, repeats)
