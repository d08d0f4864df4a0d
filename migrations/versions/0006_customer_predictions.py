"""customer predictions: predicted CLV per customer and the model fit per shop

Revision ID: 0006
Revises: 0001
Create Date: 2026-11-23 01:40:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shopify_app.models.base


revision: str = '0006'
down_revision: str | Sequence[str] | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('customer_predictions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('shop_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('customer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('frequency', sa.BigInteger(), nullable=False),
    sa.Column('recency_days', sa.BigInteger(), nullable=False),
    sa.Column('age_days', sa.BigInteger(), nullable=False),
    sa.Column('monetary_value', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('orders_count', sa.BigInteger(), nullable=False),
    sa.Column('historic_revenue', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('first_order_at', shopify_app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_order_at', shopify_app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('p_alive', sa.Float(), nullable=False),
    sa.Column('expected_orders_90', sa.Float(), nullable=False),
    sa.Column('expected_orders_365', sa.Float(), nullable=False),
    sa.Column('expected_order_value', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('predicted_clv_365', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('expected_next_order_date', sa.Date(), nullable=True),
    sa.Column('computed_at', shopify_app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_customer_predictions_customer_id_customers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_customer_predictions_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customer_predictions')),
    sa.UniqueConstraint('shop_id', 'customer_id', name='uq_customer_prediction_shop_customer')
    )
    with op.batch_alter_table('customer_predictions', schema=None) as batch_op:
        batch_op.create_index('ix_customer_predictions_shop_p_alive', ['shop_id', 'p_alive'], unique=False)
        batch_op.create_index('ix_customer_predictions_shop_revenue', ['shop_id', 'historic_revenue'], unique=False)

    op.create_table('prediction_model_fits',
    sa.Column('shop_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('status_reason', sa.Text(), nullable=False),
    sa.Column('r', sa.Float(), nullable=False),
    sa.Column('alpha', sa.Float(), nullable=False),
    sa.Column('a', sa.Float(), nullable=False),
    sa.Column('b', sa.Float(), nullable=False),
    sa.Column('p', sa.Float(), nullable=False),
    sa.Column('q', sa.Float(), nullable=False),
    sa.Column('gamma', sa.Float(), nullable=False),
    sa.Column('bgnbd_log_likelihood', sa.Float(), nullable=True),
    sa.Column('customers_used', sa.BigInteger(), nullable=False),
    sa.Column('repeat_buyers', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('annual_discount_rate', sa.Float(), nullable=False),
    sa.Column('high_value_threshold', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.Column('mean_predicted_clv_365', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('expected_orders_90_total', sa.Float(), nullable=False),
    sa.Column('expected_orders_365_total', sa.Float(), nullable=False),
    sa.Column('computed_at', shopify_app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_prediction_model_fits_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('shop_id', name=op.f('pk_prediction_model_fits'))
    )


def downgrade() -> None:
    op.drop_table('prediction_model_fits')
    with op.batch_alter_table('customer_predictions', schema=None) as batch_op:
        batch_op.drop_index('ix_customer_predictions_shop_revenue')
        batch_op.drop_index('ix_customer_predictions_shop_p_alive')

    op.drop_table('customer_predictions')
