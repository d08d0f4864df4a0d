"""Accessors for the app-wide objects create_app() builds (settings, token cipher)."""

from __future__ import annotations

from flask import Flask
from flask import current_app

from shopify_app.gateway.oauth import AppCredentials
from shopify_app.settings import Settings
from shopify_app.store.token_cipher import TokenCipher


def get_settings(app: Flask | None = None) -> Settings:
    settings: Settings = (app or current_app).extensions["settings"]
    return settings


def get_cipher(app: Flask | None = None) -> TokenCipher:
    cipher: TokenCipher = (app or current_app).extensions["token_cipher"]
    return cipher


def get_app_credentials(app: Flask | None = None) -> AppCredentials:
    settings = get_settings(app)
    return AppCredentials(api_key=settings.shopify_api_key, api_secret=settings.shopify_api_secret)
