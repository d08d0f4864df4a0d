"""Answer the dashboard's KPI questions from the pre-aggregated rows (definitions: docs/kpis.md)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from datetime import datetime
from datetime import timedelta
from decimal import ROUND_HALF_UP
from decimal import Decimal
from zoneinfo import ZoneInfo

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

from shopify_app.analytics.rollups.facts import REPEAT_WINDOW_DAYS
from shopify_app.analytics.rollups.facts import month_start_of
from shopify_app.analytics.rollups.facts import months_between
from shopify_app.analytics.rollups.facts import week_start_of
from shopify_app.errors import AppError
from shopify_app.errors import NotFound
from shopify_app.models import OrderLine
from shopify_app.models import RollupActiveDay
from shopify_app.models import RollupCustomer
from shopify_app.models import RollupCustomerDay
from shopify_app.models import RollupCustomerMonth
from shopify_app.models import RollupDay
from shopify_app.models import RollupProduct
from shopify_app.models import RollupProductGap
from shopify_app.models import RollupWeek
from shopify_app.models import Shop

MAX_PERIOD_YEARS = 5
EARLIEST_DAY = date(1970, 1, 1)
LATEST_DAY = date(2999, 12, 31)
COHORT_OFFSETS = 12
CENT = Decimal("0.01")


class InvalidQuery(AppError):
    """Raise when a KPI request asks for something malformed."""

    status_code = 400


class InvalidPeriod(InvalidQuery):
    """Raise when a requested date range is malformed, reversed or too long."""


@dataclass(frozen=True)
class Period:
    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> Period:
        """Return the period of equal length that ends the day before this one starts."""
        end = self.start - timedelta(days=1)
        return Period(start=end - timedelta(days=self.days - 1), end=end)


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
class CohortCell:
    offset: int
    customers: int | None
    share: float | None
    cumulative_share: float | None
    is_complete: bool


@dataclass(frozen=True)
class CohortRow:
    month: date
    size: int
    cells: list[CohortCell]


@dataclass(frozen=True)
class CohortTable:
    period: Period
    rows: list[CohortRow]


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


@dataclass(frozen=True)
class RepurchasedProduct:
    product_id: int
    title: str | None
    buyers: int
    repurchasers: int
    repurchase_rate: float
    median_days_to_repurchase: float | None


def parse_period(raw_start: str | None, raw_end: str | None) -> Period:
    """Return the period named by two YYYY-MM-DD strings, or raise InvalidPeriod saying why."""
    if not raw_start or not raw_end:
        raise InvalidPeriod("Both from and to are required, as YYYY-MM-DD")
    start = _parse_date("from", raw_start)
    end = _parse_date("to", raw_end)
    if start > end:
        raise InvalidPeriod("from must be on or before to")
    if end >= _years_later(start, MAX_PERIOD_YEARS):
        raise InvalidPeriod(f"The range may cover at most {MAX_PERIOD_YEARS} years")
    return Period(start=start, end=end)


def _years_later(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a year that has none
        return day.replace(year=day.year + years, day=28) + timedelta(days=1)


def _parse_date(name: str, raw: str) -> date:
    try:
        if len(raw) != 10:
            raise ValueError(raw)
        day = date.fromisoformat(raw)
    except ValueError:
        raise InvalidPeriod(f"{name} must be a date as YYYY-MM-DD, got {raw[:20]!r}") from None
    # Far dates overflow when shifted between time zones or extended by years: refuse them.
    if not EARLIEST_DAY <= day <= LATEST_DAY:
        raise InvalidPeriod(f"{name} must lie between {EARLIEST_DAY} and {LATEST_DAY}")
    return day


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
    shop = _load_shop(session, shop_id)
    today = local_today(shop, now)
    period = Period(start=period_start, end=period_end)
    previous = period.previous()
    active = _active_counts(
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


def local_today(shop: Shop, now: datetime) -> date:
    return now.astimezone(ZoneInfo(shop.iana_timezone or "UTC")).date()


def _load_shop(session: Session, shop_id: int) -> Shop:
    shop = session.get(Shop, shop_id)
    if shop is None:
        raise NotFound("Unknown shop")
    return shop


def _active_counts(
    session: Session, *, shop_id: int, active_days: int, days: Iterable[date]
) -> dict[date, int] | None:
    """Return how many customers were active on each day, from the kept per-day deltas.

    None when the shop keeps no deltas for this window N (a changed RETENTION_ACTIVE_DAYS before
    the next rebuild, or no orders at all): callers then count customer days instead.
    """
    wanted = sorted(set(days))
    delta = RollupActiveDay
    row = session.execute(
        select(
            func.count(),
            *(
                func.coalesce(func.sum(case((delta.local_date <= d, delta.delta), else_=0)), 0)
                for d in wanted
            ),
        ).where(delta.shop_id == shop_id, delta.active_days == active_days)
    ).one()
    if not row[0]:
        return None
    return {d: int(value) for d, value in zip(wanted, row[1:], strict=True)}


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

    active maps days to active customers (from _active_counts); days missing from it are counted
    from the per-customer day rows.
    """
    start, end = period.start, period.end
    # Only first orders whose 90-day window has fully passed count for the quick repeat rate.
    last_eligible_first = min(end, today - timedelta(days=REPEAT_WINDOW_DAYS + 1))
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
        ).where(RollupDay.shop_id == shop_id, RollupDay.local_date.between(start, end))
    ):
        orders += row[0]
        priced_orders += row[1]
        gross += row[2]
        refunds += row[3]
        new_customers += row[4]
        if row[5] <= last_eligible_first:
            eligible += row[4]
            repeated += row[6]

    day = RollupCustomerDay
    in_period = (day.shop_id == shop_id, day.local_date.between(start, end))
    first_in_period = or_(day.prev_date.is_(None), day.prev_date < start)
    again_in_period = and_(day.next_date.is_not(None), day.next_date <= end)
    counts = session.execute(
        select(
            _count_if(first_in_period),
            _count_if(and_(first_in_period, or_(day.orders >= 2, again_in_period))),
            _count_if(
                and_(first_in_period, or_(day.orders_before + day.orders >= 2, again_in_period))
            ),
            func.coalesce(func.sum(day.orders - 1), 0),
        ).where(*in_period)
    ).one()
    customers, repeaters, returning, same_day_gaps = (int(v or 0) for v in counts)

    gaps: dict[int, int] = {0: same_day_gaps} if same_day_gaps else {}
    for gap, count in session.execute(
        select(day.gap_days, func.count())
        .where(*in_period, day.prev_date >= start)
        .group_by(day.gap_days)
    ):
        if gap is not None:
            gaps[int(gap)] = gaps.get(int(gap), 0) + int(count)

    clv_median = None
    if customers:
        # Customers with a single order day in the period need no grouping; only the others do.
        last_in_period = or_(day.next_date.is_(None), day.next_date > end)
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
        clv_median = _cents(Decimal(sum(int(v) for v in middle)) / len(middle))

    active = active or {}
    day_before = start - timedelta(days=1)
    at_start = active.get(day_before)
    if at_start is None:
        at_start = _distinct_customers(
            session, shop_id, start - timedelta(days=active_days), day_before
        )
    at_end = active.get(end)
    if at_end is None:
        at_end = _distinct_customers(session, shop_id, end - timedelta(days=active_days - 1), end)

    gross_revenue = _cents(Decimal(gross))
    return KpiValues(
        period=period,
        customers=customers,
        new_customers=new_customers,
        orders=orders,
        gross_revenue=gross_revenue,
        refunds=_cents(Decimal(refunds)),
        net_revenue=_cents(Decimal(gross - refunds)),
        average_order_value=_cents(Decimal(gross) / priced_orders) if priced_orders else None,
        purchase_frequency=orders / customers if customers else None,
        repeat_purchase_rate=repeaters / customers if customers else None,
        returning_customer_rate=returning / customers if customers else None,
        customers_active_at_start=at_start,
        customers_active_at_end=at_end,
        customer_retention_rate=(
            min(1.0, max(0.0, (at_end - new_customers) / at_start)) if at_start else None
        ),
        historic_clv=_cents(Decimal(gross) / customers) if customers else None,
        historic_clv_median=clv_median,
        median_days_between_orders=_median(gaps),
        mean_days_between_orders=_mean(gaps),
        repeat_within_90_days_rate=repeated / eligible if eligible else None,
        repeat_within_90_days_eligible=eligible,
    )


