"""Public pages reached from emails: GET/POST /u/<token> (one-click unsubscribe, RFC 8058).

GET shows a confirmation button (link scanners follow GETs; they must not unsubscribe anyone);
POST, from that button or from a mail client's List-Unsubscribe-Post, does it.
"""

from __future__ import annotations

from datetime import UTC
from datetime import datetime

from flask import Blueprint
from flask import render_template
from flask import request

from shopify_app.context import get_app_credentials
from shopify_app.context import get_cipher
from shopify_app.context import get_settings
from shopify_app.db import get_database
from shopify_app.db import get_session
from shopify_app.messaging import unsubscribe as service

bp = Blueprint("public_messaging", __name__)


def _invalid(error: service.InvalidUnsubscribeLink) -> tuple[str, int]:
    return render_template("unsubscribe.html", state="invalid", message=error.message), 400


@bp.get("/u/<token>")
def show_unsubscribe(token: str) -> tuple[str, int]:
    try:
        result = service.check_link(
            get_session(), secret_key=get_settings().secret_key, token=token
        )
    except service.InvalidUnsubscribeLink as error:
        return _invalid(error)
    return (
        render_template(
            "unsubscribe.html",
            state=result.outcome.value,
            shop_name=result.shop_name,
            action=request.path,
        ),
        200,
    )


@bp.post("/u/<token>")
def unsubscribe(token: str) -> tuple[str, int]:
    now = datetime.now(UTC)
    session = get_session()
    try:
        result = service.unsubscribe(
            session, secret_key=get_settings().secret_key, token=token, now=now
        )
    except service.InvalidUnsubscribeLink as error:
        session.rollback()
        return _invalid(error)
    session.commit()
    if result.customer_shopify_id is not None:
        service.sync_consent_to_shopify(
            get_database().session_factory,
            shop_id=result.shop_id,
            customer_shopify_id=result.customer_shopify_id,
            app=get_app_credentials(),
            cipher=get_cipher(),
            now=now,
        )
    return (
        render_template("unsubscribe.html", state=result.outcome.value, shop_name=result.shop_name),
        200,
    )
