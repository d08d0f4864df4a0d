"""Abandoned-checkout recovery: up to three reminders, only while the buyer has not bought.

A checkout is a candidate when it has an email, no `completed_at`, and no order linked by its
token or placed by the same customer or email since it started. Steps are timed from the last
checkout update (default 1 h, 24 h, 72 h); the newest checkout of a buyer replaces older series.
The same exit check runs when planning, when claiming and right before the SMTP call.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from datetime import timedelta
from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy.orm import Session

from shopify_app.messaging import outbox as messaging
from shopify_app.messaging.flow_params import ABANDONED_CHECKOUT
from shopify_app.messaging.flow_settings import load_flow_config
from shopify_app.messaging.outbox import FlowDefinition
from shopify_app.messaging.outbox import PlannedMessage
from shopify_app.models import Checkout
from shopify_app.models import Customer
from shopify_app.models import Message
from shopify_app.models import Order
from shopify_app.models import Shop

NAME = ABANDONED_CHECKOUT
GRACE = timedelta(hours=24)
"""How long after a step's time it may still be planned (e.g. after the scheduler was down)."""


def _last_update(checkout: Checkout) -> datetime:
    return checkout.shopify_updated_at or checkout.shopify_created_at or checkout.created_at


def _started(checkout: Checkout) -> datetime:
    return checkout.shopify_created_at or checkout.shopify_updated_at or checkout.created_at


def exit_reason_for_checkout(session: Session, checkout: Checkout | None) -> str | None:
    """Return why no (further) reminder should go out for *checkout*, or None."""
    if checkout is None:
        return "checkout_gone"
    if checkout.completed_at is not None or checkout.recovered_order_id is not None:
        return "checkout_completed"
    if checkout.deleted_at is not None:
        return "checkout_deleted"
    if not checkout.email:
        return "no_email"
    shop_id = checkout.shop_id
    if session.scalar(
        select(Order.id)
        .where(Order.shop_id == shop_id, Order.checkout_token == checkout.token)
        .limit(1)
    ):
        return "order_placed"
    started = _started(checkout)
    if checkout.customer_id is not None and session.scalar(
        select(Order.id)
        .where(
            Order.shop_id == shop_id,
            Order.customer_id == checkout.customer_id,
            Order.processed_at >= started,
        )
        .limit(1)
    ):
        return "order_placed"
    emails = {checkout.email, checkout.email.strip().lower()}
    if session.scalar(
        select(Order.id)
        .where(Order.shop_id == shop_id, Order.email.in_(emails), Order.processed_at >= started)
        .limit(1)
    ):
        return "order_placed"
    if _newer_checkout(session, checkout) is not None:
        return "replaced"
    return None


def _newer_checkout(session: Session, checkout: Checkout) -> int | None:
    """Return a newer checkout of the same buyer (the one that owns the series), if any."""
    same_buyer: list[ColumnElement[bool]] = []
    if checkout.email:
        same_buyer.append(Checkout.email.in_({checkout.email, checkout.email.strip().lower()}))
    if checkout.customer_id is not None:
        same_buyer.append(Checkout.customer_id == checkout.customer_id)
    last = _last_update(checkout)
    return session.scalar(
        select(Checkout.id)
        .where(
            Checkout.shop_id == checkout.shop_id,
            Checkout.id != checkout.id,
            or_(*same_buyer),
            Checkout.deleted_at.is_(None),
            or_(
                Checkout.shopify_updated_at > last,
                (Checkout.shopify_updated_at == last) & (Checkout.id > checkout.id),
            ),
        )
        .limit(1)
    )


def exit_reason(session: Session, message: Message, now: datetime) -> str | None:
    checkout = session.scalar(
        select(Checkout).where(
            Checkout.shop_id == message.shop_id, Checkout.token == message.checkout_token
        )
    )
    return exit_reason_for_checkout(session, checkout)


def plan(session: Session, *, shop_id: int, now: datetime) -> int:
    """Plan the reminder step that is due for each open checkout; return how many are new."""
    config = load_flow_config(session, shop_id=shop_id, flow=NAME)
    if not config.enabled:
        return 0
    delays = [timedelta(hours=h) for h in config.params["step_delays_hours"]]
    return messaging.plan_messages(
        session,
        shop_id=shop_id,
        messages=_reminders(session, shop_id=shop_id, delays=delays, now=now),
        holdout_share=float(config.params["holdout_share"]),
        now=now,
        noun="abandoned-checkout reminders",
    )


