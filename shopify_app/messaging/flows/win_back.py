"""Win-back: write to customers whose next order is overdue, at most once per 90 days each.

A customer's expected next order date comes from the shop's fitted purchase model
(`predictions`, `CustomerPrediction.expected_next_order_date`). When the model has not been
fitted to the shop (too few repeat buyers: it runs on the documented prior) or gives a customer
no date, the expected date is the last order day plus the shop's median gap between order days
(from the KPI rollups) times a factor (default 1.5). The email is planned once that date has
passed by a margin (default 14 days); customers overdue for more than a year are left alone.
One attempt per customer per `resend_after_days` (default 90) counts every planned message,
sent or not. It is a marketing email: the sender suppresses it without email marketing consent.
A new order cancels a pending win-back.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from typing import Any

from sqlalchemy import exists
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.orm import Session

from shopify_app.messaging import outbox as messaging
from shopify_app.messaging.flow_params import WIN_BACK
from shopify_app.messaging.flow_settings import load_flow_config
from shopify_app.messaging.outbox import FlowDefinition
from shopify_app.messaging.outbox import PlannedMessage
from shopify_app.messaging.rules import shop_zone
from shopify_app.models import Customer
from shopify_app.models import CustomerPrediction
from shopify_app.models import Message
from shopify_app.models import Order
from shopify_app.models import PredictionModelFit
from shopify_app.models import RollupCustomerDay
from shopify_app.models import Shop
from shopify_app.predictions import ModelStatus

NAME = WIN_BACK
MAX_OVERDUE = timedelta(days=365)
"""Customers overdue longer than this are not written to (stale addresses hurt deliverability)."""
GAP_LOOKBACK_DAYS = 365
"""The median gap is taken over the repeat orders of the last year."""


def median_gap_days(session: Session, *, shop_id: int, today: date) -> float | None:
    """Return the median days between a customer's order days over the last year, or None."""
    histogram = session.execute(
        select(RollupCustomerDay.gap_days, func.count())
        .where(
            RollupCustomerDay.shop_id == shop_id,
            RollupCustomerDay.local_date > today - timedelta(days=GAP_LOOKBACK_DAYS),
            RollupCustomerDay.gap_days.is_not(None),
        )
        .group_by(RollupCustomerDay.gap_days)
        .order_by(RollupCustomerDay.gap_days)
    ).all()
    total = sum(int(count) for _, count in histogram)
    if not total:
        return None
    wanted = sorted({(total - 1) // 2, total // 2})
    picked: list[int] = []
    seen = 0
    for gap, count in histogram:
        picked.extend(int(gap or 0) for index in wanted if seen <= index < seen + int(count))
        seen += int(count)
    return sum(picked) / len(picked)


def _model_is_fitted(session: Session, shop_id: int) -> bool:
    status = session.scalar(
        select(PredictionModelFit.status).where(PredictionModelFit.shop_id == shop_id)
    )
    return status == ModelStatus.FITTED.value


def overdue_customers(
    session: Session, *, shop_id: int, margin: timedelta, factor: float, now: datetime
) -> dict[int, tuple[date, datetime]]:
    """Return {customer id: (expected next order date, last order time)} of overdue customers."""
    shop = session.get(Shop, shop_id)
    if shop is None:
        return {}
    zone = shop_zone(shop.iana_timezone)
    today = now.astimezone(zone).date()
    latest_due = today - timedelta(days=margin.days)
    fitted = _model_is_fitted(session, shop_id)
    overdue = _overdue_by_model(session, shop_id=shop_id, latest_due=latest_due) if fitted else {}
    gap = median_gap_days(session, shop_id=shop_id, today=today)
    if gap is None or gap <= 0:
        return overdue
    expected_after = timedelta(days=math.ceil(gap * factor))
    # Midnight after the last allowed local day: a last order before it makes a customer due.
    cutoff = datetime.combine(latest_due - expected_after + timedelta(days=1), time(0), zone)
    for candidate, last_order_at in _last_orders_before(
        session, shop_id=shop_id, cutoff=cutoff, skip_dated=fitted, now=now
    ):
        if candidate is None or candidate in overdue:
            continue
        last_day = last_order_at.astimezone(zone).date()
        overdue[candidate] = (last_day + expected_after, last_order_at)
    return overdue


def _overdue_by_model(
    session: Session, *, shop_id: int, latest_due: date
) -> dict[int, tuple[date, datetime]]:
    """Return the customers the fitted model expected back by *latest_due* (within a year)."""
    rows = session.execute(
        select(
            CustomerPrediction.customer_id,
            CustomerPrediction.expected_next_order_date,
            CustomerPrediction.last_order_at,
        ).where(
            CustomerPrediction.shop_id == shop_id,
            CustomerPrediction.expected_next_order_date > latest_due - MAX_OVERDUE,
            CustomerPrediction.expected_next_order_date <= latest_due,
        )
    )
    return {
        customer_id: (expected, last_order_at)
        for customer_id, expected, last_order_at in rows
        if expected is not None
    }


def _last_orders_before(
    session: Session, *, shop_id: int, cutoff: datetime, skip_dated: bool, now: datetime
) -> list[tuple[int | None, datetime]]:
    """Return (customer, last order time) of the customers whose latest order is before *cutoff*.

    With *skip_dated*, customers the model gives a date are left out: the model times them.
    """
    # Only orders since the oldest last order still of interest are read: a customer whose
    # latest order is older has none of them and is left out, as wanted.
    statement = (
        select(Order.customer_id, func.max(Order.processed_at))
        .where(
            Order.shop_id == shop_id,
            Order.customer_id.is_not(None),
            Order.cancelled_at.is_(None),
            Order.is_test.is_(False),
            Order.processed_at >= cutoff - MAX_OVERDUE,
            Order.processed_at <= now,
        )
        .group_by(Order.customer_id)
        .having(func.max(Order.processed_at) < cutoff)
    )
    if skip_dated:
        statement = statement.where(
            ~exists().where(
                CustomerPrediction.shop_id == shop_id,
                CustomerPrediction.customer_id == Order.customer_id,
                CustomerPrediction.expected_next_order_date.is_not(None),
            )
        )
    return [
        (customer_id, last_order_at) for customer_id, last_order_at in session.execute(statement)
    ]


def plan(session: Session, *, shop_id: int, now: datetime) -> int:
    """Plan a win-back email for each overdue customer not written to lately; return how many."""
    config = load_flow_config(session, shop_id=shop_id, flow=NAME)
    shop = session.get(Shop, shop_id)
    if not config.enabled or shop is None:
        return 0
    params = config.params
    overdue = overdue_customers(
        session,
        shop_id=shop_id,
        margin=timedelta(days=int(params["margin_days"])),
        factor=float(params["median_gap_factor"]),
        now=now,
    )
    if not overdue:
        return 0
    return messaging.plan_messages(
        session,
        shop_id=shop_id,
        messages=_win_backs(
            session,
            shop,
            overdue,
            resend_after=timedelta(days=int(params["resend_after_days"])),
            now=now,
        ),
        holdout_share=float(params["holdout_share"]),
        now=now,
        noun="win-back emails",
    )


def _win_backs(
    session: Session,
    shop: Shop,
    overdue: dict[int, tuple[date, datetime]],
    *,
    resend_after: timedelta,
    now: datetime,
) -> Iterator[PlannedMessage]:
    """Yield an email for each overdue customer not written to within *resend_after*."""
    recent = set(
        session.scalars(
            select(Message.customer_id).where(
                Message.shop_id == shop.id,
                Message.flow == NAME,
                Message.customer_id.in_(overdue),
                Message.created_at > now - resend_after,
            )
        )
    )
    bucket = (now.date() - date(1970, 1, 1)).days // resend_after.days
    for customer_id, (expected, last_order_at) in sorted(overdue.items()):
        if customer_id in recent:
            continue
        customer = session.get(Customer, customer_id)
        email = messaging.normalize_email(customer.email) if customer is not None else None
        if customer is None or email is None or customer.redacted_at is not None:
            continue
        if _ordered_since(session, shop.id, customer_id, last_order_at):
            continue  # the prediction predates a newer order
        yield PlannedMessage(
            flow=FLOW,
            step=1,
            # The constraint keeps two concurrent planners to one message per period.
            dedupe_key=f"{NAME}:{customer_id}:{bucket}",
            due_at=now,
            email=email,
            customer_id=customer_id,
            context={
                "recipient": {"first_name": customer.first_name},
                "last_order_at": last_order_at.isoformat(),
                "expected_next_order_date": expected.isoformat(),
                "shop_url": f"https://{shop.domain}",
            },
        )


def exit_reason(session: Session, message: Message, now: datetime) -> str | None:
    """Cancel when the customer ordered again after the order that made them overdue."""
    if message.customer_id is None:
        return "customer_gone"
    stamp = (message.context or {}).get("last_order_at")
    if not stamp:
        return "customer_gone"
    return _ordered_since(
        session, message.shop_id, message.customer_id, datetime.fromisoformat(stamp)
    )


def _ordered_since(
    session: Session, shop_id: int, customer_id: int, last_order_at: datetime
) -> str | None:
    ordered = session.scalar(
        select(Order.id)
        .where(
            Order.shop_id == shop_id,
            Order.customer_id == customer_id,
            Order.processed_at > last_order_at,
            Order.cancelled_at.is_(None),
        )
        .limit(1)
    )
    return "ordered" if ordered else None


def sample_context(shop: Shop | None) -> dict[str, Any]:
    """Return made-up data to preview the template with."""
    return {
        "recipient": {"first_name": "Alex <Sample>"},
        "last_order_at": "2026-01-10T10:00:00+00:00",
        "expected_next_order_date": "2026-02-10",
        "shop_url": "https://example.myshopify.com",
    }


FLOW = FlowDefinition(
    name=NAME,
    priority=40,
    is_marketing=True,
    template="win_back",
    plan=plan,
    exit_reason=exit_reason,
    sample_context=sample_context,
)
