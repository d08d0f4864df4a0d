"""Name the date ranges KPIs are read for, in the shop's local days."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from datetime import datetime
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from shopify_app.errors import NotFound
from shopify_app.models import Shop

MAX_PERIOD_YEARS = 5
"""The longest period the read models answer (the API refuses longer ones)."""
# Far dates overflow when shifted between time zones or extended by years: the API refuses them.
EARLIEST_DAY = date(1970, 1, 1)
LATEST_DAY = date(2999, 12, 31)


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


def load_shop(session: Session, shop_id: int) -> Shop:
    """Return the shop whose KPIs are read, or raise NotFound."""
    shop = session.get(Shop, shop_id)
    if shop is None:
        raise NotFound("Unknown shop")
    return shop


def local_today(shop: Shop, now: datetime) -> date:
    return now.astimezone(ZoneInfo(shop.iana_timezone or "UTC")).date()
