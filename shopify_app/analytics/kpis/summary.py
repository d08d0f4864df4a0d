"""Read the summary KPIs of a period and of the period before it (definitions: docs/kpis.md)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from datetime import datetime
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import BigInteger
from sqlalchemy import ColumnElement
from sqlalchemy import and_
from sqlalchemy import case
from sqlalchemy import cast
from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import union_all
from sqlalchemy.orm import Session

from shopify_app.analytics.kpis.activity import customers_active_around
from shopify_app.analytics.kpis.activity import load_active_counts
from shopify_app.analytics.kpis.gaps import histogram_mean
from shopify_app.analytics.kpis.gaps import histogram_median
from shopify_app.analytics.kpis.gaps import load_order_gaps
from shopify_app.analytics.kpis.periods import Period
from shopify_app.analytics.kpis.periods import load_shop
from shopify_app.analytics.kpis.periods import local_today
from shopify_app.analytics.rollups.facts import REPEAT_WINDOW_DAYS
from shopify_app.analytics.rollups.facts import from_hundredths
from shopify_app.models import RollupCustomerDay
from shopify_app.models import RollupDay


@dataclass(frozen=True)
class KpiValues:
    period: Period
    customers: int
    new_customers: int
    orders: int
    gross_revenue: Decimal
    refunds: Decimal
    net_revenue: Decimal
    average_order_value: Decimal | None
    purchase_frequency: float | None
    repeat_purchase_rate: float | None
    returning_customer_rate: float | None
    customers_active_at_start: int
    customers_active_at_end: int
    customer_retention_rate: float | None
    historic_clv: Decimal | None
    historic_clv_median: Decimal | None
    median_days_between_orders: float | None
    mean_days_between_orders: float | None
    repeat_within_90_days_rate: float | None
    repeat_within_90_days_eligible: int


@dataclass(frozen=True)
class KpiSummary:
    currency: str
    iana_timezone: str
    active_days: int
    current: KpiValues
    previous: KpiValues


@dataclass(frozen=True)
class _DaySums:
    """The per-day counters of a period, added up (money in hundredths)."""

    orders: int
    priced_orders: int
    gross: int
    refunds: int
    new_customers: int
    # First orders whose quick-repeat window has passed, and those of them repeated within it.
    eligible: int
    repeated: int


@dataclass(frozen=True)
class _CustomerCounts:
    """Customers with an order in a period, and how many of them ordered again."""

    customers: int
    repeaters: int
    returning: int
    same_day_gaps: int


def load_summary(
    session: Session,
    *,
    shop_id: int,
    period_start: date,
    period_end: date,
    now: datetime,
    active_days: int = 365,
) -> KpiSummary:
    """Return the KPIs of a period in the shop's time zone and of the period before it."""
    shop = load_shop(session, shop_id)
    today = local_today(shop, now)
    period = Period(start=period_start, end=period_end)
    previous = period.previous()
    active = load_active_counts(
        session,
        shop_id=shop_id,
        active_days=active_days,
        days=(
            period.start - timedelta(days=1),
            period.end,
            previous.start - timedelta(days=1),
            previous.end,
        ),
    )
    return KpiSummary(
        currency=shop.currency,
        iana_timezone=shop.iana_timezone,
        active_days=active_days,
        current=compute_values(
            session,
            shop_id=shop_id,
            period=period,
            today=today,
            active_days=active_days,
            active=active,
        ),
        previous=compute_values(
            session,
            shop_id=shop_id,
            period=previous,
            today=today,
            active_days=active_days,
            active=active,
        ),
    )


def compute_values(
    session: Session,
    *,
    shop_id: int,
    period: Period,
    today: date,
    active_days: int,
    active: dict[date, int] | None = None,
) -> KpiValues:
    """Compute every KPI of one period from the aggregates.

    active maps days to active customers (from load_active_counts); days missing from it are
    counted from the per-customer day rows.
    """
    sums = _sum_days(session, shop_id=shop_id, period=period, today=today)
    counts = _count_customers(session, shop_id=shop_id, period=period)
    gaps = load_order_gaps(
        session, shop_id=shop_id, period=period, same_day_gaps=counts.same_day_gaps
    )
    at_start, at_end = customers_active_around(
        session, shop_id=shop_id, period=period, active_days=active_days, active=active
    )
    customers, gross = counts.customers, Decimal(sums.gross)
    return KpiValues(
        period=period,
        customers=customers,
        new_customers=sums.new_customers,
        orders=sums.orders,
        gross_revenue=from_hundredths(gross),
        refunds=from_hundredths(Decimal(sums.refunds)),
        net_revenue=from_hundredths(Decimal(sums.gross - sums.refunds)),
        average_order_value=(
            from_hundredths(gross / sums.priced_orders) if sums.priced_orders else None
        ),
        purchase_frequency=sums.orders / customers if customers else None,
        repeat_purchase_rate=counts.repeaters / customers if customers else None,
        returning_customer_rate=counts.returning / customers if customers else None,
        customers_active_at_start=at_start,
        customers_active_at_end=at_end,
        customer_retention_rate=(
            min(1.0, max(0.0, (at_end - sums.new_customers) / at_start)) if at_start else None
        ),
        historic_clv=from_hundredths(gross / customers) if customers else None,
        historic_clv_median=_median_customer_revenue(
            session, shop_id=shop_id, period=period, customers=customers
        ),
        median_days_between_orders=histogram_median(gaps),
        mean_days_between_orders=histogram_mean(gaps),
        repeat_within_90_days_rate=sums.repeated / sums.eligible if sums.eligible else None,
        repeat_within_90_days_eligible=sums.eligible,
    )


