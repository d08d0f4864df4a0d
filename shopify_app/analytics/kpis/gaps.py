"""Read how many days customers take between orders, as a histogram and its median and mean."""

from __future__ import annotations

from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.orm import Session

from shopify_app.analytics.kpis.periods import Period
from shopify_app.models import RollupCustomerDay


def load_order_gaps(
    session: Session, *, shop_id: int, period: Period, same_day_gaps: int
) -> dict[int, int]:
    """Return how many times the gap between two orders in the period was each number of days.

    *same_day_gaps* counts the gaps of 0 days: the extra orders on a customer's order days.
    """
    day = RollupCustomerDay
    gaps: dict[int, int] = {0: same_day_gaps} if same_day_gaps else {}
    for gap, count in session.execute(
        select(day.gap_days, func.count())
        .where(
            day.shop_id == shop_id,
            day.local_date.between(period.start, period.end),
            day.prev_date >= period.start,
        )
        .group_by(day.gap_days)
    ):
        if gap is not None:
            gaps[int(gap)] = gaps.get(int(gap), 0) + int(count)
    return gaps


def histogram_median(histogram: dict[int, int]) -> float | None:
    """Return the median of the values counted in *histogram*, None when it counts nothing."""
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


def histogram_mean(histogram: dict[int, int]) -> float | None:
    """Return the mean of the values counted in *histogram*, None when it counts nothing."""
    total = sum(histogram.values())
    if not total:
        return None
    return sum(value * count for value, count in histogram.items()) / total
