"""GET /api/backfill: how far the import of the shop's history has come."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint
from flask import Response
from flask import jsonify

from shopify_app.db import get_session
from shopify_app.models import BackfillRun
from shopify_app.store.sync import backfill_runs
from shopify_app.web.auth.session_guard import current_shop

bp = Blueprint("backfill_api", __name__)


@bp.get("/backfill")
def show_backfill() -> Response:
    shop = current_shop()
    session = get_session()
    runs = backfill_runs.latest_runs(session, shop_id=shop.id)
    has_full_history = backfill_runs.has_full_order_history(session, shop_id=shop.id)
    return jsonify(
        {
            "runs": [_run_json(run) for run in runs],
            "has_full_order_history": has_full_history,
            "order_history_days": None
            if has_full_history
            else backfill_runs.ORDER_HISTORY_LIMIT.days,
        }
    )


def _run_json(run: BackfillRun) -> dict[str, Any]:
    return {
        "id": run.id,
        "kind": run.kind,
        "status": run.status,
        "bulk_status": run.bulk_status,
        "object_count": run.object_count,
        "lines_processed": run.lines_processed,
        "imported_count": run.imported_count,
        "skipped_count": run.skipped_count,
        "is_history_limited": run.is_history_limited,
        "history_since": _iso(run.history_since),
        "error": run.error,
        "created_at": _iso(run.created_at),
        "started_at": _iso(run.started_at),
        "finished_at": _iso(run.finished_at),
    }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
