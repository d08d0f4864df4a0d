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


def _as_bool(name: str, raw: Any, problems: list[str]) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off", ""}:
        return False
    problems.append(f"{name} must be true or false, got {raw!r}")
    return False


def _as_int(name: str, raw: Any, problems: list[str], *, minimum: int, default: int) -> int:
    try:
        value = int(raw)
    except (TypeError, ValueError):
        problems.append(f"{name} must be a whole number, got {raw!r}")
        return default
    if value < minimum:
        problems.append(f"{name} must be at least {minimum}, got {value}")
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
    problems: list[str] = []

    def required(name: str) -> str:
        value = str(source.get(name) or "").strip()
        if not value:
            problems.append(f"{name} is required")
        return value

    testing = _as_bool("TESTING", source.get("TESTING", False), problems)
    api_key = required("SHOPIFY_API_KEY")
    api_secret = required("SHOPIFY_API_SECRET")
    previous = str(source.get("SHOPIFY_API_SECRET_PREVIOUS") or "").strip() or None

    scopes_raw = str(source.get("SHOPIFY_SCOPES") or DEFAULT_SCOPES)
    scopes = tuple(s.strip() for s in scopes_raw.split(",") if s.strip())
    for scope in scopes:
        if not re.fullmatch(r"(unauthenticated_)?(read|write)_[a-z_]+", scope):
            problems.append(f"SHOPIFY_SCOPES has an invalid scope {scope!r}")

    app_url = required("APP_URL")
    if app_url:
        _check_url("APP_URL", app_url, problems)

    default_db = f"sqlite:///{Path(instance_path).resolve() / 'retention.sqlite3'}"
    database_url = str(source.get("DATABASE_URL") or default_db).strip()
    if not database_url.startswith(("sqlite://", "postgresql://", "postgresql+psycopg://")):
        problems.append("DATABASE_URL must start with sqlite:// or postgresql://")
    elif database_url.startswith("postgresql://"):
        database_url = "postgresql+psycopg://" + database_url[len("postgresql://") :]

    secret_key = required("SECRET_KEY")
    if secret_key and len(secret_key) < _MIN_SECRET_KEY_LENGTH and not testing:
        problems.append(
            f"SECRET_KEY must be at least {_MIN_SECRET_KEY_LENGTH} characters of random text"
        )

    keys = _check_fernet_keys(
        "TOKEN_ENCRYPTION_KEY", str(source.get("TOKEN_ENCRYPTION_KEY") or ""), problems
    )

    smtp_url = str(source.get("SMTP_URL") or "smtp://127.0.0.1:1025").strip()
    smtp_parts = urlsplit(smtp_url)
    if smtp_parts.scheme not in {"smtp", "smtps"} or not smtp_parts.hostname:
        problems.append("SMTP_URL must look like smtp://user:password@host:587 or smtps://host:465")

    mail_from = str(source.get("MAIL_FROM") or "retention@localhost").strip()
    if not _EMAIL.match(mail_from):
        problems.append(f"MAIL_FROM must be an email address, got {mail_from!r}")

    max_body = _as_int(
        "WEBHOOK_MAX_BODY_BYTES",
        source.get("WEBHOOK_MAX_BODY_BYTES", 1_048_576),
        problems,
        minimum=1024,
        default=1_048_576,
    )
    active_days = _as_int(
        "RETENTION_ACTIVE_DAYS",
        source.get("RETENTION_ACTIVE_DAYS", 365),
        problems,
        minimum=1,
        default=365,
    )
    max_stale = _as_int(
        "KPI_SNAPSHOT_MAX_STALE_SECONDS",
        source.get("KPI_SNAPSHOT_MAX_STALE_SECONDS", 600),
        problems,
        minimum=0,
        default=600,
    )
    if max_stale > _MAX_KPI_STALE_SECONDS:
        problems.append(
            f"KPI_SNAPSHOT_MAX_STALE_SECONDS must be at most {_MAX_KPI_STALE_SECONDS} (one hour): "
            f"the dashboard would show figures that old, got {max_stale}"
        )
    redis_url = str(source.get("REDIS_URL") or "").strip() or None
    if redis_url is not None:
        redis_parts = urlsplit(redis_url)
        if redis_parts.scheme not in {"redis", "rediss"} or not redis_parts.hostname:
            problems.append(
                "REDIS_URL must look like redis://host:6379/0 or rediss://user:password@host:6380/0"
            )
    pool_size = _as_int(
        "DATABASE_POOL_SIZE", source.get("DATABASE_POOL_SIZE", 10), problems, minimum=1, default=10
    )
    max_overflow = _as_int(
        "DATABASE_MAX_OVERFLOW",
        source.get("DATABASE_MAX_OVERFLOW", 10),
        problems,
        minimum=0,
        default=10,
    )
    queue_lease = _as_int(
        "QUEUE_LEASE_SECONDS",
        source.get("QUEUE_LEASE_SECONDS", 300),
        problems,
        minimum=1,
        default=300,
    )
    sweep_after = _as_int(
        "QUEUE_SWEEP_AFTER_SECONDS",
        source.get("QUEUE_SWEEP_AFTER_SECONDS", 120),
        problems,
        minimum=1,
        default=120,
    )
    # With a queue the worker processes drain the inbox; web processes only store and enqueue.
    background_worker = _as_bool(
        "BACKGROUND_WORKER",
        source.get("BACKGROUND_WORKER", not testing and redis_url is None),
        problems,
    )
    demo_mode = _as_bool("DEMO_MODE", source.get("DEMO_MODE", False), problems)
    if demo_mode and app_url and (urlsplit(app_url).hostname or "") not in _LOOPBACK_HOSTS:
        problems.append(
            "DEMO_MODE hands out session tokens for the demo shop without Shopify, so it is only "
            "allowed when APP_URL is on 127.0.0.1 or localhost"
        )

    if problems:
        raise SettingsError(problems)
    return Settings(
        shopify_api_key=api_key,
        shopify_api_secret=api_secret,
        shopify_api_secret_previous=previous,
        shopify_scopes=scopes,
        app_url=app_url,
        database_url=database_url,
        secret_key=secret_key,
        token_encryption_keys=keys,
        smtp_url=smtp_url,
        mail_from=mail_from,
        webhook_max_body_bytes=max_body,
        retention_active_days=active_days,
        kpi_snapshot_max_stale_seconds=max_stale,
        background_worker=background_worker,
        demo_mode=demo_mode,
        testing=testing,
        redis_url=redis_url,
        database_pool_size=pool_size,
        database_max_overflow=max_overflow,
        queue_lease_seconds=queue_lease,
        queue_sweep_after_seconds=sweep_after,
    )
