"""Derive what each order contributes, and each customer's rows, from the shop's orders.

Nothing here reads or writes the aggregates: incremental upkeep and the rebuild both call these
functions, which is why they arrive at identical rows (see docs/kpis.md).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from datetime import datetime
from datetime import timedelta
from decimal import Decimal
from typing import Any
from typing import Protocol
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from shopify_app.models import Order
from shopify_app.models import Refund
from shopify_app.models import RollupOrder
from shopify_app.models import Shop
from shopify_app.money import to_cents

# The default of RETENTION_ACTIVE_DAYS: its activity deltas are always kept, so a shop on the
# default setting never needs a rebuild before retention is fast.
DEFAULT_ACTIVE_DAYS = 365
# A first-time customer repeats quickly when their next order day is at most this many days later.
REPEAT_WINDOW_DAYS = 90

# The columns an order's contribution depends on, named as on Order so a selected row reads alike.
ORDER_COLUMNS = (
    Order.id,
    Order.customer_id,
    Order.email,
    Order.processed_at,
    Order.total_price,
    Order.currency,
    Order.is_test,
    Order.cancelled_at,
)
REFUND_COLUMNS = (Refund.id, Refund.shop_id, Refund.order_id, Refund.processed_at, Refund.amount)
# The columns of an applied fact, named as on OrderFact so a selected row reads alike.
APPLIED_COLUMNS = (
    RollupOrder.order_id,
    RollupOrder.customer_key,
    RollupOrder.placed_at,
    RollupOrder.local_date,
    RollupOrder.amount_cents,
    RollupOrder.is_priced,
)


class OrderColumns(Protocol):
    """An Order, or a row of ORDER_COLUMNS."""

    @property
    def id(self) -> int: ...
    @property
    def customer_id(self) -> int | None: ...
    @property
    def email(self) -> str | None: ...
    @property
    def processed_at(self) -> datetime: ...
    @property
    def total_price(self) -> Decimal: ...
    @property
    def currency(self) -> str: ...
    @property
    def is_test(self) -> bool: ...
    @property
    def cancelled_at(self) -> datetime | None: ...


class RefundColumns(Protocol):
    """A Refund, or a row of REFUND_COLUMNS."""

    @property
    def id(self) -> int: ...
    @property
    def shop_id(self) -> int: ...
    @property
    def order_id(self) -> int: ...
    @property
    def processed_at(self) -> datetime: ...
    @property
    def amount(self) -> Decimal: ...


class AppliedColumns(Protocol):
    """A RollupOrder, or a row of APPLIED_COLUMNS."""

    @property
    def order_id(self) -> int: ...
    @property
    def customer_key(self) -> str: ...
    @property
    def placed_at(self) -> datetime: ...
    @property
    def local_date(self) -> date: ...
    @property
    def amount_cents(self) -> int: ...
    @property
    def is_priced(self) -> bool: ...


@dataclass(frozen=True)
class OrderFact:
    """What one counting order contributes: who, when (local day) and how much."""

    order_id: int
    customer_key: str
    placed_at: datetime
    local_date: date
    amount_cents: int
    is_priced: bool

    @classmethod
    def of_rollup_order(cls, row: AppliedColumns) -> OrderFact:
        """Return the fact as it was last applied to the aggregates."""
        return cls(
            order_id=row.order_id,
            customer_key=row.customer_key,
            placed_at=row.placed_at,
            local_date=row.local_date,
            amount_cents=row.amount_cents,
            is_priced=row.is_priced,
        )

    def rollup_order_row(self, shop_id: int) -> dict[str, Any]:
        """Return the RollupOrder row that records this fact as applied."""
        return {
            "order_id": self.order_id,
            "shop_id": shop_id,
            "customer_key": self.customer_key,
            "placed_at": self.placed_at,
            "local_date": self.local_date,
            "amount_cents": self.amount_cents,
            "is_priced": self.is_priced,
        }


@dataclass
class DerivedCustomer:
    """Every aggregate row of one customer, derived from that customer's order facts."""

    customer: dict[str, Any]
    days: list[dict[str, Any]]
    months: list[dict[str, Any]]
    products: list[dict[str, Any]]