def _reminders(
    session: Session, *, shop_id: int, delays: list[timedelta], now: datetime
) -> Iterator[PlannedMessage]:
    """Yield the due step of each open checkout; a newer checkout's series replaces an older one."""
    candidates = session.scalars(
        select(Checkout)
        .where(
            Checkout.shop_id == shop_id,
            Checkout.completed_at.is_(None),
            Checkout.shopify_updated_at >= now - delays[-1] - GRACE,
            Checkout.shopify_updated_at <= now - delays[0],
            Checkout.recovered_order_id.is_(None),
            Checkout.deleted_at.is_(None),
            Checkout.email.is_not(None),
        )
        .order_by(Checkout.shopify_updated_at)
    )
    for checkout in candidates:
        reason = exit_reason_for_checkout(session, checkout)
        series = messaging.buyer_key(checkout.customer_id, checkout.email)
        if reason is not None:
            if reason == "replaced" and series:
                _cancel_series(
                    session, checkout, now=now, only=Message.checkout_token == checkout.token
                )
            continue
        due = _due_step(checkout, delays, now=now)
        if due is None:
            continue
        step, due_at = due
        if series:  # one series per buyer: an older checkout's pending steps give way
            _cancel_series(
                session,
                checkout,
                now=now,
                only=(Message.series_key == series) & (Message.checkout_token != checkout.token),
            )
        yield PlannedMessage(
            flow=FLOW,
            step=step,
            dedupe_key=f"{NAME}:{checkout.token}:{step}",
            due_at=due_at,
            email=checkout.email or "",
            customer_id=checkout.customer_id,
            series_key=series,
            checkout_token=checkout.token,
            context=_context(session, checkout),
        )


def _due_step(
    checkout: Checkout, delays: list[timedelta], *, now: datetime
) -> tuple[int, datetime] | None:
    """Return the latest step due for *checkout* and when it was due, unless past its grace."""
    last = _last_update(checkout)
    due_steps = [i for i, delay in enumerate(delays, start=1) if last + delay <= now]
    if not due_steps:
        return None
    step = due_steps[-1]
    due_at = last + delays[step - 1]
    return None if due_at < now - GRACE else (step, due_at)


def _cancel_series(
    session: Session, checkout: Checkout, *, now: datetime, only: ColumnElement[bool]
) -> None:
    messaging.cancel_pending(
        session,
        shop_id=checkout.shop_id,
        reason="replaced",
        now=now,
        where=(Message.flow == NAME) & only,
    )


def _context(session: Session, checkout: Checkout) -> dict[str, Any]:
    customer = session.get(Customer, checkout.customer_id) if checkout.customer_id else None
    lines = [
        {
            "title": line.get("title") or "Item",
            "variant_title": line.get("variant_title"),
            "quantity": line.get("quantity") or 1,
            "price": line.get("price"),
        }
        for line in (checkout.line_items or [])
    ]
    return {
        "lines": lines,
        "currency": checkout.currency,
        "total_price": str(checkout.total_price) if checkout.total_price is not None else None,
        "checkout_url": checkout.abandoned_checkout_url or "",
        "recipient": {"first_name": customer.first_name if customer else None},
    }


def sample_context(shop: Shop | None) -> dict[str, Any]:
    """Return made-up data to preview the template with (titles show that markup is escaped)."""
    return {
        "lines": [
            {
                "title": "Tea & Honey <Gift Box>",
                "variant_title": "Large",
                "quantity": 2,
                "price": "19.50",
            },
        ],
        "currency": shop.currency if shop else "USD",
        "total_price": "39.00",
        "checkout_url": "https://example.myshopify.com/checkouts/sample/recover",
    }


FLOW = FlowDefinition(
    name=NAME,
    priority=10,
    is_marketing=True,
    template="abandoned_checkout",
    plan=plan,
    exit_reason=exit_reason,
    audience_param="audience",
    sample_context=sample_context,
)
