"""Keep the KPI aggregates (shopify_app.models.rollups) in step with orders and refunds.

Every aggregate row is a pure function of one shop's orders, order lines and refunds, computed by
the functions below. Incremental upkeep re-derives only the customers an event touches and applies
the difference to the per-day and per-week totals; the nightly rebuild derives everything from
scratch with the same functions, so both arrive at identical rows (see docs/kpis.md).
"""

from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
from collections.abc import Callable
from collections.abc import Collection
from collections.abc import Iterable
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from datetime import datetime
from datetime import timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.orm import Session

from shopify_app.db import conflict_insert
from shopify_app.models import Order
from shopify_app.models import OrderLine
from shopify_app.models import Refund
from shopify_app.models import RollupActiveDay
from shopify_app.models import RollupCustomer
from shopify_app.models import RollupCustomerDay
from shopify_app.models import RollupCustomerMonth
from shopify_app.models import RollupCustomerProduct
from shopify_app.models import RollupDay
from shopify_app.models import RollupOrder
from shopify_app.models import RollupProduct
from shopify_app.models import RollupProductGap
from shopify_app.models import RollupRefund
from shopify_app.models import RollupVersion
from shopify_app.models import RollupWeek
from shopify_app.models import Shop

logger = logging.getLogger(__name__)

DAY_FIELDS = (
    "orders",
    "priced_orders",
    "gross_cents",
    "new_customers",
    "new_customer_revenue_cents",
    "new_customers_repeat",
)
WEEK_FIELDS = ("customers", "returning_customers")
# The default of RETENTION_ACTIVE_DAYS: its activity deltas are always kept, so a shop on the
# default setting never needs a rebuild before retention is fast.
DEFAULT_ACTIVE_DAYS = 365
# A first-time customer repeats quickly when their next order day is at most this many days later.
REPEAT_WINDOW_DAYS = 90
_INSERT_BATCH = 5000


@dataclass(frozen=True)
class OrderFact:
    """What one counting order contributes: who, when (local day) and how much."""

    order_id: int
    customer_key: str
    placed_at: datetime
    local_date: date
    amount_cents: int
    is_priced: bool


@dataclass
class DerivedCustomer:
    """Every aggregate row of one customer, derived from that customer's order facts."""

    customer: dict[str, Any]
    days: list[dict[str, Any]]
    months: list[dict[str, Any]]
    products: list[dict[str, Any]]


