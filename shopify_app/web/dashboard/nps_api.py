"""GET /api/nps?from=YYYY-MM-DD&to=YYYY-MM-DD: Net Promoter Score and answers per week."""

from __future__ import annotations

from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta
from typing import Any

from flask import Blueprint
from flask import Response
from flask import jsonify
from flask import request

from shopify_app.analytics.kpis import EARLIEST_DAY
from shopify_app.analytics.kpis import LATEST_DAY
from shopify_app.db import get_session
from shopify_app.messaging import nps
from shopify_app.messaging.rules import shop_zone
from shopify_app.web.auth.session_guard import current_shop

bp = Blueprint("nps_api", __name__)
DEFAULT_DAYS = 90


def _parse_day(name: str, default: date) -> date:
    raw = request.args.get(name)
    if not raw:
        return default
    try:
        day = date.fromisoformat(raw)
    except ValueError as exc:
        raise nps.InvalidNpsPeriod(f"'{name}' must be a date like 2026-03-01") from exc
    if not EARLIEST_DAY <= day <= LATEST_DAY:  # far dates overflow when shifted to UTC
        raise nps.InvalidNpsPeriod(f"'{name}' must lie between {EARLIEST_DAY} and {LATEST_DAY}")
    return day


def _counts(counts: nps.NpsCounts) -> dict[str, Any]:
    return {
        "nps": counts.nps,
        "responses": counts.responses,
        "promoters": counts.promoters,
        "passives": counts.passives,
        "detractors": counts.detractors,
    }


@bp.get("/nps")
def show_nps() -> Response:
    shop = current_shop()
    today = datetime.now(UTC).astimezone(shop_zone(shop.iana_timezone)).date()
    first = _parse_day("from", today - timedelta(days=DEFAULT_DAYS - 1))
    last = _parse_day("to", today)
    report = nps.load_nps_report(get_session(), shop_id=shop.id, start=first, end=last)
    return jsonify(
        {
            "from": report.start.isoformat(),
            "to": report.end.isoformat(),
            **_counts(report.totals),
            "weeks": [
                {"week_start": week.week_start.isoformat(), **_counts(week.counts)}
                for week in report.weeks
            ],
        }
    )
