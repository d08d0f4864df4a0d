"""A privacy request Shopify sent (data request or redaction), logged without personal data."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON
from sqlalchemy import BigInteger
from sqlalchemy import Index
from sqlalchemy import String
from sqlalchemy import UniqueConstraint
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from shopify_app.models.base import Base
from shopify_app.models.base import BigIntPK


class PrivacyRequest(Base):
    """One privacy action and when it was completed.

    Keyed by shop domain, not by a foreign key: the audit record of a `shop/redact` outlives the
    shop's own rows. Only `export` holds personal data, and only for data requests, so the merchant
    can hand it to the customer; it is deleted with the shop.
    """

    __tablename__ = "privacy_requests"
    __table_args__ = (
        UniqueConstraint("shop_domain", "webhook_id", name="uq_privacy_request_shop_webhook"),
        Index("ix_privacy_requests_shop_received", "shop_domain", "received_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    shop_domain: Mapped[str] = mapped_column(String(255))
    topic: Mapped[str] = mapped_column(String(64))
    webhook_id: Mapped[str | None] = mapped_column(String(255))
    customer_shopify_id: Mapped[int | None] = mapped_column(BigInteger)
    shopify_request_id: Mapped[int | None] = mapped_column(BigInteger)
    received_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]
    export: Mapped[dict[str, Any] | None] = mapped_column(JSON)
