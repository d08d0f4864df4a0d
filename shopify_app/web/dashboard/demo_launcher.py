"""The local demo launcher: the embedded page for the demo shop, opened outside Shopify's admin.

Outside the admin there is no App Bridge to issue session tokens, so in demo mode this process
issues short-lived ones for the demo shop only. The blueprint is registered only when DEMO_MODE is
set in the process's settings (which requires a loopback APP_URL), and every request must also
come from and be addressed to a loopback host.
"""

from __future__ import annotations

import ipaddress
import re
import uuid
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import jwt
from flask import Blueprint
from flask import Response
from flask import current_app
from flask import jsonify
from flask import render_template
from flask import request
from flask import url_for
from sqlalchemy import select

from shopify_app.context import get_settings
from shopify_app.db import get_session
from shopify_app.demo import DEMO_SHOP_DOMAIN
from shopify_app.errors import AppError
from shopify_app.errors import NotFound
from shopify_app.models import Shop
from shopify_app.paths import PROJECT_ROOT

OUTBOX_DIR = PROJECT_ROOT / "instance" / "outbox"
"""Where `make run`'s local SMTP sink keeps every email it receives, one .eml file each."""
_EML_NAME = re.compile(r"[0-9T]{15}-[0-9]{5}\.eml")
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
    host = (
        (request.host or "").rsplit(":", 1)[0]
        if not request.host.startswith("[")
        else (request.host.split("]")[0] + "]")
    )
    if not is_loopback_peer or host not in LOOPBACK_NAMES:
        raise DemoRefused(
            "The demo launcher only answers on 127.0.0.1 to requests from this machine"
        )


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


@dataclass(frozen=True)
class OutboxEmail:
    name: str
    received: str
    to: str
    subject: str


def _read_email(path: Path) -> EmailMessage:
    message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
    assert isinstance(message, EmailMessage)
    return message


def _summary(path: Path) -> OutboxEmail:
    message = _read_email(path)
    return OutboxEmail(
        name=path.name,
        received=path.name[:15],
        to=str(message.get("To", "")),
        subject=str(message.get("Subject", "")),
    )


def outbox_dir() -> Path:
    """Return the sink's folder; tests point the app at their own with `demo_outbox_dir`."""
    directory: Path = current_app.extensions.get("demo_outbox_dir", OUTBOX_DIR)
    return directory


@bp.get("/outbox")
def outbox() -> Response:
    """List every email the local SMTP sink received, newest first."""
    directory = outbox_dir()
    paths = sorted(directory.glob("*.eml"), reverse=True) if directory.is_dir() else []
    emails = [_summary(path) for path in paths[:500]]
    return Response(render_template("demo_outbox.html", emails=emails, total=len(paths)))


@bp.get("/outbox/<name>")
def outbox_email(name: str) -> Response:
    """Show one received email as its recipient would see it."""
    path = outbox_dir() / name
    if not _EML_NAME.fullmatch(name) or not path.is_file():
        raise NotFound("No such email in the outbox")
    message = _read_email(path)
    html_part = message.get_body(preferencelist=("html",))
    text_part = message.get_body(preferencelist=("plain",))
    html = html_part.get_content() if html_part is not None else None
    return Response(
        render_template(
            "demo_outbox_email.html",
            email=_summary(path),
            headers=[(k, str(v)) for k, v in message.items()],
            html=html,
            text=text_part.get_content() if text_part is not None else "",
            back=url_for("demo_launcher.outbox"),
        )
    )
