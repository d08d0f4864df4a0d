"""Replenishment reminders: remind a buyer shortly before a consumable they bought runs out.

The interval per unit of a product (or variant) is the merchant's value when set, otherwise the
median number of days between consecutive purchases of that product by the same customer, learned
nightly from the shop's history and used only with enough repeat pairs. Run-out is the order date
plus the interval times the quantity bought; the reminder goes N days (default 5) before it and is
cancelled when the customer reorders the product first.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable
from collections.abc import Iterator
from datetime import datetime
from datetime import timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import delete
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy.orm import Session

from shopify_app.messaging import outbox as messaging
from shopify_app.messaging.flow_params import REPLENISHMENT
from shopify_app.messaging.flow_settings import load_flow_config
from shopify_app.messaging.outbox import FlowDefinition
from shopify_app.messaging.outbox import PlannedMessage
from shopify_app.models import Customer
from shopify_app.models import Message
from shopify_app.models import Order
from shopify_app.models import OrderLine
from shopify_app.models import ReplenishmentInterval
from shopify_app.models import Shop

NAME = REPLENISHMENT
PLANNING_LOOKBACK = timedelta(days=3)
"""Orders are planned for when they arrive; this covers a scheduler that was down for a while."""
MIN_LEAD = timedelta(days=1)
"""Never remind sooner than this after the order itself."""


def _merchant_interval(
    params: dict[str, Any], product_id: int, variant_id: int | None
) -> float | None:
    intervals: dict[str, float] = params.get("intervals") or {}
    if variant_id is not None and f"{product_id}:{variant_id}" in intervals:
        return float(intervals[f"{product_id}:{variant_id}"])
    if str(product_id) in intervals:
        return float(intervals[str(product_id)])
    return None


def interval_days(
    session: Session,
    *,
    shop_id: int,
    params: dict[str, Any],
    product_id: int,
    variant_id: int | None,
) -> float | None:
    """Return the days one unit lasts: the merchant's value, else a learned one, else None."""
    merchant = _merchant_interval(params, product_id, variant_id)
    if merchant is not None:
        return merchant
    if not params.get("use_learned_intervals", True):
        return None
    rows = {
        row.variant_id: row
        for row in session.scalars(
            select(ReplenishmentInterval).where(
                ReplenishmentInterval.shop_id == shop_id,
                ReplenishmentInterval.product_id == product_id,
                ReplenishmentInterval.variant_id.in_({0, variant_id or 0}),
            )
        )
    }
    minimum = int(params["min_repeat_pairs"])
    for key in (variant_id or 0, 0):
        row = rows.get(key)
        if row is not None and row.repeat_pairs >= minimum:
            return float(row.days_per_unit)
    return None


def learn_intervals(session: Session, *, shop_id: int, now: datetime) -> int:
    """Recompute the median days per unit between repeat purchases; return products learned.

    Scans the shop's order lines once (a nightly job, not the planner).
    """
    config = load_flow_config(session, shop_id=shop_id, flow=NAME)
    minimum = int(config.params["min_repeat_pairs"])
    rows = session.execute(
        select(
            Order.customer_id,
            OrderLine.product_id,
            OrderLine.variant_id,
            Order.processed_at,
            OrderLine.quantity,
            OrderLine.refunded_quantity,
        )
        .join(Order, Order.id == OrderLine.order_id)
        .where(
            OrderLine.shop_id == shop_id,
            OrderLine.product_id.is_not(None),
            Order.customer_id.is_not(None),
            Order.cancelled_at.is_(None),
            Order.is_test.is_(False),
        )
        .order_by(Order.customer_id, OrderLine.product_id, Order.processed_at)
    )
    entries = _repeat_gaps(rows)
    session.execute(delete(ReplenishmentInterval).where(ReplenishmentInterval.shop_id == shop_id))
    learned = 0
    for (product_id, variant_id), gaps in entries:
        if len(gaps) < minimum:
            continue
        session.add(
            ReplenishmentInterval(
                shop_id=shop_id,
                product_id=product_id,
                variant_id=variant_id,
                days_per_unit=Decimal(str(round(statistics.median(gaps), 2))),
                repeat_pairs=len(gaps),
                computed_at=now,
            )
        )
        learned += 1
    session.flush()
    return learned


