"""Domain errors carry their HTTP status; the web edge (shopify_app.web.errors) answers them."""

from __future__ import annotations


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
