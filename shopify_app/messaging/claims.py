"""Claim the due messages of one batch: settle each by its flow and the messaging rules.

The sender runs this in one transaction and commits before any SMTP call (see `sender`). Each
due message is failed (unknown flow), cancelled (shop gone, flow switched off, the flow's exit
check), suppressed (consent), deferred (quiet hours, frequency cap), held out (control group),
or claimed: only a claimed message goes on to be sent.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from datetime import timedelta
from typing import Any

from sqlalchemy import Row
from sqlalchemy import select
from sqlalchemy.orm import Session

from shopify_app.messaging import rules
from shopify_app.messaging.flow_settings import MessagingRules
from shopify_app.messaging.flow_settings import load_flow_config
from shopify_app.messaging.flow_settings import load_messaging_rules
from shopify_app.messaging.flows import FLOWS
from shopify_app.messaging.outbox import FlowDefinition
from shopify_app.models import Customer
from shopify_app.models import Message
from shopify_app.models import MessageStatus
from shopify_app.models import Shop
from shopify_app.models.message import PENDING_STATUSES


@dataclass
class ClaimedBatch:
    """The ids claimed to send, and how many of the other due messages went which way."""

    claimed: list[int] = field(default_factory=list)
    settled: Counter[str] = field(default_factory=Counter)

    @property
    def due(self) -> int:
        return len(self.claimed) + self.settled.total()


@dataclass
class _ShopState:
    shop: Shop
    rules: MessagingRules
    flow_params: dict[str, tuple[bool, dict[str, Any]]] = field(default_factory=dict)

    def flow_config(self, session: Session, flow: str) -> tuple[bool, dict[str, Any]]:
        """Return whether *flow* is on for the shop, and its parameters (read once per batch)."""
        if flow not in self.flow_params:
            config = load_flow_config(session, shop_id=self.shop.id, flow=flow)
            self.flow_params[flow] = (config.enabled, config.params)
        return self.flow_params[flow]


def claim_due_messages(
    session: Session, *, now: datetime, shop_id: int | None, limit: int
) -> ClaimedBatch:
    """Settle every due message of one batch; return the ids claimed and what became of the rest."""
    statement = (
        select(Message)
        .where(Message.status.in_(PENDING_STATUSES), Message.due_at <= now)
        .order_by(Message.priority, Message.due_at, Message.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    if shop_id is not None:
        statement = statement.where(Message.shop_id == shop_id)
    batch = ClaimedBatch()
    shops: dict[int, _ShopState] = {}
    buyers_this_batch: set[str] = set()
    for message in session.scalars(statement).all():
        _settle(session, message, now=now, shops=shops, buyers=buyers_this_batch)
        message.updated_at = now
        if message.status == MessageStatus.CLAIMED:
            batch.claimed.append(message.id)
        else:
            batch.settled[message.status.value] += 1
    return batch


def _shop_state(session: Session, shop_id: int, shops: dict[int, _ShopState]) -> _ShopState | None:
    if shop_id not in shops:
        shop = session.get(Shop, shop_id)
        if shop is None:
            return None
        shops[shop_id] = _ShopState(shop=shop, rules=load_messaging_rules(session, shop_id=shop_id))
    return shops[shop_id]


def _settle(
    session: Session,
    message: Message,
    *,
    now: datetime,
    shops: dict[int, _ShopState],
    buyers: set[str],
) -> None:
    """Fail, cancel, suppress, defer or hold out one due message, or claim it to send."""
    state = _shop_state(session, message.shop_id, shops)
    flow = FLOWS.get(message.flow)
    if flow is None:
        _finish(message, MessageStatus.FAILED, "unknown_flow")
        return
    if state is None or not state.shop.is_installed:
        _finish(message, MessageStatus.CANCELLED, "shop_uninstalled")
        return
    enabled, params = state.flow_config(session, message.flow)
    reason = flow.exit_reason(session, message, now) if enabled else "flow_disabled"
    if reason:
        _finish(message, MessageStatus.CANCELLED, reason)
        return
    suppressed = _suppression(session, message, flow, params)
    if suppressed:
        _finish(message, MessageStatus.SUPPRESSED, suppressed)
        return
    wait = _wait(session, message, state, now=now, buyers=buyers)
    if wait is not None:
        until, why = wait
        _finish(message, MessageStatus.DEFERRED, why)
        message.due_at = max(until, now + timedelta(seconds=1))
    elif message.is_holdout:
        _finish(message, MessageStatus.HELD_OUT, "control_group")
        message.sent_at = now  # when it would have been sent
    else:
        message.status = MessageStatus.CLAIMED
        message.status_reason = None
        message.claimed_at = now
        message.attempts += 1


def _suppression(
    session: Session, message: Message, flow: FlowDefinition, params: dict[str, Any]
) -> str | None:
    """Return why consent rules out *message* (see `rules.suppression_reason()`), or None."""
    customer = session.get(Customer, message.customer_id) if message.customer_id else None
    audience_everyone = bool(flow.audience_param and params.get(flow.audience_param) == "everyone")
    return rules.suppression_reason(
        session,
        shop_id=message.shop_id,
        customer=customer,
        email=message.email,
        is_marketing=message.is_marketing,
        audience_everyone=audience_everyone,
    )


def _wait(
    session: Session, message: Message, state: _ShopState, *, now: datetime, buyers: set[str]
) -> tuple[datetime, str] | None:
    """Return until when and why *message* must wait (quiet hours, frequency cap), or None.

    *buyers* holds the buyers claimed earlier in this batch; a marketing message that may go
    now adds its buyer, so the cap also holds between messages of one batch.
    """
    zone = rules.shop_zone(state.shop.iana_timezone)
    quiet_end = rules.quiet_hours_end(now, zone=zone, quiet=state.rules.quiet_hours)
    if quiet_end is not None:
        return quiet_end, "quiet_hours"
    if not message.is_marketing or message.is_holdout:
        return None
    cap = timedelta(hours=state.rules.frequency_cap_hours)
    buyer_keys = {f"e:{message.email}"}
    if message.customer_id:
        buyer_keys.add(f"c:{message.customer_id}")
    if cap > timedelta(0) and buyer_keys & buyers:
        return now + cap, "frequency_cap"
    until = rules.frequency_cap_until(
        session,
        shop_id=message.shop_id,
        customer_id=message.customer_id,
        email=message.email,
        cap=cap,
        now=now,
    )
    if until is not None:
        return until, "frequency_cap"
    buyers.update(buyer_keys)
    return None


def _finish(message: Message, status: MessageStatus, reason: str) -> None:
    message.status = status
    message.status_reason = reason


def list_needing_review(session: Session) -> Sequence[Row[int, str, str, int, datetime | None]]:
    """Return the messages a sender claimed but never recorded (id, shop, flow, step, claimed).

    Whether such a message went out is unknown, so it is never resent on its own: an operator
    checks the mail log and resolves it.
    """
    return session.execute(
        select(Message.id, Shop.domain, Message.flow, Message.step, Message.claimed_at)
        .join(Shop, Shop.id == Message.shop_id)
        .where(Message.status == MessageStatus.NEEDS_REVIEW)
        .order_by(Message.id)
    ).all()
