"""NPS responses and merchant-edited email templates

Revision ID: 0009
Revises: 0007
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shopify_app.models.base

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "email_template_overrides",
        sa.Column("id", ID, nullable=False),
        sa.Column("shop_id", ID, nullable=False),
        sa.Column("flow", sa.String(length=32), nullable=False),
        sa.Column("step", sa.BigInteger(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=True),
        sa.Column("html", sa.Text(), nullable=True),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column(
            "updated_at", shopify_app.models.base.UTCDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"],
            name=op.f("fk_email_template_overrides_shop_id_shops"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_email_template_overrides")),
        sa.UniqueConstraint(
            "shop_id", "flow", "step", name="uq_email_template_override_shop_step"
        ),
    )
    op.create_table(
        "nps_responses",
        sa.Column("id", ID, nullable=False),
        sa.Column("shop_id", ID, nullable=False),
        sa.Column("customer_id", ID, nullable=True),
        sa.Column("message_id", ID, nullable=False),
        sa.Column("order_id", ID, nullable=True),
        sa.Column("score", sa.BigInteger(), nullable=False),
        sa.Column(
            "responded_at", shopify_app.models.base.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "created_at", shopify_app.models.base.UTCDateTime(timezone=True), nullable=False
        ),
        sa.CheckConstraint(
            "score >= 0 AND score <= 10", name=op.f("ck_nps_responses_score_range")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"],
            name=op.f("fk_nps_responses_customer_id_customers"), ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["message_id"], ["messages.id"],
            name=op.f("fk_nps_responses_message_id_messages"), ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"],
            name=op.f("fk_nps_responses_order_id_orders"), ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"],
            name=op.f("fk_nps_responses_shop_id_shops"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_nps_responses")),
        sa.UniqueConstraint("shop_id", "message_id", name="uq_nps_response_shop_message"),
    )
    op.create_index(
        "ix_nps_responses_shop_responded", "nps_responses", ["shop_id", "responded_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_nps_responses_shop_responded", table_name="nps_responses")
    op.drop_table("nps_responses")
    op.drop_table("email_template_overrides")
