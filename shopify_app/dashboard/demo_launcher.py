"""The local demo launcher: the embedded page for the demo shop, opened outside Shopify's admin.

Outside the admin there is no App Bridge to issue session tokens, so in demo mode this process
issues short-lived ones for the demo shop only. The blueprint is registered only when DEMO_MODE is
set in the process's settings (which requires a loopback APP_URL), and every request must also
come from and be addressed to a loopback host.
"""

from __future__ import annotations

import ipaddress
import uuid
from datetime import UTC
from datetime import datetime
from datetime import timedelta

import jwt
from flask import Blueprint
from flask import Response
from flask import jsonify
from flask import render_template
from flask import request
from sqlalchemy import select

from shopify_app.context import get_settings
from shopify_app.db import get_session
from shopify_app.errors import AppError
from shopify_app.errors import NotFound
from shopify_app.models import Shop

DEMO_SHOP_DOMAIN = "retention-demo.myshopify.com"
LOOPBACK_NAMES = {"127.0.0.1", "localhost", "[::1]", "::1"}

bp = Blueprint("demo_launcher", __name__, url_prefix="/demo")


class DemoRefused(AppError):
    status_code = 403


@bp.before_request
def require_loopback() -> None:
    """Refuse anything not both from and addressed to this machine (also blocks DNS rebinding)."""
    remote = request.remote_addr or ""
    try:
        is_loopback_peer = ipaddress.ip_address(remote).is_loopback
    except ValueError:
        is_loopback_peer = False
    host = (request.host or "").rsplit(":", 1)[0] if not request.host.startswith("[") else (
        request.host.split("]")[0] + "]"
    )
    if not is_loopback_peer or host not in LOOPBACK_NAMES:
        raise DemoRefused("The demo launcher only answers on 127.0.0.1 to requests from this machine")


def issue_demo_session_token(*, now: datetime) -> str:
    """Return a one-minute session token for the demo shop, shaped like App Bridge's."""
    settings = get_settings()
    claims = {
        "iss": f"https://{DEMO_SHOP_DOMAIN}/admin",
        "dest": f"https://{DEMO_SHOP_DOMAIN}",
        "aud": settings.shopify_api_key,
        "sub": "1",
        "exp": int((now + timedelta(minutes=1)).timestamp()),
        "nbf": int(now.timestamp()),
        "iat": int(now.timestamp()),
        "jti": str(uuid.uuid4()),
        "sid": str(uuid.uuid4()),
    }
    return jwt.encode(claims, settings.shopify_api_secret, algorithm="HS256")


def _demo_shop() -> Shop:
    shop = get_session().scalar(select(Shop).where(Shop.domain == DEMO_SHOP_DOMAIN))
    if shop is None or not shop.is_installed:
        raise NotFound("The demo shop is not set up yet; start the app with `make run`")
    return shop


@bp.get("")
def launcher() -> Response:
    shop = _demo_shop()
    return Response(
        render_template(
            "app.html",
            api_key=None,
            shop=shop,
            host="",
            session_token_url="/demo/session-token",
            is_demo=True,
        )
    )


@bp.get("/session-token")
def session_token() -> Response:
    _demo_shop()
    return jsonify({"token": issue_demo_session_token(now=datetime.now(UTC))})
