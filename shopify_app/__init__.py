"""Retention: a self-hostable Shopify app for lifecycle flows and retention analytics."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING
from typing import Any

if TYPE_CHECKING:
    from flask import Flask


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app (`shopify_app.factory`), the entry point `flask --app shopify_app` finds.

    The web stack is imported here, when an app is built, and not when the package is: the
    domain packages below `shopify_app` import without Flask, for jobs, tests and tools.
    """
    from shopify_app.factory import build_app

    return build_app(config)
