"""Read the monthly cohorts: of the customers first buying in a month, who bought again when."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from datetime import datetime
from datetime import timedelta

from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.orm import Session

from shopify_app.analytics.kpis.periods import Period
from shopify_app.analytics.kpis.periods import load_shop
from shopify_app.analytics.kpis.periods import local_today
from shopify_app.analytics.rollups.facts import month_start_of
from shopify_app.analytics.rollups.facts import months_between
from shopify_app.models import RollupCustomer
from shopify_app.models import RollupCustomerMonth

COHORT_OFFSETS = 12


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
class _CohortCounts:
    """Per cohort month: its size, first repeats per month offset, and buyers per offset."""

    sizes: dict[date, int]
    first_repeats: dict[tuple[date, int], int]
    active: dict[tuple[date, int], int]


def load_cohorts(
    session: Session, *, shop_id: int, period_start: date, period_end: date, now: datetime
) -> CohortTable:
    """Return the monthly cohorts whose first-order month lies in the period."""
    this_month = month_start_of(local_today(load_shop(session, shop_id), now))
    first_month, last_month = month_start_of(period_start), month_start_of(period_end)
    counts = _count_cohorts(session, shop_id=shop_id, first=first_month, last=last_month)
    return CohortTable(
        period=Period(period_start, period_end),
        rows=[_cohort_row(month, counts, this_month) for month in _months(first_month, last_month)],
    )


def _count_cohorts(session: Session, *, shop_id: int, first: date, last: date) -> _CohortCounts:
    customer = RollupCustomer
    in_range = (customer.shop_id == shop_id, customer.cohort_month.between(first, last))
    sizes = {
        month: int(size)
        for month, size in session.execute(
            select(customer.cohort_month, func.count())
            .where(*in_range)
            .group_by(customer.cohort_month)
        )
    }
    first_repeats = {
        (month, int(offset or 0)): int(count)
        for month, offset, count in session.execute(
            select(customer.cohort_month, customer.repeat_month_offset, func.count())
            .where(*in_range, customer.repeat_month_offset <= COHORT_OFFSETS)
            .group_by(customer.cohort_month, customer.repeat_month_offset)
        )
    }
    cm = RollupCustomerMonth
    active = {
        (month, int(offset)): int(count)
        for month, offset, count in session.execute(
            select(cm.cohort_month, cm.month_offset, func.count())
            .where(
                cm.shop_id == shop_id,
                cm.cohort_month.between(first, last),
                cm.month_offset.between(1, COHORT_OFFSETS),
            )
            .group_by(cm.cohort_month, cm.month_offset)
        )
    }
    return _CohortCounts(sizes=sizes, first_repeats=first_repeats, active=active)


def _cohort_row(month: date, counts: _CohortCounts, this_month: date) -> CohortRow:
    size = counts.sizes.get(month, 0)
    repeated = counts.first_repeats.get((month, 0), 0)
    cells = []
    for k in range(1, COHORT_OFFSETS + 1):
        repeated += counts.first_repeats.get((month, k), 0)
        # Offset k is complete once calendar month k after the cohort month has ended.
        if months_between(month, this_month) <= k:
            cells.append(CohortCell(k, None, None, None, False))
            continue
        customers = counts.active.get((month, k), 0)
        cells.append(
            CohortCell(
                offset=k,
                customers=customers,
                share=customers / size if size else None,
                cumulative_share=repeated / size if size else None,
                is_complete=True,
            )
        )
    return CohortRow(month=month, size=size, cells=cells)


def _months(first: date, last: date) -> Iterable[date]:
    month = first
    while month <= last:
        yield month
        month = (month + timedelta(days=32)).replace(day=1)
