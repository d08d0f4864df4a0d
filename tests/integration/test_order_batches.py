"""`upsert_orders` stores what `upsert_order` one version at a time would, in a few statements.

The property: a drawn list of order versions (several per order, duplicates, customers shared
between orders, a redacted customer, refunds, fulfillments, checkout tokens, versions that can
never be stored) applied one by one in any order, and applied by `upsert_orders` in any chunking,
leave the same orders, lines, customers, refunds, fulfillments, checkout links and rollups, and
fail exactly the invalid versions. A version's content is a function of its version (updated_at,
then trigger time), so versions the rule cannot tell apart are the same payload.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from collections.abc import Hashable
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from sqlalchemy import event
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.orm import Session

from bench.processing import order_bodies
from shopify_app.db import Database
from shopify_app.models import Checkout
from shopify_app.models import Customer
from shopify_app.models import Fulfillment
from shopify_app.models import Order
from shopify_app.models import OrderLine
from shopify_app.models import Refund
from shopify_app.models import RefundLine
from shopify_app.models import Shop
from shopify_app.store import order_writes
from shopify_app.store.order_batches import OrderVersion
from shopify_app.store.order_batches import upsert_orders
from shopify_app.store.orders import upsert_order
from shopify_app.store.payloads import InvalidPayload
from shopify_app.store.refunds import refund_amount
from tests.support.orders import unique_order
from tests.support.payloads import load_payload
from tests.support.shop_state import final_state

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
ORDER_COUNT = 3
CUSTOMERS = (7_300_000_000_001, 7_300_000_000_002)
REDACTED = CUSTOMERS[1]
TOKENS = ("token-recovered", None, "token-unknown")
STATUSES = ("pending", "authorized", "paid", "refunded")


@dataclass(frozen=True)
class Drawn:
    """One drawn version: its order (by index), its version, and how it is broken if it is."""

    order: int
    hours: int
    minute: int | None
    broken: str | None = None


@dataclass(frozen=True)
class Example:
    versions: list[Drawn]
    customer_of: tuple[int | None, ...]
    nested: tuple[bool, ...]
    one_by_one: list[int]
    cuts: list[int]


@st.composite
def examples(draw: st.DrawFn) -> Example:
    with_event_at = draw(st.booleans())
    drawn = st.builds(
        Drawn,
        order=st.integers(0, ORDER_COUNT - 1),
        hours=st.integers(0, 3),
        minute=st.sampled_from([0, 1, 2]) if with_event_at else st.none(),
        broken=st.sampled_from([None, None, None, None, "no id", "no price"]),
    )
    versions = draw(st.lists(drawn, min_size=1, max_size=10))
    versions += draw(st.lists(st.sampled_from(versions), max_size=3))  # redeliveries
    count = len(versions)
    return Example(
        versions=versions,
        customer_of=draw(st.tuples(*[st.sampled_from([None, 0, 1])] * ORDER_COUNT)),
        nested=draw(st.tuples(*[st.booleans()] * ORDER_COUNT)),
        one_by_one=list(draw(st.permutations(range(count)))),
        cuts=sorted(draw(st.sets(st.integers(1, count - 1), max_size=3)) if count > 1 else []),
    )


def payload_of(example: Example, version: Drawn) -> dict[str, Any]:
    """Build the version's payload: everything in it follows from its order and version."""
    payload = unique_order(version.order + 1, base=7_200_000_000_000)
    updated_at = T0 + timedelta(hours=version.hours)
    payload.update(
        updated_at=updated_at.isoformat(),
        financial_status=STATUSES[version.hours],
        checkout_token=TOKENS[version.order],
        # Distinct times: which of a customer's orders came first must not hang on local ids.
        processed_at=(T0 - timedelta(days=version.order)).isoformat(),
        test=False,
        cancelled_at=updated_at.isoformat() if version.hours == 3 else None,
    )
    payload["total_price_set"]["shop_money"]["amount"] = (
        f"{100 + version.hours}.{version.minute or 0}0"
    )
    payload["line_items"] = payload["line_items"][version.hours % 2 :]  # odd versions drop a line
    customer = example.customer_of[version.order]
    if customer is None:
        payload["customer"] = None
    else:
        payload["customer"].update(
            id=CUSTOMERS[customer],
            first_name=f"Buyer {version.hours}:{version.minute}",
            email=f"buyer{customer}@example.com",
        )
    if example.nested[version.order]:
        _nest_facts(payload, version, updated_at)
    if version.broken == "no id":
        del payload["id"]
    if version.broken == "no price":
        payload.update(total_price_set=None, total_price=None)
    return payload