def hundredths(amount: Decimal) -> int:
    """Return *amount* in whole hundredths, the precision Order.total_price is stored with."""
    return int(to_cents(amount).scaleb(2))


def from_hundredths(amount: Decimal) -> Decimal:
    """Return *amount*, in hundredths (a sum or a mean of sums), in currency units to the cent."""
    return to_cents(amount / 100)


def customer_key(*, customer_id: int | None, email: str | None, order_id: int) -> str:
    """Return who an order belongs to: the customer, else the guest's email, else the order."""
    if customer_id is not None:
        return f"c:{customer_id}"
    normalised = (email or "").strip().lower()
    if normalised:
        # A digest, not the address: aggregates must not keep personal data after redaction.
        return "e:" + hashlib.sha256(normalised.encode()).hexdigest()[:32]
    return f"o:{order_id}"


def local_date(moment: datetime, zone: ZoneInfo) -> date:
    return moment.astimezone(zone).date()


def week_start_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def month_start_of(day: date) -> date:
    return day.replace(day=1)


def months_between(start: date, end: date) -> int:
    return (end.year - start.year) * 12 + end.month - start.month


def shop_context(session: Session, shop_id: int) -> tuple[str, ZoneInfo]:
    """Return the shop's currency and time zone, which every fact of its orders depends on."""
    shop = session.get(Shop, shop_id)
    if shop is None:
        raise LookupError(f"shop {shop_id} does not exist")
    return shop.currency, ZoneInfo(shop.iana_timezone or "UTC")


def order_fact(
    *,
    order_id: int,
    customer_id: int | None,
    email: str | None,
    processed_at: datetime,
    total_price: Decimal,
    currency: str,
    is_test: bool,
    cancelled_at: datetime | None,
    shop_currency: str,
    zone: ZoneInfo,
) -> OrderFact | None:
    """Return the order's contribution, or None for a test or cancelled order."""
    if is_test or cancelled_at is not None:
        return None
    is_priced = currency.upper() == shop_currency.upper()
    return OrderFact(
        order_id=order_id,
        customer_key=customer_key(customer_id=customer_id, email=email, order_id=order_id),
        placed_at=processed_at,
        local_date=local_date(processed_at, zone),
        amount_cents=hundredths(total_price) if is_priced else 0,
        is_priced=is_priced,
    )


def fact_of_order(order: OrderColumns, *, shop_currency: str, zone: ZoneInfo) -> OrderFact | None:
    """Return what *order* contributes, or None when it does not count."""
    return order_fact(
        order_id=order.id,
        customer_id=order.customer_id,
        email=order.email,
        processed_at=order.processed_at,
        total_price=order.total_price,
        currency=order.currency,
        is_test=order.is_test,
        cancelled_at=order.cancelled_at,
        shop_currency=shop_currency,
        zone=zone,
    )


def refund_row(refund: RefundColumns, *, zone: ZoneInfo) -> dict[str, Any]:
    """Return the RollupRefund row of a refund of a counting order in the shop currency."""
    return {
        "refund_id": refund.id,
        "shop_id": refund.shop_id,
        "order_id": refund.order_id,
        "local_date": local_date(refund.processed_at, zone),
        "amount_cents": hundredths(refund.amount),
    }


def derive_customer(
    *,
    shop_id: int,
    key: str,
    facts: Sequence[OrderFact],
    products_by_order: dict[int, set[int]],
) -> DerivedCustomer:
    """Derive one customer's rows from all of their counting orders."""
    ordered = sorted(facts, key=lambda f: (f.placed_at, f.order_id))
    by_day: dict[date, list[OrderFact]] = defaultdict(list)
    for fact in ordered:
        by_day[fact.local_date].append(fact)
    day_list = sorted(by_day)
    owner = {"shop_id": shop_id, "customer_key": key}
    return DerivedCustomer(
        customer=_customer_row(owner, ordered, day_list),
        days=_day_rows(owner, by_day, day_list, first=ordered[0]),
        months=_month_rows(owner, day_list),
        products=_product_rows(owner, ordered, products_by_order),
    )


