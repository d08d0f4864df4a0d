"""Settings read from the environment, validated once at start-up.

A bad setting stops the app with a message that names the setting and says what is wrong, so an
operator never finds out about a typo from a failed webhook hours later.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cryptography.fernet import Fernet

DEFAULT_SCOPES = "read_orders,read_customers,read_fulfillments,write_customers"
_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+$")
_MIN_SECRET_KEY_LENGTH = 32
_MAX_KPI_STALE_SECONDS = 3600
_LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "::1"}


class SettingsError(ValueError):
    """Raise when one or more settings are missing or malformed; the message lists all of them."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("Invalid settings:\n" + "\n".join(f"  - {p}" for p in problems))


@dataclass(frozen=True)
class Settings:
    """The app's settings; see the settings table in README.md for each one's meaning."""

    shopify_api_key: str
    shopify_api_secret: str
    shopify_api_secret_previous: str | None
    shopify_scopes: tuple[str, ...]
    app_url: str
    database_url: str
    secret_key: str
    token_encryption_keys: tuple[str, ...]
    smtp_url: str
    mail_from: str
    webhook_max_body_bytes: int = 1_048_576
    retention_active_days: int = 365
    kpi_snapshot_max_stale_seconds: int = 600
    background_worker: bool = True
    demo_mode: bool = False
    testing: bool = False
    redis_url: str | None = None
    database_pool_size: int = 10
    database_max_overflow: int = 10
    queue_lease_seconds: int = 300
    queue_sweep_after_seconds: int = 120

    @property
    def api_secrets(self) -> tuple[str, ...]:
        """Return the secrets webhook HMACs and session tokens may be signed with, newest first."""
        if self.shopify_api_secret_previous:
            return (self.shopify_api_secret, self.shopify_api_secret_previous)
        return (self.shopify_api_secret,)

    @property
    def app_host(self) -> str:
        return urlsplit(self.app_url).netloc

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)


class _SettingsReader:
    """Read raw values from one mapping and collect every problem, so all are reported at once."""

    def __init__(self, source: Mapping[str, Any]) -> None:
        self.source = source
        self.problems: list[str] = []

    def text(self, name: str, default: str = "") -> str:
        return str(self.source.get(name) or default).strip()

    def optional(self, name: str) -> str | None:
        return self.text(name) or None

    def required(self, name: str) -> str:
        value = self.text(name)
        if not value:
            self.problems.append(f"{name} is required")
        return value

    def boolean(self, name: str, default: bool) -> bool:
        raw = self.source.get(name, default)
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in {"1", "true", "yes", "on"}:
            return True
        if text in {"0", "false", "no", "off", ""}:
            return False
        self.problems.append(f"{name} must be true or false, got {raw!r}")
        return False

    def whole_number(self, name: str, *, default: int, minimum: int) -> int:
        raw = self.source.get(name, default)
        try:
            value = int(raw)
        except (TypeError, ValueError):
            self.problems.append(f"{name} must be a whole number, got {raw!r}")
            return default
        if value < minimum:
            self.problems.append(f"{name} must be at least {minimum}, got {value}")
        return value


def _check_url(name: str, url: str, problems: list[str]) -> None:
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        problems.append(
            f"{name} must be an absolute http(s) URL such as https://retention.example.com"
        )
        return
    host = parts.hostname or ""
    if parts.scheme == "http" and host not in _LOOPBACK_HOSTS:
        problems.append(f"{name} must use https (Shopify only loads embedded apps over HTTPS)")
    if url.endswith("/"):
        problems.append(f"{name} must not end with a slash")


def _check_fernet_keys(name: str, raw: str, problems: list[str]) -> tuple[str, ...]:
    keys = tuple(k.strip() for k in raw.split(",") if k.strip())
    if not keys:
        problems.append(
            f"{name} is required (generate one with `flask --app shopify_app keys new`)"
        )
        return ()
    for index, key in enumerate(keys, start=1):
        try:
            Fernet(key.encode())
        except (ValueError, TypeError):
            problems.append(
                f"{name} key #{index} is not a valid Fernet key "
                "(32 url-safe base64-encoded bytes); "
                "generate one with `flask --app shopify_app keys new`"
            )
    return keys


def load_settings(
    overrides: Mapping[str, Any] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    instance_path: str | os.PathLike[str] = "instance",
) -> Settings:
    """Build settings from *environ* (default: the process environment) and *overrides*."""
    source: dict[str, Any] = dict(os.environ if environ is None else environ)
    source.update(overrides or {})
    read = _SettingsReader(source)
    testing = read.boolean("TESTING", False)
    values: dict[str, Any] = {"testing": testing}
    values.update(_shopify_settings(read))
    values.update(_storage_settings(read, instance_path=instance_path, testing=testing))
    values.update(_mail_settings(read))
    values.update(_limit_settings(read))
    values.update(_process_settings(read, testing=testing, app_url=values["app_url"]))
    if read.problems:
        raise SettingsError(read.problems)
    return Settings(**values)


