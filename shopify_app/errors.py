"""Domain errors carry their HTTP status; one handler turns them into JSON."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask
from flask import Response
from flask import jsonify
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

logger = logging.getLogger(__name__)


class AppError(Exception):
    """Base of every error the app reports to a client; services raise these, never HTTP errors."""

    status_code = 400
    headers: dict[str, str] = {}

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status_code is not None:
            self.status_code = status_code


class NotFound(AppError):
    status_code = 404


class InvalidShopDomain(AppError):
    status_code = 400


class Unauthorized(AppError):
    """Raise when a session token is missing or invalid; App Bridge retries with a fresh one."""

    status_code = 401
    headers = {"X-Shopify-Retry-Invalid-Session-Request": "1"}


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
        original = error.orig if error.orig is not None else error
        first_line = (str(original).strip().splitlines() or [""])[0]
        logger.error("Database unavailable: %s: %s", type(original).__name__, first_line)
        return error_response(
            "The database is unavailable; retry later", 503, {"Retry-After": "30"}
        )

    @app.errorhandler(HTTPException)
    def handle_http_error(error: HTTPException) -> Any:
        if not _wants_json():
            return error
        return error_response(error.description or error.name, error.code or 500)


def _wants_json() -> bool:
    from flask import request

    return request.path.startswith(("/api/", "/webhooks")) or request.accept_mimetypes.best == (
        "application/json"
    )
