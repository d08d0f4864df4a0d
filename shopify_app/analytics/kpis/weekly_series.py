"""Read the weekly series: per local ISO week, repeat rate and new versus returning revenue."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from datetime import datetime
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from shopify_app.analytics.kpis.periods import load_shop
from shopify_app.analytics.kpis.periods import local_today
from shopify_app.analytics.rollups.facts import from_hundredths
from shopify_app.analytics.rollups.facts import week_start_of
from shopify_app.models import RollupDay
from shopify_app.models import RollupWeek


@dataclass(frozen=True)
class WeekPoint:
    week_start: date
    customers: int
    returning_customers: int
    repeat_rate: float | None
    orders: int
    new_customer_revenue: Decimal
    returning_customer_revenue: Decimal
    is_complete: bool


def load_weekly_series(
    session: Session, *, shop_id: int, period_start: date, period_end: date, now: datetime
) -> list[WeekPoint]:
    """Return, per local ISO week touching the period, repeat rate and new vs returning revenue."""
    today = local_today(load_shop(session, shop_id), now)
    first_week, last_week = week_start_of(period_start), week_start_of(period_end)
    weeks = {
        week: (int(c), int(r))
        for week, c, r in session.execute(
            select(
                RollupWeek.week_start, RollupWeek.customers, RollupWeek.returning_customers
            ).where(
                RollupWeek.shop_id == shop_id, RollupWeek.week_start.between(first_week, last_week)
            )
        )
    }
    money = _sum_weeks(session, shop_id=shop_id, first_week=first_week, last_week=last_week)
    points = []
    week = first_week
    while week <= last_week:
        customers, returning = weeks.get(week, (0, 0))
        orders, gross, new = money.get(week, [0, 0, 0])
        points.append(
            WeekPoint(
                week_start=week,
                customers=customers,
                returning_customers=returning,
                repeat_rate=returning / customers if customers else None,
                orders=orders,
                new_customer_revenue=from_hundredths(Decimal(new)),
                returning_customer_revenue=from_hundredths(Decimal(gross - new)),
                is_complete=week + timedelta(days=6) < today,
            )
        )
        week += timedelta(days=7)
    return points


def _sum_weeks(
    session: Session, *, shop_id: int, first_week: date, last_week: date
) -> dict[date, list[int]]:
    """Return per week: [orders, gross, new customers' revenue] (money in hundredths)."""
    money: dict[date, list[int]] = {}
    for local_day, orders, gross, new in session.execute(
        select(
            RollupDay.local_date,
            RollupDay.orders,
            RollupDay.gross_cents,
            RollupDay.new_customer_revenue_cents,
        ).where(
            RollupDay.shop_id == shop_id,
            RollupDay.local_date.between(first_week, last_week + timedelta(days=6)),
        )
    ):
        totals = money.setdefault(week_start_of(local_day), [0, 0, 0])
        totals[0] += orders
        totals[1] += gross
        totals[2] += new
    return money
