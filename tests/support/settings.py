"""The settings every test app starts from: Shopify test credentials and a local SMTP address."""

from __future__ import annotations

from typing import Any

from tests.support.shopify import API_KEY
from tests.support.shopify import API_SECRET

TOKEN_KEY = "Xq3x0Yx4mHtGkVrvV7oQy8iS9yZ4pI6n6yqN8C3Yp0s="

TEST_SETTINGS: dict[str, Any] = {
    "TESTING": True,
    "SHOPIFY_API_KEY": API_KEY,
    "SHOPIFY_API_SECRET": API_SECRET,
    "APP_URL": "https://retention.example.com",
    "SECRET_KEY": "test-secret-key-that-is-long-enough-000",
    "TOKEN_ENCRYPTION_KEY": TOKEN_KEY,
    "SMTP_URL": "smtp://127.0.0.1:1025",
    "MAIL_FROM": "retention@example.com",
    "BACKGROUND_WORKER": False,
}
