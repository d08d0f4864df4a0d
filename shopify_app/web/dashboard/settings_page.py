"""GET /settings: the embedded Settings page, rendered like the app home."""

from __future__ import annotations

from flask import Blueprint
from werkzeug.wrappers import Response

from shopify_app.web.dashboard.pages import render_embedded

bp = Blueprint("settings_page", __name__)


@bp.get("/settings")
def settings_home() -> Response:
    return render_embedded("settings.html", reload_path="/settings")
