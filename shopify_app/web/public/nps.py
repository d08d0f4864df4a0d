"""GET/POST /nps/<token>: a customer's 0-10 answer from a review request email, no login.

GET shows the chosen score with a button and records nothing (mail link scanners prefetch every
link in an email; they must not answer for the customer); POST, from that button, records it.
"""

from __future__ import annotations

from datetime import UTC
from datetime import datetime

from flask import Blueprint
from flask import render_template
from flask import request

from shopify_app.context import get_settings
from shopify_app.db import get_session
from shopify_app.messaging import nps

bp = Blueprint("public_nps", __name__)


def _invalid(error: nps.InvalidNpsLink) -> tuple[str, int]:
    return render_template("nps.html", state="invalid", message=error.message), 400


@bp.get("/nps/<token>")
def confirm_nps(token: str) -> tuple[str, int]:
    try:
        answer = nps.check_answer(get_session(), secret_key=get_settings().secret_key, token=token)
    except nps.InvalidNpsLink as error:
        return _invalid(error)
    return _answer_page(answer, action=request.path)


@bp.post("/nps/<token>")
def record_nps(token: str) -> tuple[str, int]:
    session = get_session()
    try:
        answer = nps.record_answer(
            session, secret_key=get_settings().secret_key, token=token, now=datetime.now(UTC)
        )
    except nps.InvalidNpsLink as error:
        session.rollback()
        return _invalid(error)
    session.commit()
    return _answer_page(answer)


def _answer_page(answer: nps.NpsAnswer, *, action: str | None = None) -> tuple[str, int]:
    """Render the answer page; with *action*, the confirm form posts there (GET never records)."""
    page = render_template(
        "nps.html",
        state=answer.outcome.value,
        score=answer.score,
        shop_name=answer.shop_name,
        action=action or "",
    )
    return page, 200
