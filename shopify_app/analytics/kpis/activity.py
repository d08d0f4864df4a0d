"""Count the customers active on a day: with an order in the N days up to and including it."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from datetime import timedelta

from sqlalchemy import case
from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy.orm import Session

from shopify_app.analytics.kpis.periods import Period
from shopify_app.models import RollupActiveDay
from shopify_app.models import RollupCustomerDay


def load_active_counts(
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


def customers_active_around(
    session: Session,
    *,
    shop_id: int,
    period: Period,
    active_days: int,
    active: dict[date, int] | None,
) -> tuple[int, int]:
    """Return the customers active the day before the period starts and on its last day.

    *active* maps days to active customers (from load_active_counts); a day missing from it is
    counted from the per-customer day rows.
    """
    known = active or {}
    day_before = period.start - timedelta(days=1)
    at_start = known.get(day_before)
    if at_start is None:
        at_start = count_customers_between(
            session,
            shop_id=shop_id,
            start=period.start - timedelta(days=active_days),
            end=day_before,
        )
    at_end = known.get(period.end)
    if at_end is None:
        at_end = count_customers_between(
            session,
            shop_id=shop_id,
            start=period.end - timedelta(days=active_days - 1),
            end=period.end,
        )
    return at_start, at_end


def count_customers_between(session: Session, *, shop_id: int, start: date, end: date) -> int:
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
