"""The authorization-code grant, for installs that start outside the Shopify admin."""

from __future__ import annotations

import logging
import secrets
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from urllib.parse import urlencode

from flask import Blueprint
from flask import redirect
from flask import request
from itsdangerous import BadSignature
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import update
from werkzeug.wrappers import Response

from shopify_app.context import get_app_credentials
from shopify_app.context import get_cipher
from shopify_app.context import get_settings
from shopify_app.db import get_session
from shopify_app.errors import AppError
from shopify_app.gateway.oauth import exchange_authorization_code
from shopify_app.gateway.shop_domain import normalize_shop_domain
from shopify_app.gateway.signatures import is_valid_query_hmac
from shopify_app.models import OAuthState
from shopify_app.store.credentials import install_shop

logger = logging.getLogger(__name__)

bp = Blueprint("oauth", __name__)

STATE_COOKIE = "retention_oauth_state"
STATE_MAX_AGE = timedelta(minutes=10)
CALLBACK_MAX_AGE = timedelta(minutes=10)


class OAuthCallbackRejected(AppError):
    status_code = 400


def _state_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(get_settings().secret_key, salt="oauth-state")


@bp.get("/auth")
def begin_install() -> Response:
    """Redirect the merchant to Shopify's consent screen with a single-use, browser-bound state."""
    shop_domain = normalize_shop_domain(request.args.get("shop"))
    settings = get_settings()
    nonce = secrets.token_urlsafe(32)
    session = get_session()
    session.add(OAuthState(nonce=nonce, shop_domain=shop_domain, issued_at=datetime.now(UTC)))
    session.commit()

    query = urlencode(
        {
            "client_id": settings.shopify_api_key,
            "scope": ",".join(settings.shopify_scopes),
            "redirect_uri": f"{settings.app_url}/auth/callback",
            "state": nonce,
        }
    )
    response = redirect(f"https://{shop_domain}/admin/oauth/authorize?{query}")
    response.set_cookie(
        STATE_COOKIE,
        _state_serializer().dumps({"nonce": nonce, "shop": shop_domain}),
        max_age=int(STATE_MAX_AGE.total_seconds()),
        httponly=True,
        secure=settings.app_url.startswith("https://"),
        samesite="Lax",
        path="/auth",
    )
    return response


@bp.get("/auth/callback")
def finish_install() -> Response:
    """Check hmac, timestamp, shop and state, then exchange the code and open the embedded app."""
    settings = get_settings()
    now = datetime.now(UTC)
    params = request.args.to_dict(flat=True)
    shop_domain = normalize_shop_domain(params.get("shop"))

    if not is_valid_query_hmac(params, settings.api_secrets):
        raise OAuthCallbackRejected("The request signature (hmac) is missing or invalid")
    try:
        timestamp = datetime.fromtimestamp(int(params.get("timestamp", "")), UTC)
    except (ValueError, OverflowError, OSError) as exc:
        raise OAuthCallbackRejected("The timestamp parameter is missing or invalid") from exc
    if abs(now - timestamp) > CALLBACK_MAX_AGE:
        raise OAuthCallbackRejected("The request is too old; start the installation again")

    nonce = _nonce_from_cookie(shop_domain)
    if not params.get("state") or not secrets.compare_digest(params["state"], nonce):
        raise OAuthCallbackRejected("The state parameter does not match this browser's install")
    session = get_session()
    redeemed = session.execute(
        update(OAuthState)
        .where(
            OAuthState.nonce == nonce,
            OAuthState.shop_domain == shop_domain,
            OAuthState.used_at.is_(None),
            OAuthState.issued_at >= now - STATE_MAX_AGE,
        )
        .values(used_at=now)
    )
    if redeemed.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        raise OAuthCallbackRejected("The state was already used or has expired; start again")
    code = params.get("code")
    if not code:
        session.rollback()
        raise OAuthCallbackRejected("The code parameter is missing")

    grant = exchange_authorization_code(shop_domain, code, app=get_app_credentials(), now=now)
    install_shop(session, shop_domain=shop_domain, grant=grant, cipher=get_cipher(), now=now)
    session.commit()
    logger.info("Shop installed through the authorization-code grant", extra={"shop": shop_domain})

    response = redirect(f"https://{shop_domain}/admin/apps/{settings.shopify_api_key}")
    response.delete_cookie(STATE_COOKIE, path="/auth")
    return response


def _nonce_from_cookie(shop_domain: str) -> str:
    raw = request.cookies.get(STATE_COOKIE)
    if not raw:
        raise OAuthCallbackRejected("The install state cookie is missing; start the install again")
    try:
        data = _state_serializer().loads(raw, max_age=int(STATE_MAX_AGE.total_seconds()))
    except BadSignature as exc:
        raise OAuthCallbackRejected("The install state cookie is invalid or expired") from exc
    if not isinstance(data, dict) or data.get("shop") != shop_domain:
        raise OAuthCallbackRejected("The install state belongs to another shop")
    return str(data.get("nonce", ""))
