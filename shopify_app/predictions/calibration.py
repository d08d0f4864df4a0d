"""The calibration summary the models are fitted to, one row per customer, from the orders table.

It counts only orders that are neither test orders nor cancelled, that belong to a known (not
redacted) customer and were processed up to `now`. Orders are grouped into calendar days in the
shop's time zone: several orders on one day are one purchase, as in the published BG/NBD work.
Per customer, in days:

- frequency: purchase days after the first (repeat purchases);
- recency: days from the first to the last purchase day;
- T (`age_days`): days from the first purchase day to today;
- monetary value: mean value of the repeat purchase days (the first purchase is left out, as
  in Fader and Hardie's Gamma-Gamma note), in shop currency from `orders.total_price`.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from shopify_app.errors import NotFound
from shopify_app.models import Customer
from shopify_app.models import Order
from shopify_app.models import Shop
from shopify_app.money import to_cents


@dataclass(frozen=True)
class CustomerSummary:
    """One customer's calibration summary and history, time in days, money in shop currency."""

    customer_id: int
    frequency: int
    recency_days: int
    age_days: int
    monetary_value: Decimal
    orders_count: int
    historic_revenue: Decimal
    first_order_at: datetime
    last_order_at: datetime


def get_shop(session: Session, *, shop_id: int) -> Shop:
    """Return the shop predictions are asked for, or raise `NotFound`."""
    shop = session.get(Shop, shop_id)
    if shop is None:
        raise NotFound(f"No shop with id {shop_id}")
    return shop


def build_calibration_summary(
    session: Session, *, shop_id: int, now: datetime
) -> list[CustomerSummary]:
    """Return the per-customer summary the models are fitted to, ordered by customer id."""
    shop = get_shop(session, shop_id=shop_id)
    zone = ZoneInfo(shop.iana_timezone)
    today = now.astimezone(zone).date()
    rows = session.execute(
        select(Order.customer_id, Order.processed_at, Order.total_price)
        .join(Customer, Customer.id == Order.customer_id)
        .where(
            Order.shop_id == shop_id,
            Order.is_test.is_(False),
            Order.cancelled_at.is_(None),
            Order.processed_at <= now,
            Customer.redacted_at.is_(None),
        )
        .order_by(Order.customer_id, Order.processed_at, Order.id)
        .execution_options(yield_per=5000)
    )
    return [
        _summarise(
            customer_id,
            [(processed_at, Decimal(total)) for _, processed_at, total in orders],
            zone=zone,
            today=today,
        )
        for customer_id, orders in itertools.groupby(rows, key=lambda row: row[0])
    ]


def _summarise(
    customer_id: int,
    orders: list[tuple[datetime, Decimal]],
    *,
    zone: ZoneInfo,
    today: date,
) -> CustomerSummary:
    day_totals: dict[date, Decimal] = {}
    for processed_at, total in orders:
        day = processed_at.astimezone(zone).date()
        day_totals[day] = day_totals.get(day, Decimal("0")) + total
    days = sorted(day_totals)
    repeat_totals = [day_totals[day] for day in days[1:]]
    monetary = (
        to_cents(sum(repeat_totals, Decimal("0")) / len(repeat_totals))
        if repeat_totals
        else Decimal("0.00")
    )
    return CustomerSummary(
        customer_id=customer_id,
        frequency=len(days) - 1,
        recency_days=(days[-1] - days[0]).days,
        age_days=max((today - days[0]).days, 0),
        monetary_value=monetary,
        orders_count=len(orders),
        historic_revenue=sum((total for _, total in orders), Decimal("0")),
        first_order_at=orders[0][0],
        last_order_at=orders[-1][0],
    )
