"""GET /api/nps?from=YYYY-MM-DD&to=YYYY-MM-DD: Net Promoter Score and answers per week."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from typing import Any

from flask import Blueprint
from flask import Response
from flask import jsonify

from shopify_app.db import get_session
from shopify_app.messaging import nps
from shopify_app.messaging.rules import shop_zone
from shopify_app.web import query
from shopify_app.web.auth.session_guard import current_shop

bp = Blueprint("nps_api", __name__)
DEFAULT_DAYS = 90


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
    period = query.period_arg(today=today, default_days=DEFAULT_DAYS)
    report = nps.load_nps_report(get_session(), shop_id=shop.id, start=period.start, end=period.end)
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
