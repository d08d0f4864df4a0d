"""Incremental upkeep and the nightly rebuild arrive at exactly the same aggregate rows."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

from flask import Flask
from sqlalchemy import delete
from sqlalchemy import select
from sqlalchemy.orm import Session

from jobs.rollups import rebuild_shop_rollups
from shopify_app.analytics.rollups.incremental import note_order_changed
from shopify_app.analytics.rollups.incremental import note_refund_recorded
from shopify_app.analytics.rollups.rebuild import rebuild_rollups
from shopify_app.models import Order
from shopify_app.models import Refund
from shopify_app.models import RollupCustomer
from shopify_app.models import RollupDay
from shopify_app.models import Shop
from tests.support.kpi_example import EXAMPLE_NOW
from tests.support.kpi_example import add_customer
from tests.support.kpi_example import add_order
from tests.support.kpi_example import add_refund
from tests.support.kpi_example import build_example
from tests.support.kpi_example import local
from tests.support.rollups import rollup_rows


def play_event_stream(session: Session, shop_id: int, *, seed: int, events: int) -> None:
    """Create, change, cancel, move and delete orders and refunds in a seeded random order."""
    rng = random.Random(seed)
    customers = [add_customer(session, shop_id, f"C{i}") for i in range(6)]
    emails = ["guest1@example.com", "GUEST1@example.com ", "guest2@example.com", None]
    start = local(2025, 12, 25)
    orders: list[Order] = []
    refunds: list[Refund] = []

    def moment() -> Any:
        # Few distinct days and fixed minutes, so same-day orders and exact ties are common.
        return start + timedelta(days=rng.randrange(0, 70), hours=rng.choice([0, 5, 23]))

    for _ in range(events):
        action = rng.random()
        if action < 0.45 or not orders:
            who = rng.choice([*customers, None, None])
            orders.append(
                add_order(
                    session,
                    shop_id,
                    at=moment(),
                    amount=rng.choice(["0.00", "10.00", "19.99", "42.50"]),
                    customer=who,
                    email=None if who else rng.choice(emails),
                    currency=rng.choice(["USD", "USD", "USD", "CAD"]),
                    is_test=rng.random() < 0.1,
                    products=tuple(rng.sample([1, 2, 3], rng.randrange(0, 3))),
                )
            )
            continue
        order = rng.choice(orders)
        if action < 0.75:
            change = rng.randrange(6)
            if change == 0:
                order.cancelled_at = None if order.cancelled_at else order.processed_at
            elif change == 1:
                order.processed_at = moment()
            elif change == 2:
                who = rng.choice([*customers, None])
                order.customer_id = who.id if who else None
                order.email = None if who else rng.choice(emails)
            elif change == 3:
                order.total_price = Decimal(rng.choice(["0.00", "5.55", "99.00"]))
            elif change == 4:
                order.is_test = not order.is_test
            else:
                order.currency = "CAD" if order.currency == "USD" else "USD"
            session.flush()
            note_order_changed(session, shop_id=shop_id, order_id=order.id)
        elif action < 0.92:
            refunds.append(
                add_refund(session, order, at=moment(), amount=rng.choice(["1.00", "10.00"]))
            )
        elif refunds and action < 0.97:
            refund = rng.choice(refunds)
            refund.amount = Decimal("2.50")
            refund.processed_at = moment()
            session.flush()
            note_refund_recorded(session, shop_id=shop_id, refund_id=refund.id)
        else:
            orders.remove(order)
            refunds[:] = [r for r in refunds if r.order_id != order.id]
            order_id = order.id
            session.delete(order)
            session.flush()
            note_order_changed(session, shop_id=shop_id, order_id=order_id)


def test_incremental_and_rebuilt_rollups_are_identical_after_a_varied_event_stream(
    session: Session, make_shop: Callable[..., Shop]
) -> None:
    shop = make_shop("alpha.myshopify.com", iana_timezone="America/New_York")
    play_event_stream(session, shop.id, seed=20260310, events=90)
    session.commit()

    incremental = rollup_rows(session, shop.id)
    rebuilt_count = rebuild_rollups(session, shop_id=shop.id, now=EXAMPLE_NOW)
    session.commit()
    rebuilt = rollup_rows(session, shop.id)

    assert rebuilt_count == len(rebuilt["rollup_orders"])
    for name in (
        "rollup_orders",
        "rollup_customer_days",
        "rollup_weeks",
        "rollup_refunds",
        "rollup_product_gaps",
        "rollup_active_days",
    ):
        assert incremental[name], f"the event stream left {name} empty; the test proves nothing"
    assert rebuilt == incremental


def test_rebuild_is_repeatable_and_leaves_other_shops_alone(
    session: Session, make_shop: Callable[..., Shop]
) -> None:
    alpha = make_shop("alpha.myshopify.com", iana_timezone="America/New_York")
    beta = make_shop("beta.myshopify.com", access_token="shpat_beta")
    build_example(session, alpha.id)
    add_order(session, beta.id, at=local(2026, 2, 2), amount="12.00", email="b@example.com")
    session.commit()
    beta_before = rollup_rows(session, beta.id)

    first = rebuild_rollups(session, shop_id=alpha.id, now=EXAMPLE_NOW)
    once = rollup_rows(session, alpha.id)
    second = rebuild_rollups(session, shop_id=alpha.id, now=EXAMPLE_NOW)

    assert first == second == 12
    assert rollup_rows(session, alpha.id) == once
    assert rollup_rows(session, beta.id) == beta_before


def test_moving_a_guest_order_to_a_customer_merges_their_history(
    session: Session, make_shop: Callable[..., Shop]
) -> None:
    shop = make_shop("alpha.myshopify.com")
    customer = add_customer(session, shop.id, "Ann")
    add_order(session, shop.id, at=local(2026, 1, 5), amount="10.00", customer=customer)
    guest = add_order(session, shop.id, at=local(2026, 1, 9), amount="20.00", email="a@x.io")

    guest.customer_id = customer.id
    session.flush()
    note_order_changed(session, shop_id=shop.id, order_id=guest.id)

    incremental = rollup_rows(session, shop.id)
    merged = session.scalars(select(RollupCustomer)).one()
    assert (merged.customer_key, merged.order_count, merged.revenue_cents) == (
        f"c:{customer.id}",
        2,
        3000,
    )
    assert merged.days_to_next_day == 4
    rebuild_rollups(session, shop_id=shop.id, now=EXAMPLE_NOW)
    assert rollup_rows(session, shop.id) == incremental


def test_nightly_job_repairs_aggregates_that_drifted(
    app: Flask, session: Session, make_shop: Callable[..., Shop]
) -> None:
    shop = make_shop("alpha.myshopify.com", iana_timezone="America/New_York")
    build_example(session, shop.id)
    session.commit()
    healthy = rollup_rows(session, shop.id)
    session.execute(delete(RollupDay).where(RollupDay.shop_id == shop.id))
    session.commit()

    counted = rebuild_shop_rollups(app, shop.id, now=EXAMPLE_NOW)

    assert counted == 12
    assert rollup_rows(session, shop.id) == healthy
