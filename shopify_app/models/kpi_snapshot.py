"""Computed KPI summaries kept per shop and period, so the dashboard need not recompute them."""

from __future__ import annotations

from datetime import date
from datetime import datetime
from typing import Any

from sqlalchemy import JSON
from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from shopify_app.models.base import Base


class KpiSnapshot(Base):
    """The KPI summary of one period, as computed at one aggregate version on one local day.

    The summary depends on the data (rollup_version) and on the shop's local day (the 90-day
    repeat rate only counts windows that have passed), so both are kept to judge freshness.
    """

    __tablename__ = "kpi_snapshots"

    shop_id: Mapped[int] = mapped_column(
        ForeignKey("shops.id", ondelete="CASCADE"), primary_key=True
    )
    period_start: Mapped[date] = mapped_column(primary_key=True)
    period_end: Mapped[date] = mapped_column(primary_key=True)
    active_days: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    rollup_version: Mapped[int]
    local_day: Mapped[date]
    computed_at: Mapped[datetime]
    compute_ms: Mapped[int]
    summary: Mapped[dict[str, Any]] = mapped_column(JSON)
