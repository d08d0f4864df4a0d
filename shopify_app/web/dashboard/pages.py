"""The embedded app home: the document Shopify loads inside the admin iframe."""

from __future__ import annotations

from flask import Blueprint
from flask import Response
from flask import redirect
from flask import render_template
from flask import request
from werkzeug.wrappers import Response as HttpResponse

from shopify_app.analytics.kpi_snapshots import PRESET_PERIOD_DAYS
from shopify_app.context import get_settings
from shopify_app.gateway.errors import ShopifyAuthError
from shopify_app.gateway.errors import ShopifyError
from shopify_app.gateway.shop_domain import is_valid_shop_domain
from shopify_app.web.auth.app_home import ensure_installed
from shopify_app.web.auth.app_home import frame_ancestors_csp
from shopify_app.web.auth.app_home import now_utc
from shopify_app.web.auth.app_home import verify_document_request

bp = Blueprint("pages", __name__)


@bp.app_context_processor
def period_presets() -> dict[str, tuple[int, ...]]:
    """The period picker offers exactly the periods whose KPI snapshots the job keeps current."""
    return {"period_presets": PRESET_PERIOD_DAYS}


def render_embedded(template: str, *, reload_path: str) -> HttpResponse:
    """Render an embedded page for the shop named by a valid ID token, installing on first open."""
    if not request.args.get("id_token") and not request.args.get("embedded"):
        shop_param = request.args.get("shop")
        if shop_param and is_valid_shop_domain(shop_param):
            # Opened outside the admin (e.g. an install link): start the OAuth install.
            return redirect(f"/auth?shop={shop_param.lower()}")
        return Response(render_template("landing.html"), status=200)
    verified = verify_document_request(reload_path)
    if isinstance(verified, HttpResponse):
        return verified
    settings = get_settings()
    try:
        shop = ensure_installed(verified, now=now_utc())
    except ShopifyAuthError:
        return _error_page(
            verified.shop_domain, "Shopify refused to issue an access token. Reload the app.", 401
        )
    except ShopifyError:
        return _error_page(
            verified.shop_domain, "Shopify is not answering right now. Reload in a minute.", 503
        )
    response = Response(
        render_template(
            template,
            api_key=settings.shopify_api_key,
            shop=shop,
            host=request.args.get("host", ""),
        )
    )
    response.headers["Content-Security-Policy"] = frame_ancestors_csp(shop.domain)
    return response


def _error_page(shop_domain: str, message: str, status: int) -> Response:
    response = Response(
        render_template("error.html", api_key=get_settings().shopify_api_key, message=message),
        status=status,
    )
    response.headers["Content-Security-Policy"] = frame_ancestors_csp(shop_domain)
    return response


@bp.get("/")
def app_home() -> HttpResponse:
    return render_embedded("app.html", reload_path="/")
