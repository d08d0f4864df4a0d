"""A shop's customer, as far as retention needs to know them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import String
from sqlalchemy import UniqueConstraint
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from shopify_app.models.base import Base
from shopify_app.models.base import BigIntPK
from shopify_app.models.base import utcnow


class Customer(Base):
    __tablename__ = "customers"
    __table_args__ = (
        UniqueConstraint("shop_id", "shopify_id", name="uq_customer_shop_shopify_id"),
        Index("ix_customers_shop_email", "shop_id", "email"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    shopify_id: Mapped[int] = mapped_column()
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(64))
    first_name: Mapped[str | None] = mapped_column(String(255))
    last_name: Mapped[str | None] = mapped_column(String(255))
    # Consent: since API 2025-01 this comes from the consent topic and GraphQL, not from customer
    # payloads.
    email_consent_state: Mapped[str | None] = mapped_column(String(32))
    email_consent_opt_in_level: Mapped[str | None] = mapped_column(String(32))
    email_consent_updated_at: Mapped[datetime | None]
    email_bounced_at: Mapped[datetime | None]
    unsubscribed_at: Mapped[datetime | None]
    shopify_created_at: Mapped[datetime | None]
    shopify_updated_at: Mapped[datetime | None]
    deleted_at: Mapped[datetime | None]
    redacted_at: Mapped[datetime | None]
    last_event_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def is_email_subscribed(self) -> bool:
        return (
            self.email_consent_state == "subscribed"
            and self.unsubscribed_at is None
            and self.email_bounced_at is None
            and self.redacted_at is None
        )
