"""Guard every /api/* route with an App Bridge session token; the shop comes from the token only."""

from __future__ import annotations

from flask import Blueprint
from flask import g
from flask import request
from sqlalchemy import select

from shopify_app.context import get_settings
from shopify_app.db import get_session
from shopify_app.errors import Unauthorized
from shopify_app.gateway.session_token import InvalidSessionToken
from shopify_app.gateway.session_token import bearer_token
from shopify_app.gateway.session_token import decode_session_token
from shopify_app.models import Shop


def authenticate_api_request() -> None:
    """Set `g.shop` from the request's session token, or refuse the request with a 401."""
    settings = get_settings()
    try:
        claims = decode_session_token(
            bearer_token(request.headers.get("Authorization")),
            api_key=settings.shopify_api_key,
            secrets=(settings.shopify_api_secret,),
        )
    except InvalidSessionToken as exc:
        raise Unauthorized(exc.reason.value.capitalize()) from exc
    shop = get_session().scalar(select(Shop).where(Shop.domain == claims.shop_domain))
    if shop is None or not shop.is_installed:
        raise Unauthorized("The shop in the session token has not installed the app")
    g.shop = shop
    g.session_claims = claims


def create_api_blueprint() -> Blueprint:
    """Return the /api blueprint; every blueprint nested in it inherits the guard."""
    api = Blueprint("api", __name__, url_prefix="/api")
    api.before_request(authenticate_api_request)
    return api


def current_shop() -> Shop:
    shop: Shop = g.shop
    return shop
