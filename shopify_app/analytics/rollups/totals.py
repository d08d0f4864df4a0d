"""Add customers' rows up into the shop's per-day, per-week, per-product and activity totals.

The rebuild adds every customer once and writes the totals as rows. Incremental upkeep takes a
customer's old rows out (sign -1) and puts the new ones in, so what it gathers are deltas.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from datetime import date
from typing import Any

from shopify_app.analytics.rollups.facts import REPEAT_WINDOW_DAYS
from shopify_app.analytics.rollups.facts import active_spans
from shopify_app.models import RollupCustomerDay
from shopify_app.models import RollupCustomerProduct

# The counters of RollupDay and RollupWeek, in the order RollupTotals keeps them.
DAY_FIELDS = (
    "orders",
    "priced_orders",
    "gross_cents",
    "new_customers",
    "new_customer_revenue_cents",
    "new_customers_repeat",
)
WEEK_FIELDS = ("customers", "returning_customers")

DayRow = dict[str, Any] | RollupCustomerDay
ProductRow = dict[str, Any] | RollupCustomerProduct


def zeros(n: int) -> list[int]:
    return [0] * n


def _reader(row: DayRow | ProductRow) -> Callable[[str], Any]:
    """Read a column of a derived row (a dict) or of a stored one (a model) alike."""
    return row.__getitem__ if isinstance(row, dict) else row.__getattribute__


@dataclass
class RollupTotals:
    """Sums, or differences, of customers' rows: what the shop-level counter rows hold."""

    days: defaultdict[date, list[int]] = field(
        default_factory=lambda: defaultdict(lambda: zeros(len(DAY_FIELDS)))
    )
    weeks: defaultdict[date, list[int]] = field(
        default_factory=lambda: defaultdict(lambda: zeros(len(WEEK_FIELDS)))
    )
    # Per product: [buyers, repurchasers].
    products: defaultdict[int, list[int]] = field(
        default_factory=lambda: defaultdict(lambda: [0, 0])
    )
    # Per (product, days to repurchase): customers.
    gaps: defaultdict[tuple[int, int], int] = field(default_factory=lambda: defaultdict(int))
    # Per (window N, local day): customers becoming active minus those lapsing.
    active: defaultdict[tuple[int, date], int] = field(default_factory=lambda: defaultdict(int))
    # Per local day: refunded hundredths.
    refunds: defaultdict[date, int] = field(default_factory=lambda: defaultdict(int))

    def add_customer(
        self,
        days: Sequence[DayRow],
        products: Iterable[ProductRow],
        windows: Iterable[int],
        *,
        sign: int = 1,
    ) -> None:
        """Add (or with sign=-1 remove) one customer's day and product rows."""
        self.add_days(days, sign=sign)
        self.add_products(products, sign=sign)
        self.add_activity((_reader(row)("local_date") for row in days), windows, sign=sign)

    def add_days(self, day_rows: Iterable[DayRow], *, sign: int = 1) -> None:
        """Add (or remove) one customer's day rows to the per-day and per-week totals."""
        for row in day_rows:
            get = _reader(row)
            totals = self.days[get("local_date")]
            is_first_order = get("orders_before") == 0
            totals[0] += sign * get("orders")
            totals[1] += sign * get("priced_orders")
            totals[2] += sign * get("revenue_cents")
            totals[3] += sign * (1 if is_first_order else 0)
            totals[4] += sign * get("new_revenue_cents")
            next_date = get("next_date")
            if (
                is_first_order
                and next_date is not None
                and (next_date - get("local_date")).days <= REPEAT_WINDOW_DAYS
            ):
                totals[5] += sign
            if get("is_first_in_week"):
                week = self.weeks[get("week_start")]
                week[0] += sign
                week[1] += sign * (1 if get("is_returning_in_week") else 0)

    def add_products(self, product_rows: Iterable[ProductRow], *, sign: int = 1) -> None:
        """Add (or remove) one customer's product rows to the buyers and repurchase gaps."""
        for row in product_rows:
            get = _reader(row)
            totals = self.products[get("product_id")]
            totals[0] += sign
            totals[1] += sign * (1 if get("orders") >= 2 else 0)
            if get("repurchase_days") is not None:
                self.gaps[(get("product_id"), get("repurchase_days"))] += sign

    def add_activity(
        self, order_days: Iterable[date], windows: Iterable[int], *, sign: int = 1
    ) -> None:
        """Add (or remove) one customer's +1 on becoming active and -1 on lapsing, per window N."""
        days = list(order_days)
        for active_days in windows:
            for first, lapse in active_spans(days, active_days):
                self.active[(active_days, first)] += sign
                if lapse is not None:
                    self.active[(active_days, lapse)] -= sign
