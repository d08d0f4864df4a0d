"""GET /api/flows/results?from=YYYY-MM-DD&to=YYYY-MM-DD: what each flow step earned."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from datetime import time
from datetime import timedelta
from typing import Any

from flask import Blueprint
from flask import Response
from flask import jsonify

from shopify_app.db import get_session
from shopify_app.messaging.attribution import FlowStepResult
from shopify_app.messaging.attribution import GroupResult
from shopify_app.messaging.attribution import load_flow_results
from shopify_app.messaging.rules import shop_zone
from shopify_app.money import amount_text
from shopify_app.web import query
from shopify_app.web.auth.session_guard import current_shop

bp = Blueprint("flow_results_api", __name__)
DEFAULT_DAYS = 30


@bp.get("/flows/results")
def show_flow_results() -> Response:
    shop = current_shop()
    zone = shop_zone(shop.iana_timezone)
    today = datetime.now(UTC).astimezone(zone).date()
    period = query.period_arg(today=today, default_days=DEFAULT_DAYS)
    first, last = period.start, period.end
    start = datetime.combine(first, time(0), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(last + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
    results = load_flow_results(get_session(), shop_id=shop.id, period_start=start, period_end=end)
    return jsonify(
        {
            "from": first.isoformat(),
            "to": last.isoformat(),
            "currency": shop.currency,
            "steps": [_dump(result) for result in results],
        }
    )


def _group(group: GroupResult) -> dict[str, Any]:
    return {
        "eligible": group.eligible,
        "converted": group.converted,
        "revenue": amount_text(group.revenue),
        "conversion_rate": group.conversion_rate,
        "revenue_per_1000": amount_text(group.revenue_per_1000),
    }


def _interval(pair: tuple[Any, Any] | None, money: bool = False) -> list[Any] | None:
    if pair is None:
        return None
    return [amount_text(v) for v in pair] if money else list(pair)


def _dump(result: FlowStepResult) -> dict[str, Any]:
    return {
        "flow": result.flow,
        "step": result.step,
        "planned": result.planned,
        "eligible": result.eligible,
        "sent": result.sent,
        "held_out": result.held_out,
        "failed": result.failed,
        "suppressed": result.suppressed,
        "cancelled": result.cancelled,
        "converted": result.converted,
        "attributed_revenue": amount_text(result.attributed_revenue),
        "treated": _group(result.treated),
        "control": _group(result.control),
        "conversion_lift": result.conversion_lift,
        "conversion_lift_ci95": _interval(result.conversion_lift_ci95),
        "revenue_per_1000_lift": amount_text(result.revenue_per_1000_lift),
        "revenue_per_1000_lift_ci95": _interval(result.revenue_per_1000_lift_ci95, money=True),
        "incremental_revenue": amount_text(result.incremental_revenue),
        "incremental_revenue_ci95": _interval(result.incremental_revenue_ci95, money=True),
    }
