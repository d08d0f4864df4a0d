"""Pre-aggregated rows the dashboard reads instead of raw orders (see docs/kpis.md).

Every row here is a pure function of the shop's orders, refunds and order lines; the nightly
rebuild recomputes them all and incremental upkeep must arrive at exactly the same rows.
"""

from __future__ import annotations

from datetime import date
from datetime import datetime

from sqlalchemy import BigInteger
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import String
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from shopify_app.models.base import Base

# Money is kept in hundredths of the shop currency (the precision of Order.total_price), so sums
# are exact integers on every backend.
# "c:<customer id>", "e:<sha256 of the normalised email, 32 hex>" or "o:<order id>".
CUSTOMER_KEY_LENGTH = 40


class RollupOrder(Base):
    """One order that counts for KPIs, as last applied to the aggregates."""

    __tablename__ = "rollup_orders"
    __table_args__ = (Index("ix_rollup_orders_shop_customer", "shop_id", "customer_key"),)

    # No foreign key: after an order is deleted this row still says what to take back out.
    order_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    customer_key: Mapped[str] = mapped_column(String(CUSTOMER_KEY_LENGTH))
    placed_at: Mapped[datetime]
    local_date: Mapped[date]
    amount_cents: Mapped[int]
    is_priced: Mapped[bool]


class RollupRefund(Base):
    """One refund of a counting order in the shop currency, dated in the shop's time zone."""

    __tablename__ = "rollup_refunds"
    __table_args__ = (Index("ix_rollup_refunds_shop_order", "shop_id", "order_id"),)

    refund_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    order_id: Mapped[int] = mapped_column(BigInteger)
    local_date: Mapped[date]
    amount_cents: Mapped[int]


class RollupDay(Base):
    """Per shop and local day: orders, revenue, refunds, first orders and their quick repeats."""

    __tablename__ = "rollup_days"

    shop_id: Mapped[int] = mapped_column(
        ForeignKey("shops.id", ondelete="CASCADE"), primary_key=True
    )
    local_date: Mapped[date] = mapped_column(primary_key=True)
    orders: Mapped[int] = mapped_column(default=0)
    priced_orders: Mapped[int] = mapped_column(default=0)
    gross_cents: Mapped[int] = mapped_column(default=0)
    refunds_cents: Mapped[int] = mapped_column(default=0)
    new_customers: Mapped[int] = mapped_column(default=0)
    new_customer_revenue_cents: Mapped[int] = mapped_column(default=0)
    # Of new_customers: those whose next order day came 1..REPEAT_WINDOW_DAYS days later.
    new_customers_repeat: Mapped[int] = mapped_column(default=0)


class RollupWeek(Base):
    """Per shop and local ISO week (Monday): customers and returning customers."""

    __tablename__ = "rollup_weeks"

    shop_id: Mapped[int] = mapped_column(
        ForeignKey("shops.id", ondelete="CASCADE"), primary_key=True
    )
    week_start: Mapped[date] = mapped_column(primary_key=True)
    customers: Mapped[int] = mapped_column(default=0)
    returning_customers: Mapped[int] = mapped_column(default=0)


class RollupCustomer(Base):
    """Per customer: lifetime facts, cohort month and first repeat."""

    __tablename__ = "rollup_customers"
    __table_args__ = (
        Index("ix_rollup_customers_shop_first_date", "shop_id", "first_date"),
        Index("ix_rollup_customers_shop_cohort", "shop_id", "cohort_month"),
    )

    shop_id: Mapped[int] = mapped_column(
        ForeignKey("shops.id", ondelete="CASCADE"), primary_key=True
    )
    customer_key: Mapped[str] = mapped_column(String(CUSTOMER_KEY_LENGTH), primary_key=True)
    first_date: Mapped[date]
    last_date: Mapped[date]
    cohort_month: Mapped[date]
    order_count: Mapped[int]
    revenue_cents: Mapped[int]
    # Whole days from the first order day to the next day with an order; None if there is none.
    days_to_next_day: Mapped[int | None]
    # Calendar months from the cohort month to the month of the second-ever order.
    repeat_month_offset: Mapped[int | None]


