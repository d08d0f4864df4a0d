"""Build the Flask app: settings -> database -> error handlers -> queue -> blueprints -> CLI."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from flask import Flask

from jobs import tasks
from shopify_app import cli
from shopify_app import db
from shopify_app.paths import TEMPLATES_DIR
from shopify_app.settings import load_settings
from shopify_app.store.token_cipher import TokenCipher
from shopify_app.web import blueprints
from shopify_app.web import errors


def build_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Return a configured app; settings come from the environment, overridden by *config*."""
    app = Flask("shopify_app", instance_relative_config=True, template_folder=str(TEMPLATES_DIR))
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
    blueprints.init_app(app)
    cli.init_app(app)
    if not settings.testing:
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
    return app
