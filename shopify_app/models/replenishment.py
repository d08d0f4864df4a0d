"""Replenishment intervals learned from a shop's own repeat purchases."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import BigInteger
from sqlalchemy import ForeignKey
from sqlalchemy import Numeric
from sqlalchemy import UniqueConstraint
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from shopify_app.models.base import Base
from shopify_app.models.base import BigIntPK


class ReplenishmentInterval(Base):
    """Median days one unit of a product lasts, from consecutive purchases by the same customer.

    `variant_id` 0 means "any variant of the product" (a NULL would defeat the unique constraint).
    """

    __tablename__ = "replenishment_intervals"
    __table_args__ = (
        UniqueConstraint(
            "shop_id", "product_id", "variant_id", name="uq_replenishment_interval_product"
        ),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    product_id: Mapped[int] = mapped_column(BigInteger)
    variant_id: Mapped[int] = mapped_column(BigInteger, default=0)
    days_per_unit: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    repeat_pairs: Mapped[int]
    computed_at: Mapped[datetime]
