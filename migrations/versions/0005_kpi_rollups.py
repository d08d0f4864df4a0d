"""kpi rollups

Revision ID: 0005
Revises: 0001
Create Date: 2026-11-23 01:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shopify_app.models.base


revision: str = "0005"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('rollup_customer_days',
    sa.Column('shop_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('customer_key', sa.String(length=40), nullable=False),
    sa.Column('local_date', sa.Date(), nullable=False),
    sa.Column('week_start', sa.Date(), nullable=False),
    sa.Column('orders', sa.BigInteger(), nullable=False),
    sa.Column('priced_orders', sa.BigInteger(), nullable=False),
    sa.Column('revenue_cents', sa.BigInteger(), nullable=False),
    sa.Column('new_revenue_cents', sa.BigInteger(), nullable=False),
    sa.Column('orders_before', sa.BigInteger(), nullable=False),
    sa.Column('prev_date', sa.Date(), nullable=True),
    sa.Column('next_date', sa.Date(), nullable=True),
    sa.Column('gap_days', sa.BigInteger(), nullable=True),
    sa.Column('is_first_in_week', sa.Boolean(), nullable=False),
    sa.Column('is_returning_in_week', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_rollup_customer_days_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('shop_id', 'customer_key', 'local_date', name=op.f('pk_rollup_customer_days'))
    )
    op.create_index('ix_rollup_customer_days_shop_date', 'rollup_customer_days', ['shop_id', 'local_date', 'prev_date', 'next_date', 'orders', 'orders_before', 'gap_days', 'revenue_cents', 'customer_key'], unique=False)
    op.create_table('rollup_customer_months',
    sa.Column('shop_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('customer_key', sa.String(length=40), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('cohort_month', sa.Date(), nullable=False),
    sa.Column('month_offset', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_rollup_customer_months_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('shop_id', 'customer_key', 'month', name=op.f('pk_rollup_customer_months'))
    )
    op.create_index('ix_rollup_customer_months_shop_cohort', 'rollup_customer_months', ['shop_id', 'cohort_month', 'month_offset'], unique=False)
    op.create_table('rollup_customer_products',
    sa.Column('shop_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('customer_key', sa.String(length=40), nullable=False),
    sa.Column('product_id', sa.BigInteger(), nullable=False),
    sa.Column('orders', sa.BigInteger(), nullable=False),
    sa.Column('repurchase_days', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_rollup_customer_products_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('shop_id', 'customer_key', 'product_id', name=op.f('pk_rollup_customer_products'))
    )
    op.create_index('ix_rollup_customer_products_shop_product', 'rollup_customer_products', ['shop_id', 'product_id'], unique=False)
    op.create_table('rollup_customers',
    sa.Column('shop_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('customer_key', sa.String(length=40), nullable=False),
    sa.Column('first_date', sa.Date(), nullable=False),
    sa.Column('last_date', sa.Date(), nullable=False),
    sa.Column('cohort_month', sa.Date(), nullable=False),
    sa.Column('order_count', sa.BigInteger(), nullable=False),
    sa.Column('revenue_cents', sa.BigInteger(), nullable=False),
    sa.Column('days_to_next_day', sa.BigInteger(), nullable=True),
    sa.Column('repeat_month_offset', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_rollup_customers_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('shop_id', 'customer_key', name=op.f('pk_rollup_customers'))
    )
    op.create_index('ix_rollup_customers_shop_cohort', 'rollup_customers', ['shop_id', 'cohort_month'], unique=False)
    op.create_index('ix_rollup_customers_shop_first_date', 'rollup_customers', ['shop_id', 'first_date'], unique=False)
    op.create_table('rollup_days',
    sa.Column('shop_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('local_date', sa.Date(), nullable=False),
    sa.Column('orders', sa.BigInteger(), nullable=False),
    sa.Column('priced_orders', sa.BigInteger(), nullable=False),
    sa.Column('gross_cents', sa.BigInteger(), nullable=False),
    sa.Column('refunds_cents', sa.BigInteger(), nullable=False),
    sa.Column('new_customers', sa.BigInteger(), nullable=False),
    sa.Column('new_customer_revenue_cents', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_rollup_days_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('shop_id', 'local_date', name=op.f('pk_rollup_days'))
    )
    op.create_table('rollup_orders',
    sa.Column('order_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('shop_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('customer_key', sa.String(length=40), nullable=False),
    sa.Column('placed_at', shopify_app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('local_date', sa.Date(), nullable=False),
    sa.Column('amount_cents', sa.BigInteger(), nullable=False),
    sa.Column('is_priced', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_rollup_orders_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('order_id', name=op.f('pk_rollup_orders'))
    )
    op.create_index('ix_rollup_orders_shop_customer', 'rollup_orders', ['shop_id', 'customer_key'], unique=False)
    op.create_table('rollup_product_gaps',
    sa.Column('shop_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('product_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('gap_days', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('customers', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_rollup_product_gaps_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('shop_id', 'product_id', 'gap_days', name=op.f('pk_rollup_product_gaps'))
    )
    op.create_table('rollup_products',
    sa.Column('shop_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('product_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('buyers', sa.BigInteger(), nullable=False),
    sa.Column('repurchasers', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_rollup_products_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('shop_id', 'product_id', name=op.f('pk_rollup_products'))
    )
    op.create_table('rollup_refunds',
    sa.Column('refund_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('shop_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('order_id', sa.BigInteger(), nullable=False),
    sa.Column('local_date', sa.Date(), nullable=False),
    sa.Column('amount_cents', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_rollup_refunds_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('refund_id', name=op.f('pk_rollup_refunds'))
    )
    op.create_index('ix_rollup_refunds_shop_order', 'rollup_refunds', ['shop_id', 'order_id'], unique=False)
    op.create_table('rollup_weeks',
    sa.Column('shop_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('week_start', sa.Date(), nullable=False),
    sa.Column('customers', sa.BigInteger(), nullable=False),
    sa.Column('returning_customers', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_rollup_weeks_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('shop_id', 'week_start', name=op.f('pk_rollup_weeks'))
    )


def downgrade() -> None:
    op.drop_table('rollup_weeks')
    op.drop_index('ix_rollup_refunds_shop_order', table_name='rollup_refunds')
    op.drop_table('rollup_refunds')
    op.drop_table('rollup_products')
    op.drop_table('rollup_product_gaps')
    op.drop_index('ix_rollup_orders_shop_customer', table_name='rollup_orders')
    op.drop_table('rollup_orders')
    op.drop_table('rollup_days')
    op.drop_index('ix_rollup_customers_shop_first_date', table_name='rollup_customers')
    op.drop_index('ix_rollup_customers_shop_cohort', table_name='rollup_customers')
    op.drop_table('rollup_customers')
    op.drop_index('ix_rollup_customer_products_shop_product', table_name='rollup_customer_products')
    op.drop_table('rollup_customer_products')
    op.drop_index('ix_rollup_customer_months_shop_cohort', table_name='rollup_customer_months')
    op.drop_table('rollup_customer_months')
    op.drop_index('ix_rollup_customer_days_shop_date', table_name='rollup_customer_days')
    op.drop_table('rollup_customer_days')
