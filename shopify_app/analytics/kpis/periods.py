"""Name the date ranges KPIs are read for, in the shop's local days."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from datetime import datetime
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from shopify_app.errors import AppError
from shopify_app.errors import NotFound
from shopify_app.models import Shop

MAX_PERIOD_YEARS = 5
EARLIEST_DAY = date(1970, 1, 1)
LATEST_DAY = date(2999, 12, 31)


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


def load_shop(session: Session, shop_id: int) -> Shop:
    """Return the shop whose KPIs are read, or raise NotFound."""
    shop = session.get(Shop, shop_id)
    if shop is None:
        raise NotFound("Unknown shop")
    return shop


def local_today(shop: Shop, now: datetime) -> date:
    return now.astimezone(ZoneInfo(shop.iana_timezone or "UTC")).date()
