"""GET /api/privacy/requests: the shop's privacy requests, and the exports of data requests."""

from __future__ import annotations

from flask import Blueprint
from flask import Response
from flask import jsonify

from shopify_app.db import get_session
from shopify_app.privacy import list_privacy_requests
from shopify_app.privacy import load_export
from shopify_app.web.auth.session_guard import current_shop

bp = Blueprint("privacy_api", __name__, url_prefix="/privacy")


@bp.get("/requests")
def list_requests() -> Response:
    requests = list_privacy_requests(get_session(), shop_domain=current_shop().domain)
    return jsonify(
        {
            "requests": [
                {
                    "id": request.id,
                    "topic": request.topic,
                    "customer_shopify_id": request.customer_shopify_id,
                    "received_at": request.received_at.isoformat(),
                    "completed_at": (
                        request.completed_at.isoformat() if request.completed_at else None
                    ),
                    "has_export": request.export is not None,
                }
                for request in requests
            ]
        }
    )


@bp.get("/requests/<int:request_id>/export")
def show_export(request_id: int) -> Response:
    export = load_export(get_session(), shop_domain=current_shop().domain, request_id=request_id)
    return jsonify(export)
