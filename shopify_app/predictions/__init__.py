"""Predicted customer lifetime value: the BG/NBD and Gamma-Gamma model, fitting and reading.

`clv_model` is the pure model, `calibration` the per-customer summary it is fitted to,
`fitting` the nightly refresh that fits and stores, `reading` what the dashboard reads. The
edges and other modules use the names below.
"""

from shopify_app.predictions.calibration import CustomerSummary
from shopify_app.predictions.calibration import build_calibration_summary
from shopify_app.predictions.fitting import MIN_REPEAT_BUYERS
from shopify_app.predictions.fitting import ModelStatus
from shopify_app.predictions.fitting import PredictionRun
from shopify_app.predictions.fitting import refresh_predictions
from shopify_app.predictions.reading import DEFAULT_P_ALIVE_THRESHOLD
from shopify_app.predictions.reading import MAX_AT_RISK_LIMIT
from shopify_app.predictions.reading import AtRiskCustomer
from shopify_app.predictions.reading import PredictionsSummary
from shopify_app.predictions.reading import list_at_risk_customers
from shopify_app.predictions.reading import load_predictions_summary

__all__ = [
    "DEFAULT_P_ALIVE_THRESHOLD",
    "MAX_AT_RISK_LIMIT",
    "MIN_REPEAT_BUYERS",
    "AtRiskCustomer",
    "CustomerSummary",
    "ModelStatus",
    "PredictionRun",
    "PredictionsSummary",
    "build_calibration_summary",
    "list_at_risk_customers",
    "load_predictions_summary",
    "refresh_predictions",
]
