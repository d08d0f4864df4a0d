"""Mount every blueprint: the embedded pages, /api behind the session-token guard, public pages."""

from __future__ import annotations

from flask import Flask

from shopify_app.web import health
from shopify_app.web.auth import app_home
from shopify_app.web.auth import oauth_views
from shopify_app.web.auth.session_guard import create_api_blueprint
from shopify_app.web.dashboard import backfill_api
from shopify_app.web.dashboard import demo_launcher
from shopify_app.web.dashboard import flow_results_api
from shopify_app.web.dashboard import kpi_api
from shopify_app.web.dashboard import nps_api
from shopify_app.web.dashboard import pages
from shopify_app.web.dashboard import predictions_api
from shopify_app.web.dashboard import privacy_api
from shopify_app.web.dashboard import settings_api
from shopify_app.web.dashboard import settings_page
from shopify_app.web.dashboard import shop_api
from shopify_app.web.dashboard import webhook_problems_api
from shopify_app.web.public import nps as nps_views
from shopify_app.web.public import unsubscribe as unsubscribe_views
from webhooks import endpoint as webhook_endpoint

API_BLUEPRINTS = (
    shop_api.bp,
    flow_results_api.bp,
    backfill_api.bp,
    predictions_api.bp,
    kpi_api.bp,
    privacy_api.bp,
    settings_api.bp,
    nps_api.bp,
    webhook_problems_api.bp,
)
# Registered in this order around /api, as the routes were first laid out.
BLUEPRINTS_BEFORE_API = (app_home.bp, oauth_views.bp, pages.bp)
BLUEPRINTS_AFTER_API = (
    unsubscribe_views.bp,
    nps_views.bp,
    settings_page.bp,
    webhook_endpoint.bp,
    health.bp,
)


def init_app(app: Flask) -> None:
    """Register the blueprints; the demo launcher only where the settings turn demo mode on."""
    api = create_api_blueprint()
    for blueprint in API_BLUEPRINTS:
        api.register_blueprint(blueprint)
    for blueprint in (*BLUEPRINTS_BEFORE_API, api, *BLUEPRINTS_AFTER_API):
        app.register_blueprint(blueprint)
    if app.extensions["settings"].demo_mode:
        app.register_blueprint(demo_launcher.bp)
