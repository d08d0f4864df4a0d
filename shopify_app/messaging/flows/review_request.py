"""Review and NPS requests: ask how the order went once it has had time to arrive.

The request goes N days (default 7) after a fulfillment of the order is delivered
(`shipment_status = delivered`), or M days (default 14) after the fulfillment when no delivery
event ever comes. It goes once per order (the dedupe key is the order), never for a cancelled
order, and lists only lines not fully refunded; an order refunded in full gets nothing. The lines
and the signed NPS links are computed again right before sending, so a refund or cancellation
between planning and sending is honoured. It is a service email about an order the customer
placed, so it needs no marketing consent; unsubscribed, bounced and redacted addresses still
never get it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import and_
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy.orm import Session

from shopify_app.messaging import nps
from shopify_app.messaging import outbox as messaging
from shopify_app.messaging.flow_params import REVIEW_REQUEST
from shopify_app.messaging.flow_settings import load_flow_config
from shopify_app.messaging.outbox import FlowDefinition
from shopify_app.messaging.outbox import PlannedMessage
from shopify_app.models import Customer
from shopify_app.models import Fulfillment
from shopify_app.models import Message
from shopify_app.models import Order
from shopify_app.models import OrderLine
from shopify_app.models import Shop

NAME = REVIEW_REQUEST
GRACE = timedelta(days=3)
"""How long after its time a request may still be planned (e.g. after the scheduler was down)."""
NOT_SHIPPED = ("cancelled", "error", "failure")
QUESTION = "How likely are you to recommend us?"


def reviewable_lines(order: Order, shop: Shop) -> list[dict[str, Any]]:
    """Return the order's lines that are not fully refunded, each with a review link."""
    lines = []
    for line in order.lines:
        remaining = line.quantity - (line.refunded_quantity or 0)
        if remaining <= 0:
            continue
        lines.append(
            {
                "title": line.title or "Item",
                "variant_title": line.variant_title,
                "quantity": remaining,
                "product_id": line.product_id,
                "review_url": product_url(shop, line),
            }
        )
    return lines


def product_url(shop: Shop, line: OrderLine) -> str:
    """Return a storefront link to the line's product on the shop's domain.

    Order lines carry no product handle, so the link is the storefront's product search for the
    title, which lists the product with its reviews.
    """
    query = urlencode({"type": "product", "q": line.title or ""})
    return f"https://{shop.domain}/search?{query}"


def exit_reason(session: Session, message: Message, now: datetime) -> str | None:
    """Cancel when the order is gone, cancelled, or has nothing left that was not refunded."""
    order = session.get(Order, message.order_id) if message.order_id else None
    if order is None:
        return "order_gone"
    return exit_reason_for_order(order)


def send_context(
    session: Session, message: Message, *, app_url: str, secret_key: str
) -> dict[str, Any]:
    """Return the current lines and the eleven signed NPS links, made right before sending."""
    order = session.get(Order, message.order_id) if message.order_id else None
    shop = session.get(Shop, message.shop_id)
    assert order is not None  # exit_reason ran just before
    assert shop is not None
    return {
        "lines": reviewable_lines(order, shop),
        "nps_question": QUESTION,
        "score_links": nps.score_links(message, app_url=app_url, secret_key=secret_key),
    }


def _due_fulfillments(
    session: Session,
    *,
    shop_id: int,
    after_delivery: timedelta,
    after_fulfillment: timedelta,
    now: datetime,
) -> list[tuple[Fulfillment, datetime]]:
    delivered = and_(
        Fulfillment.delivered_at.is_not(None),
        Fulfillment.delivered_at <= now - after_delivery,
        Fulfillment.delivered_at > now - after_delivery - GRACE,
    )
    undelivered = and_(
        Fulfillment.delivered_at.is_(None),
        Fulfillment.shopify_created_at <= now - after_fulfillment,
        Fulfillment.shopify_created_at > now - after_fulfillment - GRACE,
    )
    rows = session.scalars(
        select(Fulfillment)
        .where(
            Fulfillment.shop_id == shop_id,
            or_(delivered, undelivered),
            or_(Fulfillment.status.is_(None), Fulfillment.status.not_in(NOT_SHIPPED)),
        )
        .order_by(Fulfillment.id)
    )
    due = []
    for fulfillment in rows:
        if fulfillment.delivered_at is not None:
            due.append((fulfillment, fulfillment.delivered_at + after_delivery))
        elif fulfillment.shopify_created_at is not None:
            due.append((fulfillment, fulfillment.shopify_created_at + after_fulfillment))
    return due


def plan(session: Session, *, shop_id: int, now: datetime) -> int:
    """Plan one review request per order whose parcel arrived (or should have); return how many."""
    config = load_flow_config(session, shop_id=shop_id, flow=NAME)
    shop = session.get(Shop, shop_id)
    if not config.enabled or shop is None:
        return 0
    due = _due_fulfillments(
        session,
        shop_id=shop_id,
        after_delivery=timedelta(days=int(config.params["days_after_delivery"])),
        after_fulfillment=timedelta(days=int(config.params["days_after_fulfillment"])),
        now=now,
    )
    return messaging.plan_messages(
        session,
        shop_id=shop_id,
        messages=_requests(session, due),
        holdout_share=float(config.params["holdout_share"]),
        now=now,
        noun="review requests",
    )


def _requests(
    session: Session, due: list[tuple[Fulfillment, datetime]]
) -> Iterator[PlannedMessage]:
    """Yield a request for the order of each due fulfillment that still has something to review."""
    for fulfillment, due_at in due:
        order = session.get(Order, fulfillment.order_id)
        if order is None or order.is_test or exit_reason_for_order(order) is not None:
            continue
        customer = session.get(Customer, order.customer_id) if order.customer_id else None
        email = messaging.normalize_email(customer.email if customer and customer.email else None)
        email = email or messaging.normalize_email(order.email)
        if email is None:
            continue
        yield PlannedMessage(
            flow=FLOW,
            step=1,
            dedupe_key=f"{NAME}:{order.id}",
            due_at=due_at,
            email=email,
            customer_id=order.customer_id,
            order_id=order.id,
            context={
                "order": {"name": order.name, "processed_at": order.processed_at.isoformat()},
                "recipient": {"first_name": customer.first_name if customer else None},
            },
        )


def exit_reason_for_order(order: Order) -> str | None:
    if order.cancelled_at is not None:
        return "order_cancelled"
    if all(line.is_fully_refunded for line in order.lines):
        return "refunded"
    return None


def sample_context(shop: Shop | None) -> dict[str, Any]:
    """Return made-up data to preview the template with (titles show that markup is escaped)."""
    return {
        "order": {"name": "#1001", "processed_at": "2026-03-01T10:00:00+00:00"},
        "lines": [
            {
                "title": "Tea & Honey <Gift Box>",
                "variant_title": "Large",
                "quantity": 1,
                "product_id": 1,
                "review_url": "https://example.myshopify.com/search?q=Tea",
            },
        ],
        "nps_question": QUESTION,
        "score_links": [
            {"score": s, "url": f"https://app.example/nps/sample-{s}"} for s in nps.SCORES
        ],
    }


FLOW = FlowDefinition(
    name=NAME,
    priority=30,
    is_marketing=False,
    template="review_request",
    plan=plan,
    exit_reason=exit_reason,
    send_context=send_context,
    sample_context=sample_context,
)
