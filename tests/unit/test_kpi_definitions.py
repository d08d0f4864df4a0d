"""The pure pieces of the KPI definitions: identity, counting, local days, derivation, periods."""

from __future__ import annotations

from datetime import UTC
from datetime import date
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from shopify_app.analytics.kpis.gaps import histogram_median
from shopify_app.analytics.rollups.facts import OrderFact
from shopify_app.analytics.rollups.facts import customer_key
from shopify_app.analytics.rollups.facts import derive_customer
from shopify_app.analytics.rollups.facts import order_fact
from shopify_app.web import query

NEW_YORK = ZoneInfo("America/New_York")


def fact(order_id: int, day: date, cents: int = 1000, *, hour: int = 12) -> OrderFact:
    return OrderFact(
        order_id=order_id,
        customer_key="c:1",
        placed_at=datetime(day.year, day.month, day.day, hour, tzinfo=UTC),
        local_date=day,
        amount_cents=cents,
        is_priced=True,
    )


def make_fact(**changes: object) -> OrderFact | None:
    fields: dict[str, object] = {
        "order_id": 7,
        "customer_id": None,
        "email": None,
        "processed_at": datetime(2026, 3, 1, 4, 30, tzinfo=UTC),
        "total_price": Decimal("19.99"),
        "currency": "USD",
        "is_test": False,
        "cancelled_at": None,
        "shop_currency": "USD",
        "zone": NEW_YORK,
    }
    fields.update(changes)
    return order_fact(**fields)  # type: ignore[arg-type]


def test_guest_orders_with_the_same_email_in_any_case_are_one_customer() -> None:
    first = customer_key(customer_id=None, email="Guest@Example.com", order_id=1)
    second = customer_key(customer_id=None, email=" guest@example.com ", order_id=2)

    assert first == second
    assert "guest" not in first


def test_a_customer_id_wins_over_the_email_and_an_anonymous_order_is_its_own_customer() -> None:
    assert customer_key(customer_id=5, email="a@b.c", order_id=1) == "c:5"
    assert customer_key(customer_id=None, email="  ", order_id=9) == "o:9"


def test_test_and_cancelled_orders_do_not_count() -> None:
    assert make_fact(is_test=True) is None
    assert make_fact(cancelled_at=datetime(2026, 3, 2, tzinfo=UTC)) is None


def test_an_order_at_2330_local_belongs_to_the_local_day_not_the_utc_day() -> None:
    counted = make_fact()

    assert counted is not None
    assert counted.local_date == date(2026, 2, 28)
    assert counted.amount_cents == 1999


def test_an_order_in_another_currency_counts_without_money() -> None:
    counted = make_fact(currency="CAD")

    assert counted is not None
    assert (counted.is_priced, counted.amount_cents) == (False, 0)


def test_derived_days_link_neighbours_and_count_same_day_orders() -> None:
    facts = [
        fact(3, date(2026, 2, 10), 4000),
        fact(1, date(2026, 2, 3), 10000),
        fact(2, date(2026, 2, 3), 0),
        fact(4, date(2026, 3, 20), 2500),
    ]

    derived = derive_customer(shop_id=1, key="c:1", facts=facts, products_by_order={})

    days = [(d["local_date"], d["orders"], d["orders_before"], d["gap_days"]) for d in derived.days]
    assert days == [
        (date(2026, 2, 3), 2, 0, None),
        (date(2026, 2, 10), 1, 2, 7),
        (date(2026, 3, 20), 1, 3, 38),
    ]
    assert derived.days[0]["new_revenue_cents"] == 10000
    assert derived.customer["order_count"] == 4
    assert derived.customer["repeat_month_offset"] == 0
    assert derived.customer["days_to_next_day"] == 7
    assert [m["month_offset"] for m in derived.months] == [0, 1]


def test_tied_first_orders_are_ordered_by_order_id() -> None:
    facts = [fact(9, date(2026, 2, 3), 500), fact(8, date(2026, 2, 3), 700)]

    derived = derive_customer(shop_id=1, key="c:1", facts=facts, products_by_order={})

    assert derived.days[0]["new_revenue_cents"] == 700


def test_a_week_counts_as_returning_when_the_second_order_falls_later_that_week() -> None:
    monday, sunday = date(2026, 2, 2), date(2026, 2, 8)
    facts = [fact(1, monday), fact(2, sunday), fact(3, date(2026, 2, 9))]

    derived = derive_customer(shop_id=1, key="c:1", facts=facts, products_by_order={})

    flags = [(d["is_first_in_week"], d["is_returning_in_week"]) for d in derived.days]
    assert flags == [(True, True), (False, False), (True, True)]


def test_product_repurchase_counts_orders_containing_the_product() -> None:
    facts = [fact(1, date(2026, 1, 1)), fact(2, date(2026, 1, 1)), fact(3, date(2026, 1, 11))]

    derived = derive_customer(
        shop_id=1, key="c:1", facts=facts, products_by_order={1: {50}, 3: {50, 60}}
    )

    assert [(p["product_id"], p["orders"], p["repurchase_days"]) for p in derived.products] == [
        (50, 2, 10),
        (60, 1, None),
    ]


@pytest.mark.parametrize(
    ("histogram", "median"),
    [({7: 1}, 7), ({0: 1, 7: 2}, 7), ({1: 1, 4: 1}, 2.5), ({3: 2, 9: 2}, 6), ({}, None)],
)
def test_median_of_a_histogram_averages_the_two_middle_values(
    histogram: dict[int, int], median: float | None
) -> None:
    assert histogram_median(histogram) == median


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        ("2026-02-30", "2026-03-01", "from must be a date"),
        ("2026-03-01", "20260301", "to must be a date"),
        ("2026-03-02", "2026-03-01", "on or before"),
        ("2021-01-01", "2026-01-01", "at most 5 years"),
        ("2024-02-29", "2029-03-01", "at most 5 years"),
        (None, "2026-01-01", "required"),
    ],
)
def test_bad_periods_are_refused_with_a_reason(start: str | None, end: str, message: str) -> None:
    with pytest.raises(query.InvalidQuery, match=message):
        query.parse_period(start, end)


def test_a_five_year_period_is_accepted_and_its_previous_period_has_equal_length() -> None:
    period = query.parse_period("2021-01-01", "2025-12-31")

    previous = period.previous()
    assert previous.days == period.days
    assert previous.end == date(2020, 12, 31)
