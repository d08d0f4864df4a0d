"""Predicted CLV and churn risk: one row per scored customer, one model fit row per shop."""

from __future__ import annotations

from datetime import date
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Date
from sqlalchemy import Float
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy import UniqueConstraint
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from shopify_app.models.base import Base
from shopify_app.models.base import BigIntPK


class CustomerPrediction(Base):
    """A customer's calibration summary and what the shop's model predicts for them.

    Time is in days and money in the shop's currency; the history columns (orders, revenue, last
    order) are stored here so the at-risk list reads this table alone.
    """

    __tablename__ = "customer_predictions"
    __table_args__ = (
        UniqueConstraint("shop_id", "customer_id", name="uq_customer_prediction_shop_customer"),
        Index("ix_customer_predictions_shop_p_alive", "shop_id", "p_alive"),
        Index("ix_customer_predictions_shop_revenue", "shop_id", "historic_revenue"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    frequency: Mapped[int]
    recency_days: Mapped[int]
    age_days: Mapped[int]
    monetary_value: Mapped[Decimal]
    orders_count: Mapped[int]
    historic_revenue: Mapped[Decimal]
    first_order_at: Mapped[datetime]
    last_order_at: Mapped[datetime]
    p_alive: Mapped[float] = mapped_column(Float)
    expected_orders_90: Mapped[float] = mapped_column(Float)
    expected_orders_365: Mapped[float] = mapped_column(Float)
    expected_order_value: Mapped[Decimal]
    predicted_clv_365: Mapped[Decimal]
    expected_next_order_date: Mapped[date | None] = mapped_column(Date)
    computed_at: Mapped[datetime]


class PredictionModelFit(Base):
    """The shop's latest model: fitted to its own customers, or the documented prior and why."""

    __tablename__ = "prediction_model_fits"

    shop_id: Mapped[int] = mapped_column(
        ForeignKey("shops.id", ondelete="CASCADE"), primary_key=True
    )
    status: Mapped[str] = mapped_column(String(16))
    status_reason: Mapped[str] = mapped_column(Text)
    r: Mapped[float] = mapped_column(Float)
    alpha: Mapped[float] = mapped_column(Float)
    a: Mapped[float] = mapped_column(Float)
    b: Mapped[float] = mapped_column(Float)
    p: Mapped[float] = mapped_column(Float)
    q: Mapped[float] = mapped_column(Float)
    gamma: Mapped[float] = mapped_column(Float)
    bgnbd_log_likelihood: Mapped[float | None] = mapped_column(Float)
    customers_used: Mapped[int]
    repeat_buyers: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3))
    annual_discount_rate: Mapped[float] = mapped_column(Float)
    high_value_threshold: Mapped[Decimal | None]
    mean_predicted_clv_365: Mapped[Decimal]
    expected_orders_90_total: Mapped[float] = mapped_column(Float)
    expected_orders_365_total: Mapped[float] = mapped_column(Float)
    computed_at: Mapped[datetime]
