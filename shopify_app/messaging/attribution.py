"""Credit orders to lifecycle messages, and compare treated buyers with the control group.

An order by a recipient within the attribution window after a message is credited to the latest
message they got (sent, or held out: "would have been sent"). For abandoned checkouts the message
about the very checkout the order came from counts first. Holdout members' orders are credited the
same way, so conversion and revenue per 1,000 eligible can be compared, treated vs control.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import ColumnElement
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy.orm import Session

from shopify_app.messaging.flow_settings import load_messaging_rules
from shopify_app.models import Message
from shopify_app.models import MessageAttribution
from shopify_app.models import MessageStatus
from shopify_app.models import Order
from shopify_app.money import to_cents

ORDER_LOOKBACK = timedelta(days=7)
"""Orders are credited shortly after they arrive; this covers a scheduler that was down."""
REACHED_STATUSES = (MessageStatus.SENT, MessageStatus.HELD_OUT)
DECIDED_STATUSES = (
    MessageStatus.SENT,
    MessageStatus.HELD_OUT,
    MessageStatus.FAILED,
    MessageStatus.NEEDS_REVIEW,
    MessageStatus.CLAIMED,
)
Z_95 = 1.959964


def attribute_orders(session: Session, *, shop_id: int, now: datetime) -> int:
    """Credit the shop's recent, not yet credited orders to messages; return how many."""
    window = timedelta(days=load_messaging_rules(session, shop_id=shop_id).attribution_window_days)
    credited = select(MessageAttribution.order_id).where(MessageAttribution.shop_id == shop_id)
    orders = session.scalars(
        select(Order).where(
            Order.shop_id == shop_id,
            Order.processed_at >= now - ORDER_LOOKBACK,
            Order.processed_at <= now,
            Order.is_test.is_(False),
            Order.id.not_in(credited),
        )
    )
    count = 0
    for order in orders:
        found = _recovered_checkout_message(session, order, window)
        method = "recovered_checkout"
        if found is None:
            found = _latest_message(session, order, window)
            method = "window"
        if found is None:
            continue
        session.add(
            MessageAttribution(
                shop_id=shop_id,
                order_id=order.id,
                message_id=found.id,
                flow=found.flow,
                step=found.step,
                is_holdout=found.status == MessageStatus.HELD_OUT,
                method=method,
                revenue=order.total_price,
                order_processed_at=order.processed_at,
                created_at=now,
            )
        )
        count += 1
    session.flush()
    return count


def _recovered_checkout_message(
    session: Session, order: Order, window: timedelta
) -> Message | None:
    if not order.checkout_token:
        return None
    return _latest_reached(session, order, window, Message.checkout_token == order.checkout_token)


def _latest_message(session: Session, order: Order, window: timedelta) -> Message | None:
    buyers = []
    if order.customer_id is not None:
        buyers.append(Message.customer_id == order.customer_id)
    if order.email:
        buyers.append(Message.email.in_({order.email, order.email.strip().lower()}))
    if not buyers:
        return None
    return _latest_reached(session, order, window, or_(*buyers))


def _latest_reached(
    session: Session, order: Order, window: timedelta, which: ColumnElement[bool]
) -> Message | None:
    """Return the latest message matching *which* that reached the buyer in the window."""
    return session.scalar(
        select(Message)
        .where(
            Message.shop_id == order.shop_id,
            which,
            Message.status.in_(REACHED_STATUSES),
            Message.sent_at <= order.processed_at,
            Message.sent_at >= order.processed_at - window,
        )
        .order_by(Message.sent_at.desc(), Message.id.desc())
        .limit(1)
    )


@dataclass
class GroupResult:
    eligible: int = 0
    converted: int = 0
    revenue: Decimal = Decimal("0")
    conversion_rate: float | None = None
    revenue_per_1000: Decimal | None = None


@dataclass
class FlowStepResult:
    flow: str
    step: int
    planned: int = 0
    eligible: int = 0
    sent: int = 0
    held_out: int = 0
    failed: int = 0
    suppressed: dict[str, int] = field(default_factory=dict)
    cancelled: dict[str, int] = field(default_factory=dict)
    converted: int = 0
    attributed_revenue: Decimal = Decimal("0")
    treated: GroupResult = field(default_factory=GroupResult)
    control: GroupResult = field(default_factory=GroupResult)
    conversion_lift: float | None = None
    conversion_lift_ci95: tuple[float, float] | None = None
    revenue_per_1000_lift: Decimal | None = None
    revenue_per_1000_lift_ci95: tuple[Decimal, Decimal] | None = None
    incremental_revenue: Decimal | None = None
    incremental_revenue_ci95: tuple[Decimal, Decimal] | None = None


