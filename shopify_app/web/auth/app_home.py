"""Verify document requests for the embedded app home, the way Shopify's own libraries do.

A document load carries `id_token` in the query. Without a valid one the browser is sent to a
bounce page: App Bridge loads there, gets a fresh token and reloads the original URL.
"""

from __future__ import annotations

import logging
from datetime import UTC
from datetime import datetime
from urllib.parse import urlencode

from flask import Blueprint
from flask import Response
from flask import redirect
from flask import render_template
from flask import request
from sqlalchemy import select
from werkzeug.wrappers import Response as HttpResponse

from shopify_app.context import get_app_credentials
from shopify_app.context import get_cipher
from shopify_app.context import get_settings
from shopify_app.db import get_session
from shopify_app.gateway.oauth import exchange_session_token
from shopify_app.gateway.session_token import InvalidSessionToken
from shopify_app.gateway.session_token import SessionClaims
from shopify_app.gateway.session_token import decode_session_token
from shopify_app.gateway.shop_domain import is_valid_shop_domain
from shopify_app.models import Shop
from shopify_app.models import ShopCredential
from shopify_app.store.credentials import has_usable_token
from shopify_app.store.credentials import install_shop

logger = logging.getLogger(__name__)

bp = Blueprint("app_home", __name__)

BOUNCE_PATH = "/auth/session-token"


def frame_ancestors_csp(shop_domain: str | None) -> str:
    """Return the CSP that lets only this shop's admin frame the page."""
    ancestors = f"https://{shop_domain} https://admin.shopify.com" if shop_domain else "'none'"
    return f"frame-ancestors {ancestors};"


def bounce_redirect(reload_path: str) -> HttpResponse:
    """Send a document request without a valid token through the App Bridge bounce page."""
    params = request.args.to_dict(flat=True)
    params.pop("id_token", None)
    reload_target = reload_path + ("?" + urlencode(params) if params else "")
    kept = ("shop", "host", "embedded")
    bounce_query: dict[str, str] = {k: params[k] for k in kept if k in params}
    bounce_query["shopify-reload"] = reload_target
    return redirect(f"{BOUNCE_PATH}?{urlencode(bounce_query)}")


def verify_document_request(reload_path: str) -> SessionClaims | HttpResponse:
    """Return the session claims of an embedded document request, or the response to send."""
    settings = get_settings()
    id_token = request.args.get("id_token")
    if not id_token:
        return bounce_redirect(reload_path)
    try:
        return decode_session_token(
            id_token, api_key=settings.shopify_api_key, secrets=(settings.shopify_api_secret,)
        )
    except InvalidSessionToken:
        return bounce_redirect(reload_path)


def ensure_installed(claims: SessionClaims, *, now: datetime) -> Shop:
    """Return the shop, exchanging the ID token for an offline token when it has none usable."""
    session = get_session()
    shop = session.scalar(select(Shop).where(Shop.domain == claims.shop_domain))
    credential = session.get(ShopCredential, shop.id) if shop is not None else None
    if shop is not None and shop.is_installed and has_usable_token(credential, now=now):
        return shop
    grant = exchange_session_token(
        claims.shop_domain, claims.token, app=get_app_credentials(), now=now
    )
    shop = install_shop(
        session, shop_domain=claims.shop_domain, grant=grant, cipher=get_cipher(), now=now
    )
    session.commit()
    logger.info("Shop installed through token exchange", extra={"shop": claims.shop_domain})
    return shop


@bp.get(BOUNCE_PATH)
def session_token_bounce() -> Response:
    """Render the page on which App Bridge fetches a fresh token and reloads the app."""
    shop = request.args.get("shop")
    response = Response(
        render_template("session_token_bounce.html", api_key=get_settings().shopify_api_key)
    )
    csp_shop = shop.lower() if shop and is_valid_shop_domain(shop) else None
    response.headers["Content-Security-Policy"] = frame_ancestors_csp(csp_shop)
    return response


def now_utc() -> datetime:
    return datetime.now(UTC)
