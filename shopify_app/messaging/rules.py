"""The rules a message must pass to go out: consent, frequency cap, quiet hours, holdout.

The sender asks them of every due message it claims; the holdout is settled once, when the message
is planned (`outbox.plan_message()`), so a buyer stays in or out of the control group.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from datetime import time
from datetime import timedelta
from zoneinfo import ZoneInfo
from zoneinfo import ZoneInfoNotFoundError

from sqlalchemy import ColumnElement
from sqlalchemy import and_
from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy.orm import Session

from shopify_app.models import Customer
from shopify_app.models import EmailSuppression
from shopify_app.models import Message
from shopify_app.models import MessageStatus

HARD_BLOCKING_CONSENT = frozenset({"unsubscribed", "redacted", "invalid"})


@dataclass(frozen=True)
class QuietHours:
    start: time
    end: time


def buyer_messages(customer_id: int | None, email: str | None) -> ColumnElement[bool] | None:
    """Match the messages of one buyer, by customer id or address; None when neither is known."""
    buyers = []
    if customer_id is not None:
        buyers.append(Message.customer_id == customer_id)
    if email:
        buyers.append(Message.email == email)
    return or_(*buyers) if buyers else None


def is_in_holdout(*, shop_id: int, flow: str, buyer: str, share: float) -> bool:
    """Tell whether *buyer* is in the flow's control group: stable, and about *share* of buyers."""
    if share <= 0:
        return False
    digest = hashlib.sha256(f"{shop_id}:{flow}:{buyer}".encode()).digest()
    bucket = int.from_bytes(digest[:8], "big") / 2**64
    return bucket < share


def shop_zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def quiet_hours_end(now: datetime, *, zone: ZoneInfo, quiet: QuietHours | None) -> datetime | None:
    """Return when the quiet hours around *now* end (aware UTC), or None when *now* is not quiet.

    Wall-clock times are read in the shop's zone, so the window stays 21:00-08:00 local on both
    sides of a DST change.
    """
    if quiet is None:
        return None
    local = now.astimezone(zone)
    clock = local.time().replace(tzinfo=None)
    start, end = quiet.start, quiet.end
    if start < end:
        inside = start <= clock < end
        end_date = local.date()
    else:  # the window wraps past midnight
        inside = clock >= start or clock < end
        end_date = local.date() + timedelta(days=1) if clock >= start else local.date()
    if not inside:
        return None
    wall = datetime.combine(end_date, end, tzinfo=zone)
    # Round-trip through UTC so a wall time inside a spring-forward gap lands on a real instant.
    return wall.astimezone(ZoneInfo("UTC")).astimezone(now.tzinfo)


def frequency_cap_until(
    session: Session,
    *,
    shop_id: int,
    customer_id: int | None,
    email: str | None,
    cap: timedelta,
    now: datetime,
) -> datetime | None:
    """Return when the buyer may get the next marketing email, or None when they may now."""
    if cap <= timedelta(0):
        return None
    buyer = buyer_messages(customer_id, email)
    if buyer is None:
        return None
    latest = session.scalar(
        select(func.max(func.coalesce(Message.sent_at, Message.claimed_at))).where(
            Message.shop_id == shop_id,
            Message.is_marketing.is_(True),
            buyer,
            or_(
                and_(Message.status == MessageStatus.SENT, Message.sent_at > now - cap),
                and_(
                    Message.status.in_((MessageStatus.CLAIMED, MessageStatus.NEEDS_REVIEW)),
                    Message.claimed_at > now - cap,
                ),
            ),
        )
    )
    if latest is None:
        return None
    latest = _aware(latest)
    return latest + cap if latest + cap > now else None


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def suppression_reason(
    session: Session,
    *,
    shop_id: int,
    customer: Customer | None,
    email: str | None,
    is_marketing: bool,
    audience_everyone: bool = False,
) -> str | None:
    """Return why the address must not get this message, or None when it may.

    Unsubscribed, redacted and bounced addresses never get anything; marketing needs consent
    unless the merchant widened the audience to everyone who gave an email at checkout.
    """
    if not email:
        return "no_email"
    if customer is not None:
        if customer.redacted_at is not None:
            return "redacted"
        if customer.email_bounced_at is not None:
            return "bounced"
        if customer.unsubscribed_at is not None:
            return "unsubscribed"
    suppressed = session.scalar(
        select(EmailSuppression.reason).where(
            EmailSuppression.shop_id == shop_id, EmailSuppression.email == email
        )
    )
    if suppressed:
        return suppressed
    state = (customer.email_consent_state or "").lower() if customer is not None else ""
    if state in HARD_BLOCKING_CONSENT:
        return state if state != "invalid" else "bounced"
    if not is_marketing:
        return None
    if state == "subscribed":
        return None
    return None if audience_everyone else "not_subscribed"
