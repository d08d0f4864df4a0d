"""The outbox every flow writes to: plan a message once per dedupe key, cancel what is pending.

A flow is a `FlowDefinition` in `shopify_app.messaging.flows.FLOWS`. Its planner hands its
`PlannedMessage`s to `plan_messages()`; the sender (`shopify_app.messaging.sender`) later settles
each due message: cancel it (the flow's exit check), suppress it (consent), defer it (quiet hours,
frequency cap), hold it out (control group) or send it, by the rules of `messaging.rules`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from collections.abc import Iterable
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from typing import Any

from marshmallow import Schema
from sqlalchemy import and_
from sqlalchemy import delete
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.orm import Session

from shopify_app.messaging.flow_params import PARAMS_SCHEMAS
from shopify_app.messaging.rules import buyer_messages
from shopify_app.messaging.rules import is_in_holdout
from shopify_app.models import Customer
from shopify_app.models import EmailSuppression
from shopify_app.models import Message
from shopify_app.models import MessageStatus
from shopify_app.models import Shop
from shopify_app.models.message import PENDING_STATUSES
from shopify_app.models.upsert import conflict_insert

logger = logging.getLogger(__name__)

Planner = Callable[..., int]
"""`planner(session, *, shop_id, now) -> int`: plan due messages, return how many were new."""

ExitCheck = Callable[[Session, Message, datetime], str | None]
"""Return why *message* is no longer wanted (it is then cancelled), or None to go ahead."""

SendContext = Callable[..., dict[str, Any]]
"""`send_context(session, message, *, app_url, secret_key) -> dict`: context added at send time."""

SampleContext = Callable[[Shop | None], dict[str, Any]]
"""`sample_context(shop) -> dict`: made-up data, shaped like the real one, to preview with."""


@dataclass(frozen=True)
class FlowDefinition:
    """What the core needs to know about a flow; register it in `flows.FLOWS`.

    Its parameters and their defaults are declared under its name in `flow_params`.
    """

    name: str
    priority: int  # lower goes first when the frequency cap allows only one message
    is_marketing: bool
    template: str  # templates/emails/<template>.{subject.txt,html,txt}
    plan: Planner
    exit_reason: ExitCheck
    # Whether the flow's settings can widen the audience to everyone who gave an email.
    audience_param: str | None = None
    # Context computed right before rendering, e.g. signed links that need the message id.
    send_context: SendContext | None = None
    # What the merchant's edited template is checked and previewed with.
    sample_context: SampleContext | None = None

    @property
    def params_schema(self) -> type[Schema]:
        return PARAMS_SCHEMAS[self.name]


@dataclass
class PlannedMessage:
    """What a planner wants to send; `plan_message()` writes it once per dedupe key."""

    flow: FlowDefinition
    step: int
    dedupe_key: str
    due_at: datetime
    email: str
    customer_id: int | None = None
    series_key: str | None = None
    checkout_token: str | None = None
    order_id: int | None = None
    context: dict[str, Any] = field(default_factory=dict)


def normalize_email(email: str | None) -> str | None:
    if not email:
        return None
    cleaned = email.strip().lower()
    return cleaned or None


def buyer_key(customer_id: int | None, email: str | None) -> str | None:
    """Name one buyer in series keys: the customer when known, else the normalized address."""
    if customer_id is not None:
        return f"c:{customer_id}"
    normalized = normalize_email(email)
    return f"e:{normalized}" if normalized else None


def plan_message(
    session: Session,
    *,
    shop_id: int,
    message: PlannedMessage,
    holdout_share: float,
    now: datetime,
) -> bool:
    """Insert *message* unless its dedupe key exists; return whether it was new.

    The unique constraint, not a prior check, makes planning idempotent, also when two planners
    run at once.
    """
    buyer = str(message.customer_id) if message.customer_id else normalize_email(message.email)
    values = {
        "shop_id": shop_id,
        "flow": message.flow.name,
        "step": message.step,
        "is_marketing": message.flow.is_marketing,
        "priority": message.flow.priority,
        "dedupe_key": message.dedupe_key,
        "series_key": message.series_key,
        "customer_id": message.customer_id,
        "email": normalize_email(message.email),
        "checkout_token": message.checkout_token,
        "order_id": message.order_id,
        "context": message.context,
        "status": MessageStatus.PLANNED.name,
        "is_holdout": is_in_holdout(
            shop_id=shop_id, flow=message.flow.name, buyer=buyer or "", share=holdout_share
        ),
        "due_at": message.due_at,
        "attempts": 0,
        "created_at": now,
        "updated_at": now,
    }
    statement = (
        conflict_insert(session, Message)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["shop_id", "dedupe_key"])
        .returning(Message.id)
    )
    return session.execute(statement).scalar_one_or_none() is not None


def plan_messages(
    session: Session,
    *,
    shop_id: int,
    messages: Iterable[PlannedMessage],
    holdout_share: float,
    now: datetime,
    noun: str,
) -> int:
    """Plan each of *messages* (see `plan_message()`); log and return how many were new.

    *messages* is read one at a time, so a planner may cancel what a message replaces right
    before handing it over.
    """
    planned = sum(
        plan_message(
            session, shop_id=shop_id, message=message, holdout_share=holdout_share, now=now
        )
        for message in messages
    )
    if planned:
        logger.info("Planned %d %s", planned, noun, extra={"shop_id": shop_id})
    return planned


def cancel_pending(
    session: Session, *, shop_id: int, reason: str, now: datetime, where: Any = None
) -> int:
    """Cancel the shop's messages that have not gone out yet (optionally only those *where*)."""
    statement = (
        update(Message)
        .where(Message.shop_id == shop_id, Message.status.in_(PENDING_STATUSES))
        .values(status=MessageStatus.CANCELLED, status_reason=reason, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if where is not None:
        statement = statement.where(where)
    result = session.execute(statement)
    return int(result.rowcount)  # type: ignore[attr-defined]


def record_suppression(
    session: Session,
    *,
    shop_id: int,
    email: str,
    reason: str,
    message_id: int | None,
    now: datetime,
) -> bool:
    """Remember never to email *email* again; return False when it was already recorded."""
    result = session.execute(
        conflict_insert(session, EmailSuppression)
        .values(shop_id=shop_id, email=email, reason=reason, message_id=message_id, created_at=now)
        .on_conflict_do_nothing(index_elements=["shop_id", "email"])
        .returning(EmailSuppression.id)
    )
    return result.scalar_one_or_none() is not None


def cancel_pending_for_buyer(
    session: Session,
    *,
    shop_id: int,
    customer_id: int | None,
    email: str | None,
    reason: str,
    now: datetime,
    marketing_only: bool = True,
) -> int:
    """Cancel the buyer's messages not sent yet (after an unsubscribe, bounce or redaction)."""
    condition = buyer_messages(customer_id, email)
    if condition is None:
        return 0
    if marketing_only:
        condition = and_(condition, Message.is_marketing.is_(True))
    return cancel_pending(session, shop_id=shop_id, reason=reason, now=now, where=condition)


def suppress_recipient(
    session: Session, *, message: Message, reason: str, now: datetime, marketing_only: bool = True
) -> int:
    """Never email *message*'s address again, and cancel what is pending for its buyer.

    Return how many pending messages were cancelled (only marketing ones if *marketing_only*).
    """
    assert message.email is not None
    record_suppression(
        session,
        shop_id=message.shop_id,
        email=message.email,
        reason=reason,
        message_id=message.id,
        now=now,
    )
    return cancel_pending_for_buyer(
        session,
        shop_id=message.shop_id,
        customer_id=message.customer_id,
        email=message.email,
        reason=reason,
        now=now,
        marketing_only=marketing_only,
    )


def redact_customer_messages(
    session: Session, *, shop_id: int, customer_id: int | None, email: str | None, now: datetime
) -> int:
    """Erase a buyer's personal data from the outbox (privacy redaction); keep the counts."""
    normalized = normalize_email(email)
    condition = buyer_messages(customer_id, normalized)
    if condition is None:
        return 0
    emails = set(
        session.scalars(
            select(Message.email)
            .where(Message.shop_id == shop_id, condition, Message.email.is_not(None))
            .distinct()
        )
    )
    if normalized:
        emails.add(normalized)
    cancelled = cancel_pending(
        session, shop_id=shop_id, reason="redacted", now=now, where=condition
    )
    session.execute(
        update(Message)
        .where(Message.shop_id == shop_id, condition)
        .values(email=None, context={}, subject=None, series_key=None, last_error=None)
        .execution_options(synchronize_session=False)
    )
    if emails:
        session.execute(
            delete(EmailSuppression).where(
                EmailSuppression.shop_id == shop_id, EmailSuppression.email.in_(emails)
            )
        )
    return cancelled


def redact_outbox(
    session: Session, shop: Shop, customer: Customer | None, email: str | None, now: datetime
) -> None:
    """Join `privacy.redact_customer`: cancel and scrub the customer's messages."""
    redact_customer_messages(
        session,
        shop_id=shop.id,
        customer_id=customer.id if customer is not None else None,
        email=email,
        now=now,
    )


def export_outbox(
    session: Session, shop: Shop, customer: Customer | None, email: str | None
) -> list[dict[str, Any]]:
    """Join `privacy.export_customer_data`: the lifecycle emails planned for the customer."""
    condition = buyer_messages(
        customer.id if customer is not None else None, normalize_email(email)
    )
    if condition is None:
        return []
    rows = session.scalars(
        select(Message).where(Message.shop_id == shop.id, condition).order_by(Message.id)
    )
    return [
        {
            "flow": m.flow,
            "step": m.step,
            "status": m.status.value,
            "email": m.email,
            "subject": m.subject,
            "due_at": m.due_at.isoformat(),
            "sent_at": m.sent_at.isoformat() if m.sent_at else None,
        }
        for m in rows
    ]


def cancel_on_uninstall(session: Session, shop: Shop, now: datetime) -> None:
    """Join `shops.mark_uninstalled`: nothing more goes out for a shop that left."""
    cancelled = cancel_pending(session, shop_id=shop.id, reason="shop_uninstalled", now=now)
    if cancelled:
        logger.info(
            "Cancelled %d pending messages on uninstall", cancelled, extra={"shop": shop.domain}
        )