def _count_if(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _cents(hundredths: Decimal) -> Decimal:
    """Turn an amount in hundredths into currency units, rounded half up to the cent."""
    return (hundredths / 100).quantize(CENT, rounding=ROUND_HALF_UP)


def _distinct_customers(session: Session, shop_id: int, start: date, end: date) -> int:
    """Count customers with an order in [start, end] without grouping: one first day each."""
    day = RollupCustomerDay
    return int(
        session.scalar(
            select(func.count()).where(
                day.shop_id == shop_id,
                day.local_date.between(start, end),
                or_(day.prev_date.is_(None), day.prev_date < start),
            )
        )
        or 0
    )


def _median(histogram: dict[int, int]) -> float | None:
    total = sum(histogram.values())
    if not total:
        return None
    wanted = [(total - 1) // 2, total // 2]
    values: list[int] = []
    seen = 0
    for value in sorted(histogram):
        count = histogram[value]
        values.extend(value for index in wanted if seen <= index < seen + count)
        seen += count
    return sum(values) / 2


def _mean(histogram: dict[int, int]) -> float | None:
    total = sum(histogram.values())
    if not total:
        return None
    return sum(value * count for value, count in histogram.items()) / total


def load_cohorts(
    session: Session, *, shop_id: int, period_start: date, period_end: date, now: datetime
) -> CohortTable:
    """Return the monthly cohorts whose first-order month lies in the period."""
    shop = _load_shop(session, shop_id)
    this_month = month_start_of(local_today(shop, now))
    first_month, last_month = month_start_of(period_start), month_start_of(period_end)
    customer = RollupCustomer
    in_range = (customer.shop_id == shop_id, customer.cohort_month.between(first_month, last_month))
    sizes = {
        month: int(size)
        for month, size in session.execute(
            select(customer.cohort_month, func.count())
            .where(*in_range)
            .group_by(customer.cohort_month)
        )
    }
    first_repeats: dict[tuple[date, int], int] = {
        (month, int(offset or 0)): int(count)
        for month, offset, count in session.execute(
            select(customer.cohort_month, customer.repeat_month_offset, func.count())
            .where(*in_range, customer.repeat_month_offset <= COHORT_OFFSETS)
            .group_by(customer.cohort_month, customer.repeat_month_offset)
        )
    }
    cm = RollupCustomerMonth
    active: dict[tuple[date, int], int] = {
        (month, int(offset)): int(count)
        for month, offset, count in session.execute(
            select(cm.cohort_month, cm.month_offset, func.count())
            .where(
                cm.shop_id == shop_id,
                cm.cohort_month.between(first_month, last_month),
                cm.month_offset.between(1, COHORT_OFFSETS),
            )
            .group_by(cm.cohort_month, cm.month_offset)
        )
    }
    rows = []
    for month in _months(first_month, last_month):
        size = sizes.get(month, 0)
        repeated = first_repeats.get((month, 0), 0)
        cells = []
        for k in range(1, COHORT_OFFSETS + 1):
            repeated += first_repeats.get((month, k), 0)
            # Offset k is complete once calendar month k after the cohort month has ended.
            is_complete = months_between(month, this_month) > k
            if not is_complete:
                cells.append(CohortCell(k, None, None, None, False))
                continue
            customers = active.get((month, k), 0)
            cells.append(
                CohortCell(
                    offset=k,
                    customers=customers,
                    share=customers / size if size else None,
                    cumulative_share=repeated / size if size else None,
                    is_complete=True,
                )
            )
        rows.append(CohortRow(month=month, size=size, cells=cells))
    return CohortTable(period=Period(period_start, period_end), rows=rows)


def _months(first: date, last: date) -> Iterable[date]:
    month = first
    while month <= last:
        yield month
        month = (month + timedelta(days=32)).replace(day=1)


def load_weekly_series(
    session: Session, *, shop_id: int, period_start: date, period_end: date, now: datetime
) -> list[WeekPoint]:
    """Return, per local ISO week touching the period, repeat rate and new vs returning revenue."""
    shop = _load_shop(session, shop_id)
    today = local_today(shop, now)
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
                new_customer_revenue=_cents(Decimal(new)),
                returning_customer_revenue=_cents(Decimal(gross - new)),
                is_complete=week + timedelta(days=6) < today,
            )
        )
        week += timedelta(days=7)
    return points


