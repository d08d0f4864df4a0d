"""The CDNOW cohort replayed as webhooks through the inbox and the batch worker: pinned KPIs.

4,814 orders/create deliveries (`tests.support.cdnow`) are stored in the inbox and drained by
`webhooks.worker.drain`, the worker's own loop: claims sized by the time budget, one transaction
per batch, each batch's orders stored as one set. The KPIs of the calibration period are pinned
as the code gave them when this test was written, so any change in what ingestion stores, or in
how the rollups count it, fails here. A rebuild of the rollups from the stored orders must give
the same figures as their incremental upkeep.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable
from datetime import UTC
from datetime import date
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy.orm import Session

from shopify_app.analytics.kpis.summary import load_summary
from shopify_app.analytics.rollups.rebuild import rebuild_rollups
from shopify_app.db import Database
from shopify_app.models import Shop
from tests.support import cdnow
from tests.support.inbox_runs import record_events
from webhooks import worker

SHOP = "cdnow.myshopify.com"
RECEIVED = datetime(1997, 10, 1, 6, 0, tzinfo=UTC)


PINNED: dict[str, Any] = {
    "customers": 2357,
    "new_customers": 2357,
    "orders": 4814,
    "gross_revenue": Decimal("142651.32"),
    "refunds": Decimal("0.00"),
    "net_revenue": Decimal("142651.32"),
    "average_order_value": Decimal("29.63"),
    "purchase_frequency": 2.0424268137462875,
    "repeat_purchase_rate": 0.4013576580398812,
    "returning_customer_rate": 0.4013576580398812,
    "customers_active_at_start": 0,
    "customers_active_at_end": 2357,
    "customer_retention_rate": None,
    "historic_clv": Decimal("60.52"),
    "historic_clv_median": Decimal("10.00"),
    "median_days_between_orders": 34.0,
    "mean_days_between_orders": 45.97028897028897,
    "repeat_within_90_days_rate": 0.3037759864234196,
    "repeat_within_90_days_eligible": 2357,
}
"""The calibration period's KPIs as ingestion and the rollups gave them when this was pinned."""


def calibration_kpis(session: Session, shop: Shop) -> dict[str, Any]:
    summary = load_summary(
        session,
        shop_id=shop.id,
        period_start=date(1997, 1, 1),
        period_end=date(1997, 9, 30),
        now=RECEIVED,
    )
    values = dataclasses.asdict(summary.current)
    del values["period"]
    session.commit()
    return values


@pytest.mark.slow
def test_the_cdnow_cohort_replayed_as_webhooks_gives_the_pinned_kpis(
    database: Database, session: Session, make_shop: Callable[..., Shop]
) -> None:
    shop = make_shop(SHOP, iana_timezone="UTC", currency="USD")
    events = cdnow.order_events()
    record_events(database, shop_domain=SHOP, events=events, now=RECEIVED)

    report = worker.drain(database, now=RECEIVED)

    assert (report[worker.Outcome.DONE], report.total) == (len(events), len(events))
    kpis = calibration_kpis(session, shop)
    assert kpis == PINNED
    rebuild_rollups(session, shop_id=shop.id, now=RECEIVED)
    session.commit()
    assert calibration_kpis(session, shop) == PINNED


def test_the_pinned_cdnow_figures_are_those_of_the_cohort_summary() -> None:
    bought = cdnow.purchases()
    per_customer = Counter(purchase.customer for purchase in bought)
    repeaters = sum(1 for count in per_customer.values() if count > 1)

    assert (PINNED["orders"], PINNED["customers"]) == (len(bought), len(per_customer))
    assert PINNED["gross_revenue"] == sum(purchase.value for purchase in bought)
    assert PINNED["repeat_purchase_rate"] == repeaters / len(per_customer)
    assert PINNED["purchase_frequency"] == len(bought) / len(per_customer)