def load_flow_results(
    session: Session, *, shop_id: int, period_start: datetime, period_end: datetime
) -> list[FlowStepResult]:
    """Return per flow and step what was planned in the period and what it earned.

    "Eligible" counts messages that passed the exit checks and consent (sent, held out, failed or
    awaiting review): the population on which treated and control are compared.
    """
    rows = session.execute(
        select(Message.id, Message.flow, Message.step, Message.status, Message.status_reason).where(
            Message.shop_id == shop_id,
            Message.created_at >= period_start,
            Message.created_at < period_end,
        )
    ).all()
    revenue_by_message: dict[int, Decimal] = defaultdict(Decimal)
    message_ids = [row.id for row in rows]
    for chunk_start in range(0, len(message_ids), 500):
        chunk = message_ids[chunk_start : chunk_start + 500]
        for message_id, revenue in session.execute(
            select(MessageAttribution.message_id, MessageAttribution.revenue).where(
                MessageAttribution.message_id.in_(chunk)
            )
        ):
            revenue_by_message[message_id] += revenue
    results: dict[tuple[str, int], FlowStepResult] = {}
    values: dict[tuple[str, int, bool], list[Decimal]] = defaultdict(list)
    for row in rows:
        key = (row.flow, row.step)
        result = results.setdefault(key, FlowStepResult(flow=row.flow, step=row.step))
        result.planned += 1
        status = row.status
        if status == MessageStatus.SUPPRESSED:
            reason = row.status_reason or "unknown"
            result.suppressed[reason] = result.suppressed.get(reason, 0) + 1
        elif status == MessageStatus.CANCELLED:
            reason = row.status_reason or "unknown"
            result.cancelled[reason] = result.cancelled.get(reason, 0) + 1
        if status not in DECIDED_STATUSES:
            continue
        result.eligible += 1
        is_control = status == MessageStatus.HELD_OUT
        result.sent += status == MessageStatus.SENT
        result.held_out += is_control
        result.failed += status == MessageStatus.FAILED
        credited = revenue_by_message.get(row.id)
        values[(row.flow, row.step, is_control)].append(credited or Decimal("0"))
        group = result.control if is_control else result.treated
        group.eligible += 1
        if credited is not None:
            group.converted += 1
            group.revenue += credited
    for (flow, step), result in results.items():
        result.converted = result.treated.converted
        result.attributed_revenue = result.treated.revenue
        _compare(result, values[(flow, step, False)], values[(flow, step, True)])
    return sorted(results.values(), key=lambda r: (r.flow, r.step))


def _compare(result: FlowStepResult, treated: list[Decimal], control: list[Decimal]) -> None:
    for group in (result.treated, result.control):
        if group.eligible:
            group.conversion_rate = group.converted / group.eligible
            group.revenue_per_1000 = to_cents(group.revenue * 1000 / group.eligible)
    if not treated or not control:
        return
    n_t, n_c = len(treated), len(control)
    p_t = result.treated.converted / n_t
    p_c = result.control.converted / n_c
    lift = p_t - p_c
    se = math.sqrt(p_t * (1 - p_t) / n_t + p_c * (1 - p_c) / n_c)
    result.conversion_lift = lift
    result.conversion_lift_ci95 = (lift - Z_95 * se, lift + Z_95 * se)
    mean_t, var_t = _mean_var(treated)
    mean_c, var_c = _mean_var(control)
    diff = mean_t - mean_c
    se_rev = math.sqrt(var_t / n_t + var_c / n_c)
    result.revenue_per_1000_lift = to_cents(diff * 1000)
    result.revenue_per_1000_lift_ci95 = (
        to_cents((diff - Z_95 * se_rev) * 1000),
        to_cents((diff + Z_95 * se_rev) * 1000),
    )
    result.incremental_revenue = to_cents(diff * n_t)
    result.incremental_revenue_ci95 = (
        to_cents((diff - Z_95 * se_rev) * n_t),
        to_cents((diff + Z_95 * se_rev) * n_t),
    )


def _mean_var(values: list[Decimal]) -> tuple[float, float]:
    numbers = [float(v) for v in values]
    mean = sum(numbers) / len(numbers)
    if len(numbers) < 2:
        return mean, 0.0
    variance = sum((x - mean) ** 2 for x in numbers) / (len(numbers) - 1)
    return mean, variance
