"""GET /api/predictions/summary and /api/customers/at-risk (JSON, or CSV for the at-risk list)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

from flask import Blueprint
from flask import Response
from flask import jsonify

from shopify_app import predictions
from shopify_app.db import get_session
from shopify_app.money import cents_text
from shopify_app.predictions import AtRiskCustomer
from shopify_app.predictions import PredictionsSummary
from shopify_app.web import query
from shopify_app.web.auth.session_guard import current_shop

bp = Blueprint("predictions_api", __name__)

CSV_COLUMNS = (
    "customer_id",
    "shopify_customer_id",
    "name",
    "email",
    "last_order_date",
    "orders",
    "historic_revenue",
    "p_alive",
    "predicted_clv_365",
    "expected_next_order_date",
)
# Spreadsheets run a cell starting with one of these as a formula (OWASP "CSV injection").
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


@bp.get("/predictions/summary")
def show_predictions_summary() -> Response:
    summary = predictions.load_predictions_summary(get_session(), shop_id=current_shop().id)
    return jsonify(_summary_json(summary))


@bp.get("/customers/at-risk")
def list_at_risk_customers() -> Response:
    output = query.choice_arg("format", {"json", "csv"}, default="json")
    session = get_session()
    shop_id = current_shop().id
    threshold = query.number_arg(
        "p_alive_threshold", default=predictions.DEFAULT_P_ALIVE_THRESHOLD, minimum=0, maximum=1
    )
    limit = query.whole_number_arg(
        "limit", default=100, minimum=1, maximum=predictions.MAX_AT_RISK_LIMIT
    )
    customers = predictions.list_at_risk_customers(
        session, shop_id=shop_id, limit=limit, p_alive_threshold=threshold
    )
    if output == "csv":
        return _csv_response(customers)
    summary = predictions.load_predictions_summary(session, shop_id=shop_id)
    return jsonify(
        {
            "customers": [_customer_json(c) for c in customers],
            "p_alive_threshold": threshold,
            "historic_revenue_at_least": cents_text(summary.high_value_threshold),
            "model_status": summary.model_status.value,
            "currency": summary.currency,
        }
    )


def escape_csv_cell(value: str) -> str:
    """Return *value* prefixed with a quote when a spreadsheet would run it as a formula."""
    return "'" + value if value.startswith(FORMULA_PREFIXES) else value


def _summary_json(summary: PredictionsSummary) -> dict[str, Any]:
    return {
        "model_status": summary.model_status.value,
        "reason": summary.reason,
        "parameters": summary.parameters,
        "time_unit": "days",
        "customers_scored": summary.customers_scored,
        "repeat_buyers": summary.repeat_buyers,
        "mean_predicted_clv_365": cents_text(summary.mean_predicted_clv_365),
        "expected_orders_next_90_days": summary.expected_orders_next_90_days,
        "expected_orders_next_365_days": summary.expected_orders_next_365_days,
        "currency": summary.currency,
        "annual_discount_rate": summary.annual_discount_rate,
        "at_risk_rule": {
            "p_alive_below": predictions.DEFAULT_P_ALIVE_THRESHOLD,
            "historic_revenue_at_least": cents_text(summary.high_value_threshold),
        },
        "computed_at": summary.computed_at.isoformat() if summary.computed_at else None,
    }


def _customer_json(customer: AtRiskCustomer) -> dict[str, Any]:
    return {
        "customer_id": customer.customer_id,
        "shopify_customer_id": customer.shopify_customer_id,
        "name": customer.name,
        "email": customer.email,
        "last_order_date": customer.last_order_date.isoformat(),
        "last_order_at": customer.last_order_at.isoformat(),
        "orders": customer.orders_count,
        "historic_revenue": cents_text(customer.historic_revenue),
        "p_alive": customer.p_alive,
        "predicted_clv_365": cents_text(customer.predicted_clv_365),
        "expected_next_order_date": (
            customer.expected_next_order_date.isoformat()
            if customer.expected_next_order_date
            else None
        ),
    }


def _csv_response(customers: Iterable[AtRiskCustomer]) -> Response:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for customer in customers:
        row = _customer_json(customer)
        writer.writerow(
            [
                row["customer_id"],
                row["shopify_customer_id"],
                escape_csv_cell(row["name"] or ""),
                escape_csv_cell(row["email"] or ""),
                row["last_order_date"],
                row["orders"],
                row["historic_revenue"],
                f"{customer.p_alive:.4f}",
                row["predicted_clv_365"],
                row["expected_next_order_date"] or "",
            ]
        )
    response = Response(buffer.getvalue(), mimetype="text/csv")
    response.headers["Content-Disposition"] = 'attachment; filename="at-risk-customers.csv"'
    return response
