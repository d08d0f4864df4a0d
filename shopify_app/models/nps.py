"""Net Promoter Score answers, recorded from the signed 0-10 links in review request emails."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import UniqueConstraint
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from shopify_app.models.base import Base
from shopify_app.models.base import BigIntPK
from shopify_app.models.base import utcnow


class NpsResponse(Base):
    """One answer per message: the first click counts, later clicks are refused."""

    __tablename__ = "nps_responses"
    __table_args__ = (
        UniqueConstraint("shop_id", "message_id", name="uq_nps_response_shop_message"),
        CheckConstraint("score >= 0 AND score <= 10", name="score_range"),
        Index("ix_nps_responses_shop_responded", "shop_id", "responded_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="SET NULL"))
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id", ondelete="SET NULL"))
    score: Mapped[int]
    responded_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
