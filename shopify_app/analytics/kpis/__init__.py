"""Answer the dashboard's KPI questions from the pre-aggregated rows (definitions: docs/kpis.md).

One read model per dashboard section: `summary` (/api/kpis, with `activity` for retention and
`gaps` for the days between orders), `weekly_series` (/api/kpis/timeseries), `cohorts`
(/api/cohorts) and `products` (/api/products/repurchase); `periods` names the date ranges they
are read for. This package is their public face: callers write `kpis.load_summary(...)`.
"""

from __future__ import annotations

from shopify_app.analytics.kpis.cohorts import COHORT_OFFSETS
from shopify_app.analytics.kpis.cohorts import CohortCell
from shopify_app.analytics.kpis.cohorts import CohortRow
from shopify_app.analytics.kpis.cohorts import CohortTable
from shopify_app.analytics.kpis.cohorts import load_cohorts
from shopify_app.analytics.kpis.periods import EARLIEST_DAY
from shopify_app.analytics.kpis.periods import LATEST_DAY
from shopify_app.analytics.kpis.periods import MAX_PERIOD_YEARS
from shopify_app.analytics.kpis.periods import Period
from shopify_app.analytics.kpis.periods import local_today
from shopify_app.analytics.kpis.products import RepurchasedProduct
from shopify_app.analytics.kpis.products import load_top_repurchased_products
from shopify_app.analytics.kpis.summary import KpiSummary
from shopify_app.analytics.kpis.summary import KpiValues
from shopify_app.analytics.kpis.summary import compute_values
from shopify_app.analytics.kpis.summary import load_summary
from shopify_app.analytics.kpis.weekly_series import WeekPoint
from shopify_app.analytics.kpis.weekly_series import load_weekly_series

__all__ = [
    "COHORT_OFFSETS",
    "EARLIEST_DAY",
    "LATEST_DAY",
    "MAX_PERIOD_YEARS",
    "CohortCell",
    "CohortRow",
    "CohortTable",
    "KpiSummary",
    "KpiValues",
    "Period",
    "RepurchasedProduct",
    "WeekPoint",
    "compute_values",
    "load_cohorts",
    "load_summary",
    "load_top_repurchased_products",
    "load_weekly_series",
    "local_today",
]