def to_cents(amount: Decimal) -> int:
    """Return *amount* in hundredths, the precision Order.total_price is stored with."""
    return int((amount * 100).to_integral_value())


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
        amount_cents=to_cents(total_price) if is_priced else 0,
        is_priced=is_priced,
    )


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
    first = ordered[0]

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
                "shop_id": shop_id,
                "customer_key": key,
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

    cohort_month = month_start_of(first.local_date)
    months = [
        {
            "shop_id": shop_id,
            "customer_key": key,
            "month": month,
            "cohort_month": cohort_month,
            "month_offset": months_between(cohort_month, month),
        }
        for month in sorted({month_start_of(day) for day in day_list})
    ]
    customer = {
        "shop_id": shop_id,
        "customer_key": key,
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

    dates_by_product: dict[int, list[date]] = defaultdict(list)
    for fact in ordered:
        for product_id in products_by_order.get(fact.order_id, ()):
            dates_by_product[product_id].append(fact.local_date)
    products = [
        {
            "shop_id": shop_id,
            "customer_key": key,
            "product_id": product_id,
            "orders": len(dates),
            "repurchase_days": (dates[1] - dates[0]).days if len(dates) > 1 else None,
        }
        for product_id, dates in sorted(dates_by_product.items())
    ]
    return DerivedCustomer(customer=customer, days=days, months=months, products=products)


def add_contributions(
    day_totals: dict[date, list[int]],
    week_totals: dict[date, list[int]],
    day_rows: Iterable[dict[str, Any]] | Iterable[RollupCustomerDay],
    *,
    sign: int = 1,
) -> None:
    """Add (or with sign=-1 remove) one customer's day rows to the per-day and per-week totals."""
    for row in day_rows:
        get: Callable[[str], Any] = (
            row.__getitem__ if isinstance(row, dict) else row.__getattribute__
        )
        totals = day_totals[get("local_date")]
        totals[0] += sign * get("orders")
        totals[1] += sign * get("priced_orders")
        totals[2] += sign * get("revenue_cents")
        totals[3] += sign * (1 if get("orders_before") == 0 else 0)
        totals[4] += sign * get("new_revenue_cents")
        next_date = get("next_date")
        if (
            get("orders_before") == 0
            and next_date is not None
            and (next_date - get("local_date")).days <= REPEAT_WINDOW_DAYS
        ):
            totals[5] += sign
        if get("is_first_in_week"):
            week = week_totals[get("week_start")]
            week[0] += sign
            week[1] += sign * (1 if get("is_returning_in_week") else 0)


def add_product_contributions(
    product_totals: dict[int, list[int]],
    gap_totals: dict[tuple[int, int], int],
    product_rows: Iterable[dict[str, Any]] | Iterable[RollupCustomerProduct],
    *,
    sign: int = 1,
) -> None:
    """Add (or remove) one customer's product rows to the per-product buyers and repurchase gaps."""
    for row in product_rows:
        get: Callable[[str], Any] = (
            row.__getitem__ if isinstance(row, dict) else row.__getattribute__
        )
        totals = product_totals[get("product_id")]
        totals[0] += sign
        totals[1] += sign * (1 if get("orders") >= 2 else 0)
        if get("repurchase_days") is not None:
            gap_totals[(get("product_id"), get("repurchase_days"))] += sign


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


def add_active_contributions(
    active_totals: dict[tuple[int, date], int],
    order_days: Iterable[date],
    windows: Iterable[int],
    *,
    sign: int = 1,
) -> None:
    """Add (or remove) one customer's +1 on becoming active and -1 on lapsing, per window N."""
    days = list(order_days)
    for active_days in windows:
        for first, lapse in active_spans(days, active_days):
            active_totals[(active_days, first)] += sign
            if lapse is not None:
                active_totals[(active_days, lapse)] -= sign


def tracked_active_windows(session: Session, *, shop_id: int) -> set[int]:
    """Return the windows N whose activity deltas the shop keeps: the default and any with rows."""
    # Rows for an N exist exactly while the shop has counting orders and the N is kept; once the
    # last order goes, the rows net to zero and vanish, and only a rebuild starts keeping it again.
    return {DEFAULT_ACTIVE_DAYS} | {
        int(n)
        for n in session.scalars(
            select(RollupActiveDay.active_days).where(RollupActiveDay.shop_id == shop_id).distinct()
        )
    }


def _zeros(n: int) -> list[int]:
    return [0] * n


def _shop_context(session: Session, shop_id: int) -> tuple[str, ZoneInfo]:
    shop = session.get(Shop, shop_id)
    if shop is None:
        raise LookupError(f"shop {shop_id} does not exist")
    return shop.currency, ZoneInfo(shop.iana_timezone or "UTC")


def _fact_for(order: Order | None, shop_currency: str, zone: ZoneInfo) -> OrderFact | None:
    if order is None:
        return None
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


def _refund_row(refund: Refund, fact: OrderFact | None, zone: ZoneInfo) -> dict[str, Any] | None:
    # Refunds only count against orders that count and whose money is in the shop currency.
    if fact is None or not fact.is_priced:
        return None
    return {
        "refund_id": refund.id,
        "shop_id": refund.shop_id,
        "order_id": refund.order_id,
        "local_date": local_date(refund.processed_at, zone),
        "amount_cents": to_cents(refund.amount),
    }


def note_order_changed(session: Session, *, shop_id: int, order_id: int) -> None:
    """Bring the aggregates up to date after an order was created, changed or cancelled."""
    shop_currency, zone = _shop_context(session, shop_id)
    order = session.get(Order, order_id)
    if order is not None and order.shop_id != shop_id:
        raise ValueError(f"order {order_id} does not belong to shop {shop_id}")
    session.flush()
    new_fact = _fact_for(order, shop_currency, zone)
    old_row = session.get(RollupOrder, order_id)
    old_fact = _stored_fact(old_row) if old_row is not None else None
    keys = {
        k
        for k in (
            old_row.customer_key if old_row else None,
            new_fact.customer_key if new_fact else None,
        )
        if k
    }
    if old_row is not None:
        session.delete(old_row)
        session.flush()
    if new_fact is not None:
        session.add(_rollup_order(shop_id, new_fact))
        session.flush()

    day_delta: dict[date, list[int]] = defaultdict(lambda: _zeros(len(DAY_FIELDS)))
    week_delta: dict[date, list[int]] = defaultdict(lambda: _zeros(len(WEEK_FIELDS)))
    product_delta: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    gap_delta: dict[tuple[int, int], int] = defaultdict(int)
    active_delta: dict[tuple[int, date], int] = defaultdict(int)
    windows = sorted(tracked_active_windows(session, shop_id=shop_id))
    for key in sorted(keys):
        _rederive_customer(
            session,
            shop_id=shop_id,
            key=key,
            zone=zone,
            shop_currency=shop_currency,
            day_delta=day_delta,
            week_delta=week_delta,
            product_delta=product_delta,
            gap_delta=gap_delta,
            windows=windows,
            active_delta=active_delta,
        )
    refund_delta: dict[date, int] = defaultdict(int)
    for refund in session.scalars(select(Refund).where(Refund.order_id == order_id)).all():
        _reapply_refund(session, refund, new_fact, zone, refund_delta)
    for gone in session.scalars(
        select(RollupRefund).where(
            RollupRefund.order_id == order_id,
            RollupRefund.refund_id.not_in(select(Refund.id).where(Refund.order_id == order_id)),
        )
    ).all():
        refund_delta[gone.local_date] -= gone.amount_cents
        session.delete(gone)
    _apply_deltas(session, shop_id, day_delta, week_delta, refund_delta)
    _apply_product_deltas(session, shop_id, product_delta, gap_delta)
    _apply_active_deltas(session, shop_id, active_delta)
    # Every aggregate is a function of the facts and refunds: unchanged ones change nothing.
    if old_fact != new_fact or any(refund_delta.values()):
        bump_version(session, shop_id=shop_id)


def bump_version(session: Session, *, shop_id: int) -> None:
    """Record that this transaction changes the shop's aggregates (see RollupVersion)."""
    add_to_counter(session, RollupVersion, key={"shop_id": shop_id}, changes={"version": 1})


def current_version(session: Session, *, shop_id: int) -> int:
    """Return the shop's aggregate version: 0 until its aggregates first change."""
    version = session.scalar(select(RollupVersion.version).where(RollupVersion.shop_id == shop_id))
    return int(version or 0)


def _stored_fact(row: RollupOrder) -> OrderFact:
    return OrderFact(
        order_id=row.order_id,
        customer_key=row.customer_key,
        placed_at=row.placed_at,
        local_date=row.local_date,
        amount_cents=row.amount_cents,
        is_priced=row.is_priced,
    )


def note_refund_recorded(session: Session, *, shop_id: int, refund_id: int) -> None:
    """Bring the per-day refund totals up to date after a refund was recorded or changed."""
    shop_currency, zone = _shop_context(session, shop_id)
    session.flush()
    refund = session.get(Refund, refund_id)
    refund_delta: dict[date, int] = defaultdict(int)
    if refund is None:
        old = session.get(RollupRefund, refund_id)
        if old is not None:
            refund_delta[old.local_date] -= old.amount_cents
            session.delete(old)
    else:
        if refund.shop_id != shop_id:
            raise ValueError(f"refund {refund_id} does not belong to shop {shop_id}")
        fact = _fact_for(session.get(Order, refund.order_id), shop_currency, zone)
        _reapply_refund(session, refund, fact, zone, refund_delta)
    _apply_deltas(session, shop_id, {}, {}, refund_delta)
    if any(refund_delta.values()):
        bump_version(session, shop_id=shop_id)


def _reapply_refund(
    session: Session,
    refund: Refund,
    fact: OrderFact | None,
    zone: ZoneInfo,
    refund_delta: dict[date, int],
) -> None:
    old = session.get(RollupRefund, refund.id)
    new = _refund_row(refund, fact, zone)
    if old is not None:
        refund_delta[old.local_date] -= old.amount_cents
        session.delete(old)
        session.flush()
    if new is not None:
        refund_delta[new["local_date"]] += new["amount_cents"]
        session.add(RollupRefund(**new))
        session.flush()


def _rollup_order(shop_id: int, fact: OrderFact) -> RollupOrder:
    return RollupOrder(
        order_id=fact.order_id,
        shop_id=shop_id,
        customer_key=fact.customer_key,
        placed_at=fact.placed_at,
        local_date=fact.local_date,
        amount_cents=fact.amount_cents,
        is_priced=fact.is_priced,
    )


def _rederive_customer(
    session: Session,
    *,
    shop_id: int,
    key: str,
    zone: ZoneInfo,
    shop_currency: str,
    day_delta: dict[date, list[int]],
    week_delta: dict[date, list[int]],
    product_delta: dict[int, list[int]],
    gap_delta: dict[tuple[int, int], int],
    windows: Sequence[int],
    active_delta: dict[tuple[int, date], int],
) -> None:
    # Lock the customer's row so two workers cannot both re-derive the same customer at once.
    locked = session.scalar(
        select(RollupCustomer)
        .where(RollupCustomer.shop_id == shop_id, RollupCustomer.customer_key == key)
        .with_for_update()
    )
    old_days = session.scalars(
        select(RollupCustomerDay).where(
            RollupCustomerDay.shop_id == shop_id, RollupCustomerDay.customer_key == key
        )
    ).all()
    old_products = session.scalars(
        select(RollupCustomerProduct).where(
            RollupCustomerProduct.shop_id == shop_id, RollupCustomerProduct.customer_key == key
        )
    ).all()
    add_contributions(day_delta, week_delta, old_days, sign=-1)
    add_product_contributions(product_delta, gap_delta, old_products, sign=-1)
    add_active_contributions(active_delta, (d.local_date for d in old_days), windows, sign=-1)
    for model in (RollupCustomerDay, RollupCustomerMonth, RollupCustomerProduct, RollupCustomer):
        session.execute(
            delete(model).where(model.shop_id == shop_id, model.customer_key == key),
            execution_options={"synchronize_session": False},
        )
    # The rows just deleted in bulk must not linger in the identity map.
    for stale in (locked, *old_days, *old_products):
        if stale is not None:
            session.expunge(stale)
    rows = session.scalars(
        select(RollupOrder).where(RollupOrder.shop_id == shop_id, RollupOrder.customer_key == key)
    ).all()
    if not rows:
        return
    facts = [_stored_fact(r) for r in rows]
    products: dict[int, set[int]] = defaultdict(set)
    for order_id, product_id in session.execute(
        select(OrderLine.order_id, OrderLine.product_id).where(
            OrderLine.order_id.in_([f.order_id for f in facts]),
            OrderLine.product_id.is_not(None),
        )
    ):
        if product_id is not None:
            products[order_id].add(product_id)
    derived = derive_customer(shop_id=shop_id, key=key, facts=facts, products_by_order=products)
    _insert(session, RollupCustomer, [derived.customer])
    _insert(session, RollupCustomerDay, derived.days)
    _insert(session, RollupCustomerMonth, derived.months)
    _insert(session, RollupCustomerProduct, derived.products)
    add_contributions(day_delta, week_delta, derived.days)
    add_product_contributions(product_delta, gap_delta, derived.products)
    add_active_contributions(active_delta, (d["local_date"] for d in derived.days), windows)


def _insert(session: Session, model: Any, rows: Sequence[dict[str, Any]]) -> None:
    for start in range(0, len(rows), _INSERT_BATCH):
        session.execute(model.__table__.insert(), list(rows[start : start + _INSERT_BATCH]))


def _insert_customer_rows(
    session: Session,
    customers: list[dict[str, Any]],
    days: list[dict[str, Any]],
    months: list[dict[str, Any]],
    products: list[dict[str, Any]],
) -> None:
    """Insert derived rows of many customers at once, then empty the lists to bound memory."""
    for model, rows in (
        (RollupCustomer, customers),
        (RollupCustomerDay, days),
        (RollupCustomerMonth, months),
        (RollupCustomerProduct, products),
    ):
        _insert(session, model, rows)
        rows.clear()


def add_to_counter(
    session: Session,
    model: Any,
    *,
    key: dict[str, Any],
    changes: dict[str, int],
    drop_when_zero: Sequence[str] = (),
) -> None:
    """Add *changes* to the counter row of *model* at *key*, creating it at zero if missing.

    Increments happen in the database (x = x + d), so concurrent workers never lose an update.
    The row is deleted once every column in *drop_when_zero* is 0, as a rebuild would not write it.
    """
    added = {name: change for name, change in changes.items() if change}
    if not added:
        return
    session.execute(
        conflict_insert(session, model)
        .values(**key, **dict.fromkeys(changes, 0))
        .on_conflict_do_nothing()
    )
    columns = model.__table__.c
    where = [columns[name] == value for name, value in key.items()]
    session.execute(
        update(model)
        .where(*where)
        .values({columns[name]: columns[name] + change for name, change in added.items()}),
        execution_options={"synchronize_session": False},
    )
    if drop_when_zero:
        session.execute(
            delete(model).where(*where, *(columns[name] == 0 for name in drop_when_zero)),
            execution_options={"synchronize_session": False},
        )


def _apply_deltas(
    session: Session,
    shop_id: int,
    day_delta: dict[date, list[int]],
    week_delta: dict[date, list[int]],
    refund_delta: dict[date, int],
) -> None:
    for day in sorted(set(day_delta) | set(refund_delta)):
        changes = dict(zip(DAY_FIELDS, day_delta.get(day, _zeros(len(DAY_FIELDS))), strict=True))
        changes["refunds_cents"] = refund_delta.get(day, 0)
        add_to_counter(
            session,
            RollupDay,
            key={"shop_id": shop_id, "local_date": day},
            changes=changes,
            drop_when_zero=("orders", "refunds_cents"),
        )
    for week in sorted(week_delta):
        add_to_counter(
            session,
            RollupWeek,
            key={"shop_id": shop_id, "week_start": week},
            changes=dict(zip(WEEK_FIELDS, week_delta[week], strict=True)),
            drop_when_zero=("customers",),
        )


def _apply_product_deltas(
    session: Session,
    shop_id: int,
    product_delta: dict[int, list[int]],
    gap_delta: dict[tuple[int, int], int],
) -> None:
    for product_id in sorted(product_delta):
        buyers, repurchasers = product_delta[product_id]
        add_to_counter(
            session,
            RollupProduct,
            key={"shop_id": shop_id, "product_id": product_id},
            changes={"buyers": buyers, "repurchasers": repurchasers},
            drop_when_zero=("buyers",),
        )
    for (product_id, gap_days), change in sorted(gap_delta.items()):
        add_to_counter(
            session,
            RollupProductGap,
            key={"shop_id": shop_id, "product_id": product_id, "gap_days": gap_days},
            changes={"customers": change},
            drop_when_zero=("customers",),
        )


def _apply_active_deltas(
    session: Session, shop_id: int, active_delta: dict[tuple[int, date], int]
) -> None:
    for (active_days, day), change in sorted(active_delta.items()):
        add_to_counter(
            session,
            RollupActiveDay,
            key={"shop_id": shop_id, "active_days": active_days, "local_date": day},
            changes={"delta": change},
            drop_when_zero=("delta",),
        )


ROLLUP_MODELS = (
    RollupCustomerDay,
    RollupCustomerMonth,
    RollupCustomerProduct,
    RollupCustomer,
    RollupDay,
    RollupWeek,
    RollupProduct,
    RollupProductGap,
    RollupRefund,
    RollupOrder,
    RollupActiveDay,
)


def rebuild_rollups(
    session: Session,
    *,
    shop_id: int,
    now: datetime,
    active_days: Collection[int] | None = None,
) -> int:
    """Recompute every aggregate of one shop from its orders; return the orders counted.

    active_days names the windows N whose activity deltas to keep besides the default; None
    keeps the ones the shop keeps now.
    """
    shop_currency, zone = _shop_context(session, shop_id)
    session.flush()
    if active_days is None:
        windows = sorted(tracked_active_windows(session, shop_id=shop_id))
    else:
        windows = sorted({DEFAULT_ACTIVE_DAYS, *active_days})
    for model in ROLLUP_MODELS:
        session.execute(
            delete(model).where(model.shop_id == shop_id),
            execution_options={"synchronize_session": False},
        )
    session.expire_all()

    facts: list[OrderFact] = []
    priced: dict[int, bool] = {}
    result = session.execute(
        select(
            Order.id,
            Order.customer_id,
            Order.email,
            Order.processed_at,
            Order.total_price,
            Order.currency,
            Order.is_test,
            Order.cancelled_at,
        ).where(Order.shop_id == shop_id)
    )
    for row in result:
        fact = order_fact(
            order_id=row[0],
            customer_id=row[1],
            email=row[2],
            processed_at=row[3],
            total_price=row[4],
            currency=row[5],
            is_test=row[6],
            cancelled_at=row[7],
            shop_currency=shop_currency,
            zone=zone,
        )
        if fact is not None:
            facts.append(fact)
            priced[fact.order_id] = fact.is_priced

    products: dict[int, set[int]] = defaultdict(set)
    for order_id, product_id in session.execute(
        select(OrderLine.order_id, OrderLine.product_id).where(
            OrderLine.shop_id == shop_id, OrderLine.product_id.is_not(None)
        )
    ):
        if order_id in priced and product_id is not None:
            products[order_id].add(product_id)

    by_customer: dict[str, list[OrderFact]] = defaultdict(list)
    for fact in facts:
        by_customer[fact.customer_key].append(fact)

    day_totals: dict[date, list[int]] = defaultdict(lambda: _zeros(len(DAY_FIELDS)))
    week_totals: dict[date, list[int]] = defaultdict(lambda: _zeros(len(WEEK_FIELDS)))
    product_totals: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    gap_totals: dict[tuple[int, int], int] = defaultdict(int)
    active_totals: dict[tuple[int, date], int] = defaultdict(int)
    customers: list[dict[str, Any]] = []
    days: list[dict[str, Any]] = []
    months: list[dict[str, Any]] = []
    product_rows: list[dict[str, Any]] = []
    customer_count = 0
    for key, customer_facts in by_customer.items():
        derived = derive_customer(
            shop_id=shop_id, key=key, facts=customer_facts, products_by_order=products
        )
        customers.append(derived.customer)
        days.extend(derived.days)
        months.extend(derived.months)
        product_rows.extend(derived.products)
        add_contributions(day_totals, week_totals, derived.days)
        add_product_contributions(product_totals, gap_totals, derived.products)
        add_active_contributions(active_totals, (d["local_date"] for d in derived.days), windows)
        customer_count += 1
        if len(days) >= _INSERT_BATCH * 10:
            _insert_customer_rows(session, customers, days, months, product_rows)
    _insert_customer_rows(session, customers, days, months, product_rows)

    refunds: list[dict[str, Any]] = []
    refund_totals: dict[date, int] = defaultdict(int)
    for refund_id, order_id, processed_at, amount in session.execute(
        select(Refund.id, Refund.order_id, Refund.processed_at, Refund.amount).where(
            Refund.shop_id == shop_id
        )
    ):
        if not priced.get(order_id, False):
            continue
        day = local_date(processed_at, zone)
        cents = to_cents(amount)
        refunds.append(
            {
                "refund_id": refund_id,
                "shop_id": shop_id,
                "order_id": order_id,
                "local_date": day,
                "amount_cents": cents,
            }
        )
        refund_totals[day] += cents

    day_rows = []
    for day in sorted(set(day_totals) | set(refund_totals)):
        values = dict(zip(DAY_FIELDS, day_totals.get(day, _zeros(len(DAY_FIELDS))), strict=True))
        day_rows.append(
            {"shop_id": shop_id, "local_date": day, **values, "refunds_cents": refund_totals[day]}
        )
    week_rows = [
        {"shop_id": shop_id, "week_start": week, **dict(zip(WEEK_FIELDS, totals, strict=True))}
        for week, totals in sorted(week_totals.items())
        if totals[0]
    ]
    for start in range(0, len(facts), _INSERT_BATCH):
        _insert(
            session,
            RollupOrder,
            [
                {
                    "order_id": f.order_id,
                    "shop_id": shop_id,
                    "customer_key": f.customer_key,
                    "placed_at": f.placed_at,
                    "local_date": f.local_date,
                    "amount_cents": f.amount_cents,
                    "is_priced": f.is_priced,
                }
                for f in facts[start : start + _INSERT_BATCH]
            ],
        )
    _insert(session, RollupRefund, refunds)
    _insert(session, RollupDay, day_rows)
    _insert(session, RollupWeek, week_rows)
    _insert(
        session,
        RollupProduct,
        [
            {"shop_id": shop_id, "product_id": p, "buyers": t[0], "repurchasers": t[1]}
            for p, t in sorted(product_totals.items())
            if t[0]
        ],
    )
    _insert(
        session,
        RollupProductGap,
        [
            {"shop_id": shop_id, "product_id": p, "gap_days": g, "customers": n}
            for (p, g), n in sorted(gap_totals.items())
            if n
        ],
    )
    _insert(
        session,
        RollupActiveDay,
        [
            {"shop_id": shop_id, "active_days": n, "local_date": d, "delta": change}
            for (n, d), change in sorted(active_totals.items())
            if change
        ],
    )
    bump_version(session, shop_id=shop_id)
    logger.info(
        "Rebuilt KPI rollups from %d orders and %d customers",
        len(facts),
        customer_count,
        extra={"shop_id": shop_id, "at": now.isoformat()},
    )
    return len(facts)
