"""Orders, their lines, refunds and fulfillments: the facts KPIs and flows are computed from."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import BigInteger
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy import UniqueConstraint
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

from shopify_app.models.base import Base
from shopify_app.models.base import BigIntPK
from shopify_app.models.base import utcnow


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("shop_id", "shopify_id", name="uq_order_shop_shopify_id"),
        Index("ix_orders_shop_processed", "shop_id", "processed_at"),
        Index("ix_orders_shop_customer_processed", "shop_id", "customer_id", "processed_at"),
        Index("ix_orders_shop_checkout_token", "shop_id", "checkout_token"),
        Index("ix_orders_shop_email", "shop_id", "email"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    shopify_id: Mapped[int] = mapped_column(BigInteger)
    name: Mapped[str | None] = mapped_column(String(64))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="SET NULL"))
    shopify_customer_id: Mapped[int | None] = mapped_column(BigInteger)
    email: Mapped[str | None] = mapped_column(String(320))
    checkout_token: Mapped[str | None] = mapped_column(String(64))
    processed_at: Mapped[datetime]
    shopify_created_at: Mapped[datetime | None]
    shopify_updated_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    is_test: Mapped[bool] = mapped_column(default=False)
    financial_status: Mapped[str | None] = mapped_column(String(32))
    fulfillment_status: Mapped[str | None] = mapped_column(String(32))
    currency: Mapped[str] = mapped_column(String(3))
    total_price: Mapped[Decimal]
    subtotal_price: Mapped[Decimal | None]
    total_discounts: Mapped[Decimal | None]
    total_tax: Mapped[Decimal | None]
    total_refunded: Mapped[Decimal] = mapped_column(default=Decimal("0"))
    source_name: Mapped[str | None] = mapped_column(String(64))
    last_event_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    lines: Mapped[list[OrderLine]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="OrderLine.id"
    )

    @property
    def counts_for_kpis(self) -> bool:
        return not self.is_test and self.cancelled_at is None


class OrderLine(Base):
    __tablename__ = "order_lines"
    __table_args__ = (
        UniqueConstraint("order_id", "shopify_id", name="uq_order_line_order_shopify_id"),
        Index("ix_order_lines_shop_product", "shop_id", "product_id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    shopify_id: Mapped[int] = mapped_column(BigInteger)
    product_id: Mapped[int | None] = mapped_column(BigInteger)
    variant_id: Mapped[int | None] = mapped_column(BigInteger)
    title: Mapped[str | None] = mapped_column(Text)
    variant_title: Mapped[str | None] = mapped_column(Text)
    sku: Mapped[str | None] = mapped_column(String(255))
    quantity: Mapped[int]
    price: Mapped[Decimal]
    refunded_quantity: Mapped[int] = mapped_column(default=0)

    order: Mapped[Order] = relationship(back_populates="lines")

    @property
    def is_fully_refunded(self) -> bool:
        return self.refunded_quantity >= self.quantity


class Refund(Base):
    __tablename__ = "refunds"
    __table_args__ = (
        UniqueConstraint("shop_id", "shopify_id", name="uq_refund_shop_shopify_id"),
        Index("ix_refunds_shop_processed", "shop_id", "processed_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    shopify_id: Mapped[int] = mapped_column(BigInteger)
    processed_at: Mapped[datetime]
    amount: Mapped[Decimal]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    lines: Mapped[list[RefundLine]] = relationship(cascade="all, delete-orphan")


class RefundLine(Base):
    __tablename__ = "refund_lines"
    __table_args__ = (
        UniqueConstraint("refund_id", "shopify_line_item_id", name="uq_refund_line_refund_item"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    refund_id: Mapped[int] = mapped_column(ForeignKey("refunds.id", ondelete="CASCADE"))
    shopify_line_item_id: Mapped[int] = mapped_column(BigInteger)
    quantity: Mapped[int]
    subtotal: Mapped[Decimal]


class Fulfillment(Base):
    __tablename__ = "fulfillments"
    __table_args__ = (
        UniqueConstraint("shop_id", "shopify_id", name="uq_fulfillment_shop_shopify_id"),
        Index("ix_fulfillments_shop_order", "shop_id", "order_id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    shopify_id: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str | None] = mapped_column(String(32))
    shipment_status: Mapped[str | None] = mapped_column(String(32))
    shopify_created_at: Mapped[datetime | None]
    shopify_updated_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    last_event_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
