"""Nightly job `rollups.rebuild`: recompute one shop's KPI aggregates from its orders."""

from __future__ import annotations

import logging
from datetime import datetime

from flask import Flask

from shopify_app.analytics.rollups.rebuild import rebuild_rollups
from shopify_app.context import get_settings
from shopify_app.db import get_database

logger = logging.getLogger(__name__)


def rebuild_shop_rollups(app: Flask, shop_id: int, *, now: datetime) -> int:
    """Rebuild the shop's aggregates in one transaction, so the dashboard never sees half of it."""
    with get_database(app).session_scope() as session:
        # Keep the configured retention window's activity deltas, so a changed setting is fast.
        active_days = [get_settings(app).retention_active_days]
        counted = rebuild_rollups(session, shop_id=shop_id, now=now, active_days=active_days)
    logger.info("Rebuilt KPI rollups from %d orders", counted, extra={"shop_id": shop_id})
    return counted
