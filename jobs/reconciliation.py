"""Jobs that repair what webhooks missed, per shop, from Shopify's own record."""

from __future__ import annotations

import logging

from flask import Flask

from shopify_app.db import get_database
from shopify_app.models.base import utcnow
from shopify_app.shop_clients import graphql_client_for
from shopify_app.store.sync import reconciliation

logger = logging.getLogger(__name__)


def reconcile_shops(app: Flask) -> int:
    """Reconcile every installed shop; return how many succeeded (failures stay per shop)."""
    now = utcnow()
    results = reconciliation.reconcile_all_shops(
        get_database(app).session_factory,
        client_for=lambda shop_id: graphql_client_for(app, shop_id, now=now),
        now=now,
    )
    failed = [r.shop_domain for r in results if not r.is_success]
    if failed:
        logger.warning("Reconciliation failed for %d of %d shops", len(failed), len(results))
    return len(results) - len(failed)


def reconcile_shop(app: Flask, shop_id: int) -> dict[str, int]:
    """Reconcile one shop now; return the number of objects fed through per resource."""
    now = utcnow()
    result = reconciliation.reconcile_shop(
        get_database(app).session_factory,
        shop_id=shop_id,
        client=graphql_client_for(app, shop_id, now=now),
        now=now,
    )
    return result.counts
