"""GET /api/shop: who the session token says we are serving."""

from __future__ import annotations

from flask import Blueprint
from flask import Response
from flask import jsonify

from shopify_app.db import get_session
from shopify_app.models import ShopCredential
from shopify_app.web.auth.session_guard import current_shop

bp = Blueprint("shop_api", __name__)


@bp.get("/shop")
def show_shop() -> Response:
    shop = current_shop()
    credential = get_session().get(ShopCredential, shop.id)
    scopes = sorted(credential.scope_set) if credential else []
    return jsonify(
        {
            "domain": shop.domain,
            "name": shop.name,
            "currency": shop.currency,
            "iana_timezone": shop.iana_timezone,
            "installed_at": shop.installed_at.isoformat() if shop.installed_at else None,
            "scopes": scopes,
            "has_full_order_history": "read_all_orders" in scopes,
        }
    )