class RollupCustomerDay(Base):
    """Per customer and local day with orders, linked to the customer's neighbouring days."""

    __tablename__ = "rollup_customer_days"
    __table_args__ = (
        # Covers every period query, so they read the index alone.
        Index(
            "ix_rollup_customer_days_shop_date",
            "shop_id",
            "local_date",
            "prev_date",
            "next_date",
            "orders",
            "orders_before",
            "gap_days",
            "revenue_cents",
            "customer_key",
        ),
    )

    shop_id: Mapped[int] = mapped_column(
        ForeignKey("shops.id", ondelete="CASCADE"), primary_key=True
    )
    customer_key: Mapped[str] = mapped_column(String(CUSTOMER_KEY_LENGTH), primary_key=True)
    local_date: Mapped[date] = mapped_column(primary_key=True)
    week_start: Mapped[date]
    orders: Mapped[int]
    priced_orders: Mapped[int]
    revenue_cents: Mapped[int]
    new_revenue_cents: Mapped[int]
    orders_before: Mapped[int]
    prev_date: Mapped[date | None]
    next_date: Mapped[date | None]
    gap_days: Mapped[int | None]
    is_first_in_week: Mapped[bool]
    is_returning_in_week: Mapped[bool]


class RollupCustomerMonth(Base):
    """Per customer and calendar month with an order, with its offset from the cohort month."""

    __tablename__ = "rollup_customer_months"
    __table_args__ = (
        Index("ix_rollup_customer_months_shop_cohort", "shop_id", "cohort_month", "month_offset"),
    )

    shop_id: Mapped[int] = mapped_column(
        ForeignKey("shops.id", ondelete="CASCADE"), primary_key=True
    )
    customer_key: Mapped[str] = mapped_column(String(CUSTOMER_KEY_LENGTH), primary_key=True)
    month: Mapped[date] = mapped_column(primary_key=True)
    cohort_month: Mapped[date]
    month_offset: Mapped[int]


class RollupCustomerProduct(Base):
    """Per customer and product bought: how many orders had it and when it was bought again."""

    __tablename__ = "rollup_customer_products"
    __table_args__ = (Index("ix_rollup_customer_products_shop_product", "shop_id", "product_id"),)

    shop_id: Mapped[int] = mapped_column(
        ForeignKey("shops.id", ondelete="CASCADE"), primary_key=True
    )
    customer_key: Mapped[str] = mapped_column(String(CUSTOMER_KEY_LENGTH), primary_key=True)
    product_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    orders: Mapped[int]
    # Whole days from the first order with the product to the next order with it.
    repurchase_days: Mapped[int | None]


class RollupProduct(Base):
    """Per product: customers who bought it and customers who bought it in a second order."""

    __tablename__ = "rollup_products"

    shop_id: Mapped[int] = mapped_column(
        ForeignKey("shops.id", ondelete="CASCADE"), primary_key=True
    )
    product_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    buyers: Mapped[int] = mapped_column(default=0)
    repurchasers: Mapped[int] = mapped_column(default=0)


class RollupProductGap(Base):
    """Per product and whole days to repurchase: how many customers took that long."""

    __tablename__ = "rollup_product_gaps"

    shop_id: Mapped[int] = mapped_column(
        ForeignKey("shops.id", ondelete="CASCADE"), primary_key=True
    )
    product_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    gap_days: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    customers: Mapped[int] = mapped_column(default=0)


class RollupActiveDay(Base):
    """Per shop, activity window N and local day: customers becoming active minus those lapsing.

    A customer is active on day d when they have an order in [d-N+1, d]; the sum of the deltas up
    to and including d is the number of active customers on d. Rows for an N exist only while
    they are kept complete (see shopify_app.analytics.rollups.tables.tracked_active_windows).
    """

    __tablename__ = "rollup_active_days"

    shop_id: Mapped[int] = mapped_column(
        ForeignKey("shops.id", ondelete="CASCADE"), primary_key=True
    )
    active_days: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    local_date: Mapped[date] = mapped_column(primary_key=True)
    delta: Mapped[int]


class RollupVersion(Base):
    """Per shop: a counter raised by every transaction that changes the shop's aggregates.

    Anything computed from the aggregates (a KPI snapshot) records the counter it saw, so a
    reader can tell whether an order, refund or rebuild has landed since.
    """

    __tablename__ = "rollup_versions"

    shop_id: Mapped[int] = mapped_column(
        ForeignKey("shops.id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[int] = mapped_column(default=0)