def _repeat_gaps(rows: Iterable[Any]) -> list[tuple[tuple[int, int], list[float]]]:
    """Return the days per unit between a customer's purchases, by (product, variant or 0).

    *rows* are (customer, product, variant, processed_at, quantity, refunded), ordered by customer,
    product and time.
    """
    product_gaps: dict[int, list[float]] = defaultdict(list)
    variant_gaps: dict[tuple[int, int], list[float]] = defaultdict(list)
    previous: dict[tuple[int, int], tuple[datetime, int]] = {}
    previous_variant: dict[tuple[int, int, int], tuple[datetime, int]] = {}
    for customer_id, product_id, variant_id, processed_at, quantity, refunded in rows:
        units = max(int(quantity) - int(refunded or 0), 0)
        if units == 0 or customer_id is None or product_id is None:
            continue
        key = (customer_id, product_id)
        if key in previous:
            gap = _gap_per_unit(previous[key], processed_at)
            if gap is not None:
                product_gaps[product_id].append(gap)
        previous[key] = (processed_at, units)
        if variant_id is not None:
            vkey = (customer_id, product_id, variant_id)
            if vkey in previous_variant:
                gap = _gap_per_unit(previous_variant[vkey], processed_at)
                if gap is not None:
                    variant_gaps[(product_id, variant_id)].append(gap)
            previous_variant[vkey] = (processed_at, units)
    entries = [((product_id, 0), gaps) for product_id, gaps in product_gaps.items()]
    return entries + list(variant_gaps.items())


def _gap_per_unit(previous: tuple[datetime, int], processed_at: datetime) -> float | None:
    earlier, units = previous
    days = (processed_at - earlier).total_seconds() / 86400
    # Same-day repeats are split orders, not replenishment.
    return days / units if days >= 1 else None


def plan(session: Session, *, shop_id: int, now: datetime) -> int:
    """Plan a reminder for each replenishable line of the recent orders; return how many."""
    config = load_flow_config(session, shop_id=shop_id, flow=NAME)
    if not config.enabled:
        return 0
    shop = session.get(Shop, shop_id)
    if shop is None:
        return 0
    lead = timedelta(days=int(config.params["reminder_days_before"]))
    orders = session.scalars(
        select(Order)
        .where(
            Order.shop_id == shop_id,
            Order.processed_at >= now - PLANNING_LOOKBACK,
            Order.processed_at <= now,
            Order.cancelled_at.is_(None),
            Order.is_test.is_(False),
        )
        .order_by(Order.processed_at)
    )
    reminders = (
        reminder
        for order in orders
        for reminder in _reminders(
            session, order, shop=shop, params=config.params, lead=lead, now=now
        )
    )
    return messaging.plan_messages(
        session,
        shop_id=shop_id,
        messages=reminders,
        holdout_share=float(config.params["holdout_share"]),
        now=now,
        noun="replenishment reminders",
    )


def _reminders(
    session: Session,
    order: Order,
    *,
    shop: Shop,
    params: dict[str, Any],
    lead: timedelta,
    now: datetime,
) -> Iterator[PlannedMessage]:
    """Yield a reminder for each line of *order* whose interval is known.

    A reorder supersedes the reminder of the earlier purchase of the same product.
    """
    customer = session.get(Customer, order.customer_id) if order.customer_id else None
    email = messaging.normalize_email(
        customer.email if customer and customer.email else order.email
    )
    if email is None:
        return
    buyer = messaging.buyer_key(order.customer_id, email)
    for line in order.lines:
        units = line.quantity - (line.refunded_quantity or 0)
        if line.product_id is None or units <= 0:
            continue
        days = interval_days(
            session,
            shop_id=order.shop_id,
            params=params,
            product_id=line.product_id,
            variant_id=line.variant_id,
        )
        if days is None:
            continue
        series = f"{buyer}:p{line.product_id}"
        messaging.cancel_pending(
            session,
            shop_id=order.shop_id,
            reason="reordered",
            now=now,
            where=(Message.flow == NAME)
            & (Message.series_key == series)
            & (Message.order_id != order.id),
        )
        yield _reminder(
            order,
            line,
            customer,
            shop=shop,
            email=email,
            series=series,
            units=units,
            days=days,
            lead=lead,
        )


