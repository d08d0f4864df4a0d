"""backfill runs and reconciliation watermarks

Revision ID: 0004
Revises: 0001
Create Date: 2026-11-23 01:40:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shopify_app.models.base


revision: str = '0004'
down_revision: str | Sequence[str] | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('backfill_runs',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('shop_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('bulk_operation_id', sa.String(length=255), nullable=True),
    sa.Column('bulk_status', sa.String(length=32), nullable=True),
    sa.Column('result_url', sa.Text(), nullable=True),
    sa.Column('object_count', sa.BigInteger(), nullable=True),
    sa.Column('lines_processed', sa.BigInteger(), nullable=False),
    sa.Column('last_object_id', sa.String(length=255), nullable=True),
    sa.Column('imported_count', sa.BigInteger(), nullable=False),
    sa.Column('skipped_count', sa.BigInteger(), nullable=False),
    sa.Column('is_history_limited', sa.Boolean(), nullable=False),
    sa.Column('history_since', shopify_app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.BigInteger(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_at', shopify_app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('started_at', shopify_app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('heartbeat_at', shopify_app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('finished_at', shopify_app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_backfill_runs_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_backfill_runs'))
    )
    with op.batch_alter_table('backfill_runs', schema=None) as batch_op:
        batch_op.create_index('ix_backfill_runs_shop_kind_created', ['shop_id', 'kind', 'created_at'], unique=False)
        batch_op.create_index('ix_backfill_runs_status', ['status'], unique=False)

    op.create_table('sync_watermarks',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('shop_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('resource', sa.String(length=16), nullable=False),
    sa.Column('synced_until', shopify_app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_success_at', shopify_app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_attempt_at', shopify_app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('consecutive_failures', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_sync_watermarks_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sync_watermarks')),
    sa.UniqueConstraint('shop_id', 'resource', name='uq_sync_watermark_shop_resource')
    )


def downgrade() -> None:
    op.drop_table('sync_watermarks')
    with op.batch_alter_table('backfill_runs', schema=None) as batch_op:
        batch_op.drop_index('ix_backfill_runs_status')
        batch_op.drop_index('ix_backfill_runs_shop_kind_created')

    op.drop_table('backfill_runs')
