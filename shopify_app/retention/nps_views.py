"""GET /nps/<token>: record a customer's 0-10 answer from a review request email, no login."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime

from flask import Blueprint
from flask import render_template

from shopify_app.context import get_settings
from shopify_app.db import get_session
from shopify_app.retention import nps

bp = Blueprint("public_nps", __name__)


@bp.get("/nps/<token>")
def record_nps(token: str) -> tuple[str, int]:
    session = get_session()
    try:
        answer = nps.record_answer(
            session, secret_key=get_settings().secret_key, token=token, now=datetime.now(UTC)
        )
    except nps.InvalidNpsLink as error:
        session.rollback()
        return render_template("nps.html", state="invalid", message=error.message), 400
    session.commit()
    return (
        render_template(
            "nps.html", state=answer.outcome.value, score=answer.score,
            shop_name=answer.shop_name,
        ),
        200,
    )
