"""Per-shop flow switches and tuned parameters, and the scheduler's lease."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON
from sqlalchemy import ForeignKey
from sqlalchemy import String
from sqlalchemy import UniqueConstraint
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from shopify_app.models.base import Base
from shopify_app.models.base import BigIntPK
from shopify_app.models.base import utcnow


class FlowSettings(Base):
    """One row per shop and flow; `params` is validated by the flow's marshmallow schema.

    The pseudo-flow "messaging" holds the rules shared by every flow (quiet hours, frequency cap,
    attribution window).
    """

    __tablename__ = "flow_settings"
    __table_args__ = (UniqueConstraint("shop_id", "flow", name="uq_flow_settings_shop_flow"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    flow: Mapped[str] = mapped_column(String(32))
    enabled: Mapped[bool] = mapped_column(default=True)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class SchedulerLease(Base):
    """Who runs the scheduler: a second scheduler process stays idle while the lease is held."""

    __tablename__ = "scheduler_leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(255))
    expires_at: Mapped[datetime]
    renewed_at: Mapped[datetime]