def _reminder(
    order: Order,
    line: OrderLine,
    customer: Customer | None,
    *,
    shop: Shop,
    email: str,
    series: str,
    units: int,
    days: float,
    lead: timedelta,
) -> PlannedMessage:
    """Return the reminder for *units* of *line*, lasting *days* each, due *lead* before."""
    runs_out = order.processed_at + timedelta(days=days * units)
    return PlannedMessage(
        flow=FLOW,
        step=1,
        dedupe_key=f"{NAME}:{order.id}:{line.product_id}:{line.variant_id or 0}",
        due_at=max(runs_out - lead, order.processed_at + MIN_LEAD),
        email=email,
        customer_id=order.customer_id,
        series_key=series,
        order_id=order.id,
        context={
            "product": {
                "id": line.product_id,
                "variant_id": line.variant_id,
                "title": line.title or "your product",
                "variant_title": line.variant_title,
            },
            "quantity": units,
            "ordered_at": order.processed_at.isoformat(),
            "runs_out_at": runs_out.isoformat(),
            "days_left": max(int(lead.days), 0),
            "reorder_url": _reorder_url(shop, line.variant_id, units, line.title),
            "recipient": {"first_name": customer.first_name if customer else None},
        },
    )


def _reorder_url(shop: Shop, variant_id: int | None, units: int, title: str | None) -> str:
    if variant_id is not None:  # a cart permalink: the cart opens prefilled
        return f"https://{shop.domain}/cart/{variant_id}:{units}"
    return f"https://{shop.domain}/search?{urlencode({'q': title or ''})}"


def exit_reason(session: Session, message: Message, now: datetime) -> str | None:
    """Cancel when the original order was cancelled or refunded, or the buyer reordered."""
    order = session.get(Order, message.order_id) if message.order_id else None
    if order is None:
        return "order_gone"
    if order.cancelled_at is not None:
        return "order_cancelled"
    product_id = (message.context or {}).get("product", {}).get("id")
    line = next((li for li in order.lines if li.product_id == product_id), None)
    if line is None or line.refunded_quantity >= line.quantity:
        return "refunded"
    buyers = []
    if order.customer_id is not None:
        buyers.append(Order.customer_id == order.customer_id)
    if message.email:
        buyers.append(Order.email.in_({message.email, order.email or message.email}))
    reordered = session.scalar(
        select(Order.id)
        .join(OrderLine, OrderLine.order_id == Order.id)
        .where(
            Order.shop_id == message.shop_id,
            or_(*buyers),
            Order.processed_at > order.processed_at,
            Order.id != order.id,
            Order.cancelled_at.is_(None),
            OrderLine.product_id == product_id,
        )
        .limit(1)
    )
    return "reordered" if reordered else None


def sample_context(shop: Shop | None) -> dict[str, Any]:
    """Return made-up data to preview the template with (titles show that markup is escaped)."""
    return {
        "product": {
            "id": 1,
            "variant_id": 11,
            "title": "Tea & Honey <Gift Box>",
            "variant_title": "Large",
        },
        "quantity": 2,
        "ordered_at": "2026-03-01T10:00:00+00:00",
        "runs_out_at": "2026-04-01T10:00:00+00:00",
        "days_left": 5,
        "reorder_url": "https://example.myshopify.com/cart/11:2",
    }


FLOW = FlowDefinition(
    name=NAME,
    priority=20,
    is_marketing=True,
    template="replenishment",
    plan=plan,
    exit_reason=exit_reason,
    sample_context=sample_context,
)
