"""rollup active days: per-day change in active customers, per-day quick repeats of new customers

Revision ID: 0013
Revises: 0005
Create Date: 2026-11-23 02:45:00
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from datetime import timedelta

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Values of shopify_app.retention.rollups at the time of writing; a migration keeps its own copy.
DEFAULT_ACTIVE_DAYS = 365
REPEAT_WINDOW_DAYS = 90
_BATCH = 5000


def upgrade() -> None:
    op.create_table(
        "rollup_active_days",
        sa.Column("shop_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("active_days", sa.BigInteger(), nullable=False),
        sa.Column("local_date", sa.Date(), nullable=False),
        sa.Column("delta", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["shop_id"],
            ["shops.id"],
            name=op.f("fk_rollup_active_days_shop_id_shops"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "shop_id", "active_days", "local_date", name=op.f("pk_rollup_active_days")
        ),
    )
    op.add_column(
        "rollup_days",
        sa.Column("new_customers_repeat", sa.BigInteger(), nullable=False, server_default="0"),
    )
    _backfill()


def _backfill() -> None:
    """Derive the new aggregates from the existing per-customer rows, so upkeep starts complete."""
    bind = op.get_bind()
    op.execute(
        sa.text(
            "UPDATE rollup_days SET new_customers_repeat = ("
            " SELECT COUNT(*) FROM rollup_customers c"
            " WHERE c.shop_id = rollup_days.shop_id AND c.first_date = rollup_days.local_date"
            f" AND c.days_to_next_day <= {REPEAT_WINDOW_DAYS})"
        )
    )
    days = sa.table(
        "rollup_customer_days",
        sa.column("shop_id", sa.Integer()),
        sa.column("customer_key", sa.String()),
        sa.column("local_date", sa.Date()),
    )
    deltas = sa.table(
        "rollup_active_days",
        sa.column("shop_id", sa.Integer()),
        sa.column("active_days", sa.Integer()),
        sa.column("local_date", sa.Date()),
        sa.column("delta", sa.Integer()),
    )
    totals: dict[tuple[int, date], int] = defaultdict(int)
    current: tuple[int, str] | None = None
    span_end: date | None = None  # first inactive day of the customer's current span
    rows = bind.execute(
        sa.select(days.c.shop_id, days.c.customer_key, days.c.local_date)
        .order_by(days.c.shop_id, days.c.customer_key, days.c.local_date)
        .execution_options(yield_per=_BATCH)
    )
    for shop_id, key, day in rows:
        if (shop_id, key) != current:
            if current is not None and span_end is not None:
                totals[(current[0], span_end)] -= 1
            current, span_end = (shop_id, key), None
        if span_end is None or day > span_end:
            if span_end is not None:
                totals[(shop_id, span_end)] -= 1
            totals[(shop_id, day)] += 1
        span_end = day + timedelta(days=DEFAULT_ACTIVE_DAYS)
    if current is not None and span_end is not None:
        totals[(current[0], span_end)] -= 1
    values = [
        {"shop_id": s, "active_days": DEFAULT_ACTIVE_DAYS, "local_date": d, "delta": n}
        for (s, d), n in sorted(totals.items())
        if n
    ]
    for start in range(0, len(values), _BATCH):
        op.bulk_insert(deltas, values[start : start + _BATCH])


def downgrade() -> None:
    op.drop_column("rollup_days", "new_customers_repeat")
    op.drop_table("rollup_active_days")
