"""Turn domain errors, database outages and HTTP errors into the app's one JSON error shape."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask
from flask import Response
from flask import jsonify
from flask import request
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from shopify_app.db import describe_database_error
from shopify_app.errors import AppError

logger = logging.getLogger(__name__)


def error_response(message: str, status: int, headers: dict[str, str] | None = None) -> Response:
    """Return the one JSON error shape the app uses: {"error": {"message", "status"}}."""
    response = jsonify({"error": {"message": message, "status": status}})
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def init_app(app: Flask) -> None:
    @app.errorhandler(AppError)
    def handle_app_error(error: AppError) -> Response:
        return error_response(error.message, error.status_code, error.headers)

    @app.errorhandler(OperationalError)
    def handle_database_unavailable(error: OperationalError) -> Response:
        # Unreachable, full or locked database: a 503 tells Shopify and the admin page to retry.
        # Only the driver's first line is logged; the statement's parameters may hold payloads.
        logger.error("Database unavailable: %s", describe_database_error(error))
        return error_response(
            "The database is unavailable; retry later", 503, {"Retry-After": "30"}
        )

    @app.errorhandler(HTTPException)
    def handle_http_error(error: HTTPException) -> Any:
        if not _wants_json():
            return error
        return error_response(error.description or error.name, error.code or 500)


def _wants_json() -> bool:
    return request.path.startswith(("/api/", "/webhooks")) or request.accept_mimetypes.best == (
        "application/json"
    )
