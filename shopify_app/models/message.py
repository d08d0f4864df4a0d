"""The outbox of lifecycle emails, the orders attributed to them, and addresses never to email."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON
from sqlalchemy import Enum
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy import UniqueConstraint
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from shopify_app.models.base import Base
from shopify_app.models.base import BigIntPK
from shopify_app.models.base import utcnow


class MessageStatus(enum.StrEnum):
    PLANNED = "planned"  # waiting for due_at
    DEFERRED = "deferred"  # quiet hours, frequency cap or a temporary SMTP failure moved due_at
    CLAIMED = "claimed"  # a sender committed that it is about to send; never re-claimed
    SENT = "sent"
    SUPPRESSED = "suppressed"  # consent rules said no; see suppressed_reason
    HELD_OUT = "held_out"  # control group: would have been sent at sent_at, was not
    FAILED = "failed"  # permanent SMTP failure or retries exhausted
    CANCELLED = "cancelled"  # no longer wanted (exit condition met, replaced, uninstalled)
    NEEDS_REVIEW = "needs_review"  # claimed but never recorded: may or may not have gone out


PENDING_STATUSES = (MessageStatus.PLANNED, MessageStatus.DEFERRED)
"""Statuses of messages that may still be sent (and so may still be cancelled)."""


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("shop_id", "dedupe_key", name="uq_message_shop_dedupe"),
        Index("ix_messages_status_due", "status", "due_at"),
        Index("ix_messages_shop_customer_sent", "shop_id", "customer_id", "sent_at"),
        Index("ix_messages_shop_email_sent", "shop_id", "email", "sent_at"),
        Index("ix_messages_shop_flow_created", "shop_id", "flow", "created_at"),
        Index("ix_messages_shop_series", "shop_id", "flow", "series_key"),
        Index("ix_messages_shop_checkout", "shop_id", "checkout_token"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    flow: Mapped[str] = mapped_column(String(32))
    step: Mapped[int] = mapped_column(default=1)
    is_marketing: Mapped[bool] = mapped_column(default=True)
    priority: Mapped[int] = mapped_column(default=100)
    dedupe_key: Mapped[str] = mapped_column(String(255))
    # One series per buyer and flow (e.g. the buyer's email): a newer series replaces an older one.
    series_key: Mapped[str | None] = mapped_column(String(320))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="SET NULL"))
    email: Mapped[str | None] = mapped_column(String(320))
    checkout_token: Mapped[str | None] = mapped_column(String(64))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id", ondelete="SET NULL"))
    subject: Mapped[str | None] = mapped_column(Text)
    context: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[MessageStatus] = mapped_column(
        Enum(MessageStatus, native_enum=False, length=16, validate_strings=True),
        default=MessageStatus.PLANNED,
    )
    status_reason: Mapped[str | None] = mapped_column(String(64))
    is_holdout: Mapped[bool] = mapped_column(default=False)
    due_at: Mapped[datetime]
    claimed_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class MessageAttribution(Base):
    """An order credited to the latest message (sent or held out) its buyer got before it."""

    __tablename__ = "message_attributions"
    __table_args__ = (
        UniqueConstraint("shop_id", "order_id", name="uq_message_attribution_shop_order"),
        Index("ix_message_attributions_message", "message_id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    flow: Mapped[str] = mapped_column(String(32))
    step: Mapped[int]
    is_holdout: Mapped[bool] = mapped_column(default=False)
    method: Mapped[str] = mapped_column(String(32))  # recovered_checkout | window
    revenue: Mapped[Decimal]
    order_processed_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class EmailSuppression(Base):
    """An address never to email again (unsubscribed or bounced), kept even without a customer."""

    __tablename__ = "email_suppressions"
    __table_args__ = (UniqueConstraint("shop_id", "email", name="uq_email_suppression_shop_email"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(320))
    reason: Mapped[str] = mapped_column(String(32))  # unsubscribed | bounced
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