def _sum_days(session: Session, *, shop_id: int, period: Period, today: date) -> _DaySums:
    # Only first orders whose 90-day window has fully passed count for the quick repeat rate.
    last_eligible_first = min(period.end, today - timedelta(days=REPEAT_WINDOW_DAYS + 1))
    orders = priced_orders = gross = refunds = new_customers = eligible = repeated = 0
    for row in session.execute(
        select(
            RollupDay.orders,
            RollupDay.priced_orders,
            RollupDay.gross_cents,
            RollupDay.refunds_cents,
            RollupDay.new_customers,
            RollupDay.local_date,
            RollupDay.new_customers_repeat,
        ).where(
            RollupDay.shop_id == shop_id, RollupDay.local_date.between(period.start, period.end)
        )
    ):
        orders += row.orders
        priced_orders += row.priced_orders
        gross += row.gross_cents
        refunds += row.refunds_cents
        new_customers += row.new_customers
        if row.local_date <= last_eligible_first:
            eligible += row.new_customers
            repeated += row.new_customers_repeat
    return _DaySums(
        orders=orders,
        priced_orders=priced_orders,
        gross=gross,
        refunds=refunds,
        new_customers=new_customers,
        eligible=eligible,
        repeated=repeated,
    )


def _count_if(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _in_period(shop_id: int, period: Period) -> tuple[ColumnElement[bool], ...]:
    day = RollupCustomerDay
    return (day.shop_id == shop_id, day.local_date.between(period.start, period.end))


def _first_in_period(period: Period) -> ColumnElement[bool]:
    """Whether a customer day is the customer's first order day in the period."""
    day = RollupCustomerDay
    return or_(day.prev_date.is_(None), day.prev_date < period.start)


def _count_customers(session: Session, *, shop_id: int, period: Period) -> _CustomerCounts:
    day = RollupCustomerDay
    first_in_period = _first_in_period(period)
    again_in_period = and_(day.next_date.is_not(None), day.next_date <= period.end)
    counts = session.execute(
        select(
            _count_if(first_in_period),
            _count_if(and_(first_in_period, or_(day.orders >= 2, again_in_period))),
            _count_if(
                and_(first_in_period, or_(day.orders_before + day.orders >= 2, again_in_period))
            ),
            func.coalesce(func.sum(day.orders - 1), 0),
        ).where(*_in_period(shop_id, period))
    ).one()
    customers, repeaters, returning, same_day_gaps = (int(v or 0) for v in counts)
    return _CustomerCounts(
        customers=customers,
        repeaters=repeaters,
        returning=returning,
        same_day_gaps=same_day_gaps,
    )


def _median_customer_revenue(
    session: Session, *, shop_id: int, period: Period, customers: int
) -> Decimal | None:
    """Return the median of what each customer spent in the period, None without customers."""
    if not customers:
        return None
    day = RollupCustomerDay
    in_period, first_in_period = _in_period(shop_id, period), _first_in_period(period)
    # Customers with a single order day in the period need no grouping; only the others do.
    last_in_period = or_(day.next_date.is_(None), day.next_date > period.end)
    single_day = select(day.revenue_cents.label("cents")).where(
        *in_period, first_in_period, last_in_period
    )
    # A whole-number sum: PostgreSQL's sum(bigint) is numeric, which sorts several times slower.
    multi_day = (
        select(cast(func.sum(day.revenue_cents), BigInteger).label("cents"))
        .where(*in_period, or_(~first_in_period, ~last_in_period))
        .group_by(day.customer_key)
    )
    per_customer = union_all(single_day, multi_day).subquery()
    middle = session.scalars(
        select(per_customer.c.cents)
        .order_by(per_customer.c.cents)
        .limit(2 - customers % 2)
        .offset((customers - 1) // 2)
    ).all()
    return from_hundredths(Decimal(sum(int(v) for v in middle)) / len(middle))
