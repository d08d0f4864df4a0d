"""The demo store generator: reproducible, realistic in shape and in behaviour."""

from __future__ import annotations

import hashlib
import io
import json
import re
from collections import Counter
from collections import defaultdict
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from shopify_app.demo import DEMO_SHOP_DOMAIN
from shopify_app.demo.catalog import product_by_id
from shopify_app.demo.generator import CONSENT_TOPIC
from shopify_app.demo.generator import TOPICS
from shopify_app.demo.generator import DemoEvent
from shopify_app.demo.generator import ShopSimulation
from shopify_app.demo.generator import event_to_json
from shopify_app.demo.generator import history
from shopify_app.demo.generator import read_events
from shopify_app.demo.generator.seasons import season_factor
from webhooks.processing import parse_payload

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
NOW = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)
MONEY = re.compile(r"^-?\d+\.\d{2}$")
SHOP_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}-0[45]:00$")


def _stream_digest(*, seed: int, customers: int) -> str:
    digest = hashlib.sha256()
    simulation = ShopSimulation(seed=seed, customers=customers, now=NOW, history_days=365)
    for event in history(simulation):
        digest.update(event_to_json(event).encode())
        digest.update(b"\n")
    return digest.hexdigest()


@pytest.fixture(scope="module")
def events() -> list[DemoEvent]:
    return list(history(ShopSimulation(seed=7, customers=300, now=NOW)))


@pytest.fixture(scope="module")
def orders(events: list[DemoEvent]) -> dict[int, dict[str, Any]]:
    """The latest payload of every order, by order id."""
    latest: dict[int, dict[str, Any]] = {}
    for event in events:
        if event.topic.startswith("orders/"):
            latest[event.payload["id"]] = event.payload
    return latest


def _sample(topic: str) -> dict[str, Any]:
    sample: dict[str, Any] = json.loads(
        (FIXTURES / (topic.replace("/", "__") + ".json")).read_text("utf-8")
    )
    return sample


def test_same_seed_gives_a_byte_identical_stream_and_another_seed_a_different_one() -> None:
    first = _stream_digest(seed=7, customers=40)

    assert _stream_digest(seed=7, customers=40) == first
    assert _stream_digest(seed=8, customers=40) != first


def test_stream_is_time_ordered_ends_at_now_and_covers_every_topic(
    events: list[DemoEvent],
) -> None:
    times = [event.occurred_at for event in events]

    assert times == sorted(times)
    assert times[0] == NOW - timedelta(days=730)
    assert times[-1] <= NOW
    assert {event.topic for event in events} == set(TOPICS)


def test_history_has_exactly_the_requested_customers_plus_the_shop_owner(
    events: list[DemoEvent],
) -> None:
    created = [e.payload["email"] for e in events if e.topic == "customers/create"]

    assert len(created) == 301
    assert len(set(created)) == len(created)
    domains = {email.rsplit("@", 1)[1] for email in created}
    assert all(d.endswith(("example.com", "example.net", "example.org")) for d in domains)


def test_every_payload_has_the_sample_payloads_keys_for_its_topic(
    events: list[DemoEvent],
) -> None:
    nested = {
        "orders": ("line_items", "customer", "shipping_lines"),
        "checkouts": ("line_items", "customer"),
        "refunds": ("refund_line_items", "transactions"),
        "fulfillments": ("line_items",),
    }
    seen: set[str] = set()
    for event in events:
        if event.topic in seen:
            continue
        seen.add(event.topic)
        sample = _sample(event.topic)
        assert list(event.payload) == list(sample), event.topic
        for key in nested.get(event.topic.split("/")[0], ()):
            ours, theirs = event.payload[key], sample[key]
            if isinstance(theirs, list):
                ours, theirs = ours[0], theirs[0]
            assert set(ours) == set(theirs), f"{event.topic} {key}"
    assert seen == set(TOPICS)


def test_every_payload_is_json_and_payloads_of_every_topic_pass_its_webhook_schema(
    events: list[DemoEvent],
) -> None:
    for event in events:
        assert json.loads(event_to_json(event))["payload"] == event.payload
    # Validating thousands of payloads is slow; every 40th event still covers every topic.
    sampled = events[::40]
    for event in [*sampled, *(e for e in events if e.topic == "refunds/create")]:
        parse_payload(json.dumps(event.payload).encode(), topic=event.topic)

    assert {event.topic for event in sampled} == set(TOPICS)


def test_ids_are_64_bit_integers_money_has_two_decimals_and_times_carry_the_shop_offset(
    orders: dict[int, dict[str, Any]],
) -> None:
    for order in orders.values():
        assert isinstance(order["id"], int)
        assert 0 < order["id"] < 2**63
        assert order["admin_graphql_api_id"] == f"gid://shopify/Order/{order['id']}"
        assert MONEY.match(order["total_price"])
        assert order["total_price_set"]["shop_money"] == {
            "amount": order["total_price"],
            "currency_code": "USD",
        }
        assert SHOP_TIME.match(order["created_at"])
        lines_total = sum(Decimal(line["price"]) * line["quantity"] for line in order["line_items"])
        assert Decimal(order["total_line_items_price"]) == lines_total
        shipping = Decimal(order["total_shipping_price_set"]["shop_money"]["amount"])
        assert Decimal(order["total_price"]) == (
            lines_total - Decimal(order["total_discounts"]) + shipping
        )


def test_shop_update_announces_currency_timezone_name_and_email(
    events: list[DemoEvent],
) -> None:
    first = events[0]

    assert first.topic == "shop/update"
    assert first.payload["myshopify_domain"] == DEMO_SHOP_DOMAIN
    assert first.payload["currency"] == "USD"
    assert first.payload["iana_timezone"] == "America/New_York"
    assert first.payload["name"]
    assert "@" in first.payload["email"]