def _customer_row(
    owner: dict[str, Any], ordered: Sequence[OrderFact], day_list: Sequence[date]
) -> dict[str, Any]:
    first = ordered[0]
    cohort_month = month_start_of(first.local_date)
    return {
        **owner,
        "first_date": first.local_date,
        "last_date": day_list[-1],
        "cohort_month": cohort_month,
        "order_count": len(ordered),
        "revenue_cents": sum(f.amount_cents for f in ordered),
        "days_to_next_day": (day_list[1] - day_list[0]).days if len(day_list) > 1 else None,
        "repeat_month_offset": (
            months_between(cohort_month, ordered[1].local_date) if len(ordered) > 1 else None
        ),
    }


def _day_rows(
    owner: dict[str, Any],
    by_day: dict[date, list[OrderFact]],
    day_list: Sequence[date],
    *,
    first: OrderFact,
) -> list[dict[str, Any]]:
    days: list[dict[str, Any]] = []
    orders_before = 0
    for index, day in enumerate(day_list):
        day_facts = by_day[day]
        prev_date = day_list[index - 1] if index > 0 else None
        next_date = day_list[index + 1] if index + 1 < len(day_list) else None
        week_start = week_start_of(day)
        count = len(day_facts)
        is_first_in_week = prev_date is None or prev_date < week_start
        is_returning = is_first_in_week and (
            orders_before + count >= 2
            or (next_date is not None and next_date <= week_start + timedelta(days=6))
        )
        days.append(
            {
                **owner,
                "local_date": day,
                "week_start": week_start,
                "orders": count,
                "priced_orders": sum(1 for f in day_facts if f.is_priced),
                "revenue_cents": sum(f.amount_cents for f in day_facts),
                "new_revenue_cents": first.amount_cents if orders_before == 0 else 0,
                "orders_before": orders_before,
                "prev_date": prev_date,
                "next_date": next_date,
                "gap_days": (day - prev_date).days if prev_date is not None else None,
                "is_first_in_week": is_first_in_week,
                "is_returning_in_week": is_returning,
            }
        )
        orders_before += count
    return days


def _month_rows(owner: dict[str, Any], day_list: Sequence[date]) -> list[dict[str, Any]]:
    cohort_month = month_start_of(day_list[0])
    return [
        {
            **owner,
            "month": month,
            "cohort_month": cohort_month,
            "month_offset": months_between(cohort_month, month),
        }
        for month in sorted({month_start_of(day) for day in day_list})
    ]


def _product_rows(
    owner: dict[str, Any], ordered: Sequence[OrderFact], products_by_order: dict[int, set[int]]
) -> list[dict[str, Any]]:
    dates_by_product: dict[int, list[date]] = defaultdict(list)
    for fact in ordered:
        for product_id in products_by_order.get(fact.order_id, ()):
            dates_by_product[product_id].append(fact.local_date)
    return [
        {
            **owner,
            "product_id": product_id,
            "orders": len(dates),
            "repurchase_days": (dates[1] - dates[0]).days if len(dates) > 1 else None,
        }
        for product_id, dates in sorted(dates_by_product.items())
    ]


def active_spans(order_days: Iterable[date], active_days: int) -> list[tuple[date, date | None]]:
    """Return the customer's active spans as (first active day, first inactive day or None)."""
    spans: list[tuple[date, date | None]] = []
    for day in sorted(set(order_days)):
        try:
            lapse: date | None = day + timedelta(days=active_days)
        except OverflowError:  # active past the last representable day: never lapses
            lapse = None
        if spans and (spans[-1][1] is None or day <= spans[-1][1]):
            # Each order day's span ends no earlier than the previous one's, so it extends it.
            spans[-1] = (spans[-1][0], lapse if spans[-1][1] is not None else None)
        else:
            spans.append((day, lapse))
    return spans