def _shopify_settings(read: _SettingsReader) -> dict[str, Any]:
    api_key = read.required("SHOPIFY_API_KEY")
    api_secret = read.required("SHOPIFY_API_SECRET")
    previous = read.optional("SHOPIFY_API_SECRET_PREVIOUS")
    scopes_raw = str(read.source.get("SHOPIFY_SCOPES") or DEFAULT_SCOPES)
    scopes = tuple(s.strip() for s in scopes_raw.split(",") if s.strip())
    for scope in scopes:
        if not re.fullmatch(r"(unauthenticated_)?(read|write)_[a-z_]+", scope):
            read.problems.append(f"SHOPIFY_SCOPES has an invalid scope {scope!r}")
    app_url = read.required("APP_URL")
    if app_url:
        _check_url("APP_URL", app_url, read.problems)
    return {
        "shopify_api_key": api_key,
        "shopify_api_secret": api_secret,
        "shopify_api_secret_previous": previous,
        "shopify_scopes": scopes,
        "app_url": app_url,
    }


def _storage_settings(
    read: _SettingsReader, *, instance_path: str | os.PathLike[str], testing: bool
) -> dict[str, Any]:
    default_db = f"sqlite:///{Path(instance_path).resolve() / 'retention.sqlite3'}"
    database_url = read.text("DATABASE_URL", default_db)
    if not database_url.startswith(("sqlite://", "postgresql://", "postgresql+psycopg://")):
        read.problems.append("DATABASE_URL must start with sqlite:// or postgresql://")
    elif database_url.startswith("postgresql://"):
        database_url = "postgresql+psycopg://" + database_url[len("postgresql://") :]
    secret_key = read.required("SECRET_KEY")
    if secret_key and len(secret_key) < _MIN_SECRET_KEY_LENGTH and not testing:
        read.problems.append(
            f"SECRET_KEY must be at least {_MIN_SECRET_KEY_LENGTH} characters of random text"
        )
    keys = _check_fernet_keys(
        "TOKEN_ENCRYPTION_KEY", str(read.source.get("TOKEN_ENCRYPTION_KEY") or ""), read.problems
    )
    return {"database_url": database_url, "secret_key": secret_key, "token_encryption_keys": keys}


def _mail_settings(read: _SettingsReader) -> dict[str, Any]:
    smtp_url = read.text("SMTP_URL", "smtp://127.0.0.1:1025")
    smtp_parts = urlsplit(smtp_url)
    if smtp_parts.scheme not in {"smtp", "smtps"} or not smtp_parts.hostname:
        read.problems.append(
            "SMTP_URL must look like smtp://user:password@host:587 or smtps://host:465"
        )
    mail_from = read.text("MAIL_FROM", "retention@localhost")
    if not _EMAIL.match(mail_from):
        read.problems.append(f"MAIL_FROM must be an email address, got {mail_from!r}")
    return {"smtp_url": smtp_url, "mail_from": mail_from}


# Whole-number settings: (setting, field of Settings, default, minimum).
_WHOLE_NUMBERS = (
    ("WEBHOOK_MAX_BODY_BYTES", "webhook_max_body_bytes", 1_048_576, 1024),
    ("RETENTION_ACTIVE_DAYS", "retention_active_days", 365, 1),
    ("KPI_SNAPSHOT_MAX_STALE_SECONDS", "kpi_snapshot_max_stale_seconds", 600, 0),
)
_PROCESS_NUMBERS = (
    ("DATABASE_POOL_SIZE", "database_pool_size", 10, 1),
    ("DATABASE_MAX_OVERFLOW", "database_max_overflow", 10, 0),
    ("QUEUE_LEASE_SECONDS", "queue_lease_seconds", 300, 1),
    ("QUEUE_SWEEP_AFTER_SECONDS", "queue_sweep_after_seconds", 120, 1),
)


def _whole_numbers(
    read: _SettingsReader, table: tuple[tuple[str, str, int, int], ...]
) -> dict[str, int]:
    return {
        field: read.whole_number(name, default=default, minimum=minimum)
        for name, field, default, minimum in table
    }


def _limit_settings(read: _SettingsReader) -> dict[str, Any]:
    values = _whole_numbers(read, _WHOLE_NUMBERS)
    max_stale = values["kpi_snapshot_max_stale_seconds"]
    if max_stale > _MAX_KPI_STALE_SECONDS:
        read.problems.append(
            f"KPI_SNAPSHOT_MAX_STALE_SECONDS must be at most {_MAX_KPI_STALE_SECONDS} (one hour): "
            f"the dashboard would show figures that old, got {max_stale}"
        )
    return values


def _process_settings(read: _SettingsReader, *, testing: bool, app_url: str) -> dict[str, Any]:
    redis_url = read.optional("REDIS_URL")
    if redis_url is not None:
        redis_parts = urlsplit(redis_url)
        if redis_parts.scheme not in {"redis", "rediss"} or not redis_parts.hostname:
            read.problems.append(
                "REDIS_URL must look like redis://host:6379/0 or rediss://user:password@host:6380/0"
            )
    values: dict[str, Any] = _whole_numbers(read, _PROCESS_NUMBERS)
    # With a queue the worker processes drain the inbox; web processes only store and enqueue.
    values["background_worker"] = read.boolean(
        "BACKGROUND_WORKER", not testing and redis_url is None
    )
    demo_mode = read.boolean("DEMO_MODE", False)
    if demo_mode and app_url and (urlsplit(app_url).hostname or "") not in _LOOPBACK_HOSTS:
        read.problems.append(
            "DEMO_MODE hands out session tokens for the demo shop without Shopify, so it is only "
            "allowed when APP_URL is on 127.0.0.1 or localhost"
        )
    values.update(redis_url=redis_url, demo_mode=demo_mode)
    return values