def _nest_facts(payload: dict[str, Any], version: Drawn, updated_at: datetime) -> None:
    """Nest what the version knows: fulfillments (their own versions), refunds (with lines).

    The second refund of the last order has no date of its own, which only the single path dates.
    """
    lines = [line["id"] for line in payload["line_items"]]
    fulfillments = []
    for number in range(min(version.hours, 2)):
        own_version = version.hours - number  # its content is a function of its updated_at
        fulfillment = load_payload("fulfillments__create")
        fulfillment.update(
            id=payload["id"] * 100 + number,
            order_id=payload["id"],
            updated_at=(T0 + timedelta(hours=own_version)).isoformat(),
            shipment_status="delivered" if own_version >= 2 else "in_transit",
            status=f"success-{own_version}",
        )
        fulfillments.append(fulfillment)
    payload["fulfillments"] = fulfillments
    refunds = []
    for number in range(max(version.hours - 1, 0)):
        refund = load_payload("refunds__create")
        refund.update(id=payload["id"] * 100 + 10 + number, order_id=payload["id"])
        template = refund["refund_line_items"][0]
        refund["refund_line_items"] = [
            {**template, "id": template["id"] + n, "line_item_id": lines[-1 - n % len(lines)]}
            for n in range(number + 1)
        ]
        if number == 1 and version.order == ORDER_COUNT - 1:
            del refund["processed_at"], refund["created_at"]
        refunds.append(refund)
    payload["refunds"] = refunds


def event_at_of(version: Drawn) -> datetime | None:
    return None if version.minute is None else T0 + timedelta(minutes=version.minute)


def prepare(session: Session, shop: Shop) -> None:
    """Give the shop what the versions meet: a redacted customer, a checkout to recover."""
    session.add(Customer(shop_id=shop.id, shopify_id=REDACTED, redacted_at=T0 - timedelta(days=1)))
    session.add(Checkout(shop_id=shop.id, token=TOKENS[0], email="buyer@example.com"))
    session.commit()


def apply_one_by_one(session: Session, shop: Shop, example: Example, now: datetime) -> set[int]:
    failures = set()
    for index in example.one_by_one:
        version = example.versions[index]
        try:
            with session.begin_nested():
                upsert_order(
                    session,
                    shop=shop,
                    payload=payload_of(example, version),
                    event_at=event_at_of(version),
                    now=now,
                )
        except InvalidPayload:
            failures.add(index)
    session.commit()
    return failures


def apply_in_calls(session: Session, shop: Shop, example: Example, now: datetime) -> set[int]:
    failures: set[Hashable] = set()
    bounds = [0, *example.cuts, len(example.versions)]
    for start, end in itertools.pairwise(bounds):
        versions = [
            OrderVersion(
                key=index,
                payload=payload_of(example, example.versions[index]),
                event_at=event_at_of(example.versions[index]),
            )
            for index in range(start, end)
        ]
        result = upsert_orders(session, shop=shop, versions=versions, now=now)
        failures |= result.failures.keys()
        stored = {key: session.get(Order, order_id) for key, order_id in result.order_ids.items()}
        assert {key: order.shopify_id for key, order in stored.items() if order} == {
            v.key: v.payload["id"] for v in versions if v.key not in result.failures
        }
    session.commit()
    return {int(key) for key in failures if isinstance(key, int)}


