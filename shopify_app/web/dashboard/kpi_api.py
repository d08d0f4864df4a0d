"""GET /api/kpis, /api/kpis/timeseries, /api/cohorts, /api/products/repurchase: read-only KPIs."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from datetime import timedelta
from decimal import Decimal
from typing import Any

from flask import Blueprint
from flask import Response
from flask import jsonify
from marshmallow import Schema
from marshmallow import fields

from shopify_app.analytics import kpi_snapshots
from shopify_app.analytics import kpis
from shopify_app.context import get_settings
from shopify_app.db import get_session
from shopify_app.web import query
from shopify_app.web.auth.session_guard import current_shop

bp = Blueprint("kpi_api", __name__)

MAX_PRODUCTS = 50
# Keys whose period-over-period change the page shows; money and counts alike.
CHANGE_KEYS = (
    "customers",
    "orders",
    "gross_revenue",
    "net_revenue",
    "average_order_value",
    "purchase_frequency",
    "repeat_purchase_rate",
    "returning_customer_rate",
    "customer_retention_rate",
    "historic_clv",
    "median_days_between_orders",
    "repeat_within_90_days_rate",
)


def _money() -> fields.Decimal:
    return fields.Decimal(as_string=True, allow_none=True)


def _rate() -> fields.Float:
    return fields.Float(allow_none=True)


class KpiValuesSchema(Schema):
    period_from = fields.Date(data_key="from", attribute="period.start")
    period_to = fields.Date(data_key="to", attribute="period.end")
    customers = fields.Integer()
    new_customers = fields.Integer()
    orders = fields.Integer()
    gross_revenue = _money()
    refunds = _money()
    net_revenue = _money()
    average_order_value = _money()
    purchase_frequency = _rate()
    repeat_purchase_rate = _rate()
    returning_customer_rate = _rate()
    customers_active_at_start = fields.Integer()
    customers_active_at_end = fields.Integer()
    customer_retention_rate = _rate()
    historic_clv = _money()
    historic_clv_median = _money()
    median_days_between_orders = _rate()
    mean_days_between_orders = _rate()
    repeat_within_90_days_rate = _rate()
    repeat_within_90_days_eligible = fields.Integer()


class KpiSummarySchema(KpiValuesSchema):
    computed_at = fields.AwareDateTime()
    is_current = fields.Boolean()
    currency = fields.String()
    iana_timezone = fields.String()
    active_days = fields.Integer()
    previous = fields.Nested(KpiValuesSchema)
    change = fields.Dict(keys=fields.String(), values=fields.Float(allow_none=True))


class CohortCellSchema(Schema):
    offset = fields.Integer()
    customers = fields.Integer(allow_none=True)
    share = _rate()
    cumulative_share = _rate()
    is_complete = fields.Boolean()


class CohortRowSchema(Schema):
    month = fields.String()
    size = fields.Integer()
    cells = fields.List(fields.Nested(CohortCellSchema))


class CohortTableSchema(Schema):
    period_from = fields.Date(data_key="from", attribute="period.start")
    period_to = fields.Date(data_key="to", attribute="period.end")
    offsets = fields.List(fields.Integer())
    cohorts = fields.List(fields.Nested(CohortRowSchema), attribute="rows")


class WeekPointSchema(Schema):
    week_start = fields.Date()
    customers = fields.Integer()
    returning_customers = fields.Integer()
    repeat_rate = _rate()
    orders = fields.Integer()
    new_customer_revenue = _money()
    returning_customer_revenue = _money()
    is_complete = fields.Boolean()


class TimeseriesSchema(Schema):
    period_from = fields.Date(data_key="from")
    period_to = fields.Date(data_key="to")
    currency = fields.String()
    weeks = fields.List(fields.Nested(WeekPointSchema))


class RepurchasedProductSchema(Schema):
    product_id = fields.Integer()
    title = fields.String(allow_none=True)
    buyers = fields.Integer()
    repurchasers = fields.Integer()
    repurchase_rate = _rate()
    median_days_to_repurchase = _rate()


class RepurchaseListSchema(Schema):
    products = fields.List(fields.Nested(RepurchasedProductSchema))


def _now() -> datetime:
    return datetime.now(UTC)


def _period() -> kpis.Period:
    return query.period_arg()


def _change(current: Any, previous: Any) -> float | None:
    if current is None or previous is None or previous == 0:
        return None
    return float((Decimal(str(current)) - Decimal(str(previous))) / abs(Decimal(str(previous))))


@bp.get("/kpis")
def show_kpis() -> Response:
    period = _period()
    settings = get_settings()
    session = get_session()
    reading = kpi_snapshots.read_summary(
        session,
        shop_id=current_shop().id,
        period=period,
        now=_now(),
        active_days=settings.retention_active_days,
        max_stale=timedelta(seconds=settings.kpi_snapshot_max_stale_seconds),
    )
    session.commit()  # keeps a snapshot computed for this request
    summary = reading.summary
    body = {
        **summary.current.__dict__,
        "computed_at": reading.computed_at,
        "is_current": reading.is_current,
        "currency": summary.currency,
        "iana_timezone": summary.iana_timezone,
        "active_days": summary.active_days,
        "previous": summary.previous,
        "change": {
            key: _change(getattr(summary.current, key), getattr(summary.previous, key))
            for key in CHANGE_KEYS
        },
    }
    return jsonify(KpiSummarySchema().dump(body))


@bp.get("/kpis/timeseries")
def show_timeseries() -> Response:
    period = _period()
    shop = current_shop()
    weeks = kpis.load_weekly_series(
        get_session(),
        shop_id=shop.id,
        period_start=period.start,
        period_end=period.end,
        now=_now(),
    )
    return jsonify(
        TimeseriesSchema().dump(
            {
                "period_from": period.start,
                "period_to": period.end,
                "currency": shop.currency,
                "weeks": weeks,
            }
        )
    )


@bp.get("/cohorts")
def show_cohorts() -> Response:
    period = _period()
    table = kpis.load_cohorts(
        get_session(),
        shop_id=current_shop().id,
        period_start=period.start,
        period_end=period.end,
        now=_now(),
    )
    body = {
        "period": table.period,
        "offsets": list(range(1, kpis.COHORT_OFFSETS + 1)),
        "rows": [
            {"month": row.month.strftime("%Y-%m"), "size": row.size, "cells": row.cells}
            for row in table.rows
        ],
    }
    return jsonify(CohortTableSchema().dump(body))


@bp.get("/products/repurchase")
def show_repurchased_products() -> Response:
    limit = query.whole_number_arg("limit", default=10, minimum=1, maximum=MAX_PRODUCTS)
    products = kpis.load_top_repurchased_products(
        get_session(), shop_id=current_shop().id, limit=limit
    )
    return jsonify(RepurchaseListSchema().dump({"products": products}))
