"""Job `kpis.refresh`: keep the dashboard's KPI snapshots of today current (docs/kpis.md)."""

from __future__ import annotations

from datetime import datetime

from flask import Flask

from shopify_app.analytics.kpi_snapshots import refresh_snapshots
from shopify_app.context import get_settings
from shopify_app.db import get_database


def refresh_kpi_snapshots(app: Flask, shop_id: int, now: datetime) -> int:
    """Recompute the shop's KPI snapshots that orders or a new local day made stale."""
    return refresh_snapshots(
        get_database(app).session_scope,
        shop_id=shop_id,
        now=now,
        active_days=get_settings(app).retention_active_days,
    )