def load_top_repurchased_products(
    session: Session, *, shop_id: int, limit: int = 10
) -> list[RepurchasedProduct]:
    """Return the products most customers bought again, with their repurchase share and timing."""
    product = RollupProduct
    top = session.execute(
        select(product.product_id, product.buyers, product.repurchasers)
        .where(product.shop_id == shop_id, product.repurchasers > 0)
        .order_by(product.repurchasers.desc(), product.buyers.desc(), product.product_id)
        .limit(limit)
    ).all()
    if not top:
        return []
    ids = [int(row[0]) for row in top]
    gaps: dict[int, dict[int, int]] = {product_id: {} for product_id in ids}
    gap = RollupProductGap
    for product_id, days, count in session.execute(
        select(gap.product_id, gap.gap_days, gap.customers).where(
            gap.shop_id == shop_id, gap.product_id.in_(ids)
        )
    ):
        gaps[int(product_id)][int(days)] = int(count)
    products = []
    for product_id, buyers, again in top:
        title = session.scalar(
            select(OrderLine.title)
            .where(OrderLine.shop_id == shop_id, OrderLine.product_id == product_id)
            .order_by(OrderLine.id.desc())
            .limit(1)
        )
        products.append(
            RepurchasedProduct(
                product_id=int(product_id),
                title=title,
                buyers=int(buyers),
                repurchasers=int(again),
                repurchase_rate=int(again) / int(buyers),
                median_days_to_repurchase=_median(gaps[int(product_id)]),
            )
        )
    return products