def test_consumables_are_reordered_by_many_buyers_and_durables_rarely(
    orders: dict[int, dict[str, Any]],
) -> None:
    purchases: dict[int, Counter[int]] = defaultdict(Counter)
    for order in orders.values():
        if order["test"]:
            continue
        for line in order["line_items"]:
            purchases[line["product_id"]][order["customer"]["id"]] += 1
    repeat_share: dict[bool, list[float]] = defaultdict(list)
    for product_id, buyers in purchases.items():
        share = sum(1 for count in buyers.values() if count > 1) / len(buyers)
        repeat_share[product_by_id(product_id).is_consumable].append(share)

    assert min(repeat_share[True]) >= 0.4
    assert max(repeat_share[False]) <= 0.15


def test_reorders_follow_the_products_interval(orders: dict[int, dict[str, Any]]) -> None:
    gaps: list[float] = []
    house_blend = next(
        p
        for p in (
            product_by_id(line["product_id"]) for o in orders.values() for line in o["line_items"]
        )
        if p.title.startswith("House Blend")
    )
    by_customer: dict[int, list[datetime]] = defaultdict(list)
    for order in orders.values():
        for line in order["line_items"]:
            if line["product_id"] == house_blend.id and line["quantity"] == 1:
                by_customer[order["customer"]["id"]].append(
                    datetime.fromisoformat(order["created_at"])
                )
    for dates in by_customer.values():
        dates.sort()
        gaps += [(b - a).total_seconds() / 86400 for a, b in zip(dates, dates[1:], strict=False)]
    gaps.sort()
    median = gaps[len(gaps) // 2]

    assert house_blend.reorder_days is not None
    assert 0.7 * house_blend.reorder_days <= median <= 1.5 * house_blend.reorder_days


def test_refunds_reference_lines_of_their_order_and_never_exceed_it(
    events: list[DemoEvent], orders: dict[int, dict[str, Any]]
) -> None:
    refunds = [e.payload for e in events if e.topic == "refunds/create"]
    refunded: Counter[int] = Counter()

    assert refunds
    for refund in refunds:
        order = orders[refund["order_id"]]
        line_ids = {line["id"] for line in order["line_items"]}
        assert {item["line_item_id"] for item in refund["refund_line_items"]} <= line_ids
        (transaction,) = refund["transactions"]
        assert (transaction["kind"], transaction["status"]) == ("refund", "success")
        refunded[order["id"]] += Decimal(transaction["amount"])
    for order_id, amount in refunded.items():
        assert amount <= Decimal(orders[order_id]["total_price"])


def test_abandoned_checkouts_exist_and_recovered_ones_share_their_token_with_a_later_order(
    events: list[DemoEvent], orders: dict[int, dict[str, Any]]
) -> None:
    started = {e.payload["token"]: e.occurred_at for e in events if e.topic == "checkouts/create"}
    ordered = {
        o["checkout_token"]: datetime.fromisoformat(o["created_at"]) for o in orders.values()
    }
    never_ordered = set(started) - set(ordered)
    recovered = [t for t in ordered if ordered[t] - started[t] > timedelta(hours=1)]

    assert set(ordered) <= set(started)
    assert 0.08 <= len(never_ordered) / len(started) <= 0.35
    assert len(recovered) >= 10


def test_fulfillments_are_delivered_a_few_days_after_they_are_created(
    events: list[DemoEvent],
) -> None:
    created = {e.payload["id"]: e.occurred_at for e in events if e.topic == "fulfillments/create"}
    delivered = {
        e.payload["id"]: e.occurred_at
        for e in events
        if e.topic == "fulfillments/update" and e.payload["shipment_status"] == "delivered"
    }

    assert delivered
    for fulfillment_id, at in delivered.items():
        assert timedelta(hours=12) <= at - created[fulfillment_id] <= timedelta(days=8)


def test_stream_has_cancellations_test_orders_and_every_consent_state(
    events: list[DemoEvent], orders: dict[int, dict[str, Any]]
) -> None:
    cancelled = [e.payload for e in events if e.topic == "orders/cancelled"]
    states = Counter(
        e.payload["email_marketing_consent"]["state"] for e in events if e.topic == CONSENT_TOPIC
    )

    assert cancelled
    assert all(c["cancelled_at"] and c["cancel_reason"] for c in cancelled)
    assert 2 <= sum(order["test"] for order in orders.values()) <= 12
    assert {"subscribed", "not_subscribed", "pending", "unsubscribed"} <= set(states)
    assert any(o["financial_status"] == "partially_refunded" for o in orders.values())


def test_orders_peak_around_black_friday(orders: dict[int, dict[str, Any]]) -> None:
    days = Counter(datetime.fromisoformat(o["created_at"]).date() for o in orders.values())
    peak = [count for day, count in days.items() if season_factor(day) > 2.5]
    average = sum(days.values()) / 730

    assert sum(peak) / 8 > 1.8 * average


def test_jsonl_round_trips_through_read_events(events: list[DemoEvent]) -> None:
    text = "".join(event_to_json(event) + "\n" for event in events[:50])

    assert list(read_events(io.StringIO(text))) == events[:50]


def test_simulation_refuses_to_be_iterated_twice() -> None:
    simulation = ShopSimulation(seed=1, customers=1, now=NOW, history_days=10)
    iter(simulation)

    with pytest.raises(RuntimeError):
        iter(simulation)


def test_simulation_keeps_going_after_now() -> None:
    simulation = ShopSimulation(seed=3, customers=5, now=NOW, history_days=30)
    later = next(event for event in simulation if event.occurred_at > NOW + timedelta(days=60))

    assert later.topic in TOPICS