def test_batches_store_what_one_version_at_a_time_stores(
    session: Session, make_shop: Callable[..., Shop], now: datetime
) -> None:
    numbers = itertools.count()

    def fresh_shop() -> Shop:
        shop = session.get(Shop, make_shop(f"batch-{next(numbers)}.myshopify.com").id)
        assert shop is not None
        prepare(session, shop)
        return shop

    @settings(
        max_examples=40,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(example=examples())
    def check(example: Example) -> None:
        invalid = {i for i, version in enumerate(example.versions) if version.broken}
        reference, batched = fresh_shop(), fresh_shop()
        try:
            assert apply_one_by_one(session, reference, example, now) == invalid
            assert apply_in_calls(session, batched, example, now) == invalid
            assert final_state(session, batched) == final_state(session, reference)
        finally:
            session.rollback()  # a failed example must not keep SQLite's write lock

    check()


def test_a_call_keeps_the_newest_version_links_checkouts_and_honours_redaction(
    session: Session, make_shop: Callable[..., Shop], now: datetime
) -> None:
    shop = session.get(Shop, make_shop().id)
    assert shop is not None
    prepare(session, shop)
    example = Example(
        versions=[Drawn(0, 1, 0), Drawn(0, 0, 2), Drawn(2, 0, 0), Drawn(1, 0, 0, "no price")],
        customer_of=(1, None, 0),
        nested=(False, False, False),
        one_by_one=[],
        cuts=[],
    )
    assert apply_in_calls(session, shop, example, now) == {3}

    orders = {o.shopify_id: o for o in session.scalars(select(Order)).all()}
    newest = orders[7_200_000_000_001]
    assert (newest.financial_status, len(newest.lines), newest.email) == ("authorized", 4, None)
    assert newest.customer_id is not None
    assert orders[7_200_000_000_003].email == "buyer3@example.com"
    checkout = session.scalar(select(Checkout).where(Checkout.token == TOKENS[0]))
    assert checkout is not None
    assert checkout.recovered_order_id == newest.id
    redacted = session.scalar(select(Customer).where(Customer.shopify_id == REDACTED))
    assert redacted is not None
    assert (redacted.email, redacted.first_name) == (None, None)


def test_the_session_reads_what_a_call_wrote_behind_its_back(
    session: Session, make_shop: Callable[..., Shop], now: datetime
) -> None:
    shop = session.get(Shop, make_shop().id)
    assert shop is not None
    prepare(session, shop)
    example = Example([Drawn(0, 0, 0)], customer_of=(0,), nested=(False,), one_by_one=[], cuts=[])
    apply_in_calls(session, shop, example, now)
    order = session.scalar(select(Order))
    assert order is not None
    assert (order.financial_status, len(order.lines)) == ("pending", 5)
    customer = session.get(Customer, order.customer_id)
    assert customer is not None
    assert customer.first_name == "Buyer 0:0"

    newer = Drawn(0, 1, 0)  # paid, one line fewer
    upsert_orders(
        session,
        shop=shop,
        versions=[OrderVersion(1, payload_of(example, newer), event_at_of(newer))],
        now=now,
    )

    assert (order.financial_status, len(order.lines)) == ("authorized", 4)
    assert customer.first_name == "Buyer 1:0"


def test_a_newer_version_stored_meanwhile_is_kept_by_the_sql_version_rule(
    session: Session,
    make_shop: Callable[..., Shop],
    now: datetime,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    shop = session.get(Shop, make_shop().id)
    assert shop is not None
    prepare(session, shop)
    example = Example(
        [Drawn(0, 3, 0)], customer_of=(None,), nested=(False,), one_by_one=[], cuts=[]
    )
    apply_in_calls(session, shop, example, now)
    stored_orders = order_writes._stored_orders
    reads = itertools.count()

    def first_read_misses(session: Session, **kwargs: Any) -> Any:
        # As if a concurrent transaction stored the newer version right after this read.
        return {} if next(reads) == 0 else stored_orders(session, **kwargs)

    monkeypatch.setattr(order_writes, "_stored_orders", first_read_misses)
    older = Drawn(0, 0, 0)
    result = upsert_orders(
        session,
        shop=shop,
        versions=[OrderVersion(1, payload_of(example, older), event_at_of(older))],
        now=now,
    )

    order = session.scalar(select(Order))
    assert order is not None
    assert result.order_ids == {1: order.id}
    assert (order.financial_status, len(order.lines)) == ("refunded", 4)


@pytest.fixture
def statements(database: Database) -> Iterator[list[str]]:
    """Record every statement sent to the database while the test runs."""
    sent: list[str] = []

    def record(*args: Any) -> None:
        sent.append(args[2])

    event.listen(database.engine, "before_cursor_execute", record)
    yield sent
    event.remove(database.engine, "before_cursor_execute", record)


def test_fifty_orders_take_a_few_statements_whether_new_or_stored(
    session: Session, make_shop: Callable[..., Shop], statements: list[str], now: datetime
) -> None:
    shop = session.get(Shop, make_shop().id)
    assert shop is not None
    versions = [
        OrderVersion(key=number, payload=json.loads(body), event_at=now)
        for number, body in enumerate(order_bodies(50))
    ]
    for round_ in range(2):  # first all new, then all stored (the same versions again)
        statements.clear()
        result = upsert_orders(session, shop=shop, versions=versions, now=now, update_rollups=False)
        assert (len(result.order_ids), result.failures) == (50, {}), round_
        assert len(statements) <= 12, statements
        session.commit()
    assert session.scalar(select(func.count()).select_from(Order)) == 50
    assert session.scalar(select(func.count()).select_from(OrderLine)) == 250
    assert session.scalar(select(func.count()).select_from(Customer)) == 50


def nested_bodies(count: int) -> list[dict[str, Any]]:
    """Return *count* orders, each with one refund of one line and one delivered fulfillment."""
    payloads = []
    for body in order_bodies(count):
        payload = json.loads(body)
        refund = load_payload("refunds__create")
        refund.update(id=payload["id"] * 10, order_id=payload["id"])
        refund["refund_line_items"] = refund["refund_line_items"][:1]
        refund["refund_line_items"][0]["line_item_id"] = payload["line_items"][0]["id"]
        fulfillment = load_payload("fulfillments__create")
        fulfillment.update(
            id=payload["id"] * 10, order_id=payload["id"], shipment_status="delivered"
        )
        payloads.append({**payload, "refunds": [refund], "fulfillments": [fulfillment]})
    return payloads


def test_fifty_orders_with_a_refund_and_a_fulfillment_each_take_a_few_statements(
    session: Session, make_shop: Callable[..., Shop], statements: list[str], now: datetime
) -> None:
    shop = session.get(Shop, make_shop().id)
    assert shop is not None
    versions = [
        OrderVersion(key=number, payload=payload, event_at=now)
        for number, payload in enumerate(nested_bodies(50))
    ]
    for round_ in range(2):  # first all new, then all stored (the same versions again)
        statements.clear()
        result = upsert_orders(session, shop=shop, versions=versions, now=now, update_rollups=False)
        assert (len(result.order_ids), result.failures) == (50, {}), round_
        assert len(statements) <= 20, (len(statements), statements)
        session.commit()
    assert session.scalar(select(func.count()).select_from(Refund)) == 50
    assert session.scalar(select(func.count()).select_from(RefundLine)) == 50
    assert (
        session.scalar(
            select(func.count())
            .select_from(Fulfillment)
            .where(Fulfillment.delivered_at.is_not(None))
        )
        == 50
    )
    refunded = session.scalars(select(Order.total_refunded)).all()
    assert refunded == [refund_amount(load_payload("refunds__create"))] * 50
    assert session.scalar(select(func.sum(OrderLine.refunded_quantity))) == 50
