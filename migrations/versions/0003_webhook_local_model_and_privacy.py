"""webhook local model versions and privacy requests

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-23 01:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shopify_app.models.base


revision: str = '0003'
down_revision: str | Sequence[str] | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('privacy_requests',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('shop_domain', sa.String(length=255), nullable=False),
    sa.Column('topic', sa.String(length=64), nullable=False),
    sa.Column('webhook_id', sa.String(length=255), nullable=True),
    sa.Column('customer_shopify_id', sa.BigInteger(), nullable=True),
    sa.Column('shopify_request_id', sa.BigInteger(), nullable=True),
    sa.Column('received_at', shopify_app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('completed_at', shopify_app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('export', sa.JSON(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_privacy_requests')),
    sa.UniqueConstraint('shop_domain', 'webhook_id', name='uq_privacy_request_shop_webhook')
    )
    with op.batch_alter_table('privacy_requests', schema=None) as batch_op:
        batch_op.create_index('ix_privacy_requests_shop_received', ['shop_domain', 'received_at'], unique=False)

    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_event_at', shopify_app.models.base.UTCDateTime(timezone=True), nullable=True))

    with op.batch_alter_table('fulfillments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_event_at', shopify_app.models.base.UTCDateTime(timezone=True), nullable=True))

    with op.batch_alter_table('shops', schema=None) as batch_op:
        batch_op.add_column(sa.Column('shopify_updated_at', shopify_app.models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('last_event_at', shopify_app.models.base.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('shops', schema=None) as batch_op:
        batch_op.drop_column('last_event_at')
        batch_op.drop_column('shopify_updated_at')

    with op.batch_alter_table('fulfillments', schema=None) as batch_op:
        batch_op.drop_column('last_event_at')

    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.drop_column('last_event_at')

    with op.batch_alter_table('privacy_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_privacy_requests_shop_received')

    op.drop_table('privacy_requests')
