"""Retention: a self-hostable Shopify app for lifecycle flows and retention analytics."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app: settings -> database -> errors -> blueprints -> CLI."""
    from jobs import tasks
    from shopify_app import cli
    from shopify_app import db
    from shopify_app import errors
    from shopify_app.settings import load_settings
    from shopify_app.store.token_cipher import TokenCipher

    app = Flask(
        __name__,
        instance_relative_config=True,
        template_folder=str(PROJECT_ROOT / "templates"),
    )
    settings = load_settings(config, instance_path=app.instance_path)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        TESTING=settings.testing,
        MAX_CONTENT_LENGTH=None,
        JSON_SORT_KEYS=False,
    )
    app.extensions["settings"] = settings
    app.extensions["token_cipher"] = TokenCipher(settings.token_encryption_keys)

    db.init_app(
        app,
        db.Database(
            settings.database_url,
            pool_size=settings.database_pool_size,
            max_overflow=settings.database_max_overflow,
        ),
    )
    errors.init_app(app)
    tasks.init_app(app)
    _register_blueprints(app)
    cli.init_app(app)
    if not settings.testing:
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
    return app


def _register_blueprints(app: Flask) -> None:
    from shopify_app.web import health
    from shopify_app.web.auth import app_home
    from shopify_app.web.auth import oauth_views
    from shopify_app.web.auth.session_guard import create_api_blueprint
    from shopify_app.web.dashboard import backfill_api
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
    from shopify_app.web.public import unsubscribe as messaging_public_views
    from webhooks import endpoint as webhook_endpoint

    api = create_api_blueprint()
    api.register_blueprint(shop_api.bp)
    api.register_blueprint(flow_results_api.bp)
    api.register_blueprint(backfill_api.bp)
    api.register_blueprint(predictions_api.bp)
    api.register_blueprint(kpi_api.bp)
    api.register_blueprint(privacy_api.bp)
    api.register_blueprint(settings_api.bp)
    api.register_blueprint(nps_api.bp)
    api.register_blueprint(webhook_problems_api.bp)

    app.register_blueprint(app_home.bp)
    app.register_blueprint(oauth_views.bp)
    app.register_blueprint(pages.bp)
    app.register_blueprint(api)
    app.register_blueprint(messaging_public_views.bp)
    app.register_blueprint(nps_views.bp)
    app.register_blueprint(settings_page.bp)
    app.register_blueprint(webhook_endpoint.bp)
    app.register_blueprint(health.bp)
    if app.extensions["settings"].demo_mode:
        from shopify_app.web.dashboard import demo_launcher

        app.register_blueprint(demo_launcher.bp)
