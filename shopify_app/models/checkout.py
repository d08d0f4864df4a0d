"""A checkout a buyer started, keyed by its token (checkout ids left the payloads in 2026-04)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON
from sqlalchemy import BigInteger
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


class Checkout(Base):
    __tablename__ = "checkouts"
    __table_args__ = (
        UniqueConstraint("shop_id", "token", name="uq_checkout_shop_token"),
        Index("ix_checkouts_shop_open_updated", "shop_id", "completed_at", "shopify_updated_at"),
        Index("ix_checkouts_shop_email", "shop_id", "email"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    token: Mapped[str] = mapped_column(String(64))
    cart_token: Mapped[str | None] = mapped_column(String(64))
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(64))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="SET NULL"))
    shopify_customer_id: Mapped[int | None] = mapped_column(BigInteger)
    buyer_accepts_marketing: Mapped[bool] = mapped_column(default=False)
    abandoned_checkout_url: Mapped[str | None] = mapped_column(Text)
    currency: Mapped[str | None] = mapped_column(String(3))
    total_price: Mapped[Decimal | None]
    subtotal_price: Mapped[Decimal | None]
    line_items: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    shopify_created_at: Mapped[datetime | None]
    shopify_updated_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    recovered_order_id: Mapped[int | None] = mapped_column(
        ForeignKey("orders.id", ondelete="SET NULL")
    )
    deleted_at: Mapped[datetime | None]
    last_event_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def is_open(self) -> bool:
        return (
            self.completed_at is None
            and self.recovered_order_id is None
            and (self.deleted_at is None)
        )
