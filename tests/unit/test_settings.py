"""Settings are validated at start-up and every problem is named."""

from __future__ import annotations

from typing import Any

import pytest

from shopify_app.settings import SettingsError
from shopify_app.settings import load_settings
from tests.support.settings import TEST_SETTINGS

PRODUCTION = {k: v for k, v in TEST_SETTINGS.items() if k not in {"TESTING", "BACKGROUND_WORKER"}}
PRODUCTION["SECRET_KEY"] = "x" * 40


def load(**changes: Any) -> Any:
    values = {**PRODUCTION, **changes}
    return load_settings({k: v for k, v in values.items() if v is not None}, environ={})


def test_valid_settings_load_with_documented_defaults() -> None:
    settings = load()

    assert settings.smtp_url == "smtp://127.0.0.1:1025"
    assert settings.database_url.startswith("sqlite:///")
    assert settings.database_url.endswith("retention.sqlite3")
    assert settings.retention_active_days == 365
    assert settings.background_worker is True


def test_missing_required_settings_are_all_named_at_once() -> None:
    with pytest.raises(SettingsError) as excinfo:
        load_settings({}, environ={})

    message = str(excinfo.value)
    for name in ["SHOPIFY_API_KEY", "SHOPIFY_API_SECRET", "APP_URL", "SECRET_KEY"]:
        assert f"{name} is required" in message
    assert "TOKEN_ENCRYPTION_KEY is required" in message


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"APP_URL": "retention.example.com"}, "APP_URL must be an absolute http(s) URL"),
        ({"APP_URL": "http://retention.example.com"}, "APP_URL must use https"),
        ({"APP_URL": "https://retention.example.com/"}, "APP_URL must not end with a slash"),
        ({"SECRET_KEY": "short"}, "SECRET_KEY must be at least 32 characters"),
        ({"TOKEN_ENCRYPTION_KEY": "not-a-key"}, "TOKEN_ENCRYPTION_KEY key #1 is not a valid"),
        ({"DATABASE_URL": "mysql://x"}, "DATABASE_URL must start with sqlite:// or postgresql://"),
        ({"SMTP_URL": "http://mail"}, "SMTP_URL must look like smtp://"),
        ({"MAIL_FROM": "not an address"}, "MAIL_FROM must be an email address"),
        ({"SHOPIFY_SCOPES": "read_orders,delete everything"}, "SHOPIFY_SCOPES has an invalid"),
        ({"WEBHOOK_MAX_BODY_BYTES": "lots"}, "WEBHOOK_MAX_BODY_BYTES must be a whole number"),
        ({"RETENTION_ACTIVE_DAYS": "0"}, "RETENTION_ACTIVE_DAYS must be at least 1"),
        ({"DEMO_MODE": "maybe"}, "DEMO_MODE must be true or false"),
        ({"KPI_SNAPSHOT_MAX_STALE_SECONDS": "-1"}, "KPI_SNAPSHOT_MAX_STALE_SECONDS must be at"),
        ({"KPI_SNAPSHOT_MAX_STALE_SECONDS": "86400"}, "at most 3600 (one hour)"),
        ({"KPI_SNAPSHOT_MAX_STALE_SECONDS": "soon"}, "must be a whole number, got 'soon'"),
    ],
)
def test_malformed_setting_is_refused_with_a_message_that_says_why(
    changes: dict[str, str], expected: str
) -> None:
    with pytest.raises(SettingsError) as excinfo:
        load(**changes)

    assert expected in str(excinfo.value)


def test_http_app_url_is_allowed_on_loopback_for_local_runs() -> None:
    assert load(APP_URL="http://127.0.0.1:5000").app_url == "http://127.0.0.1:5000"


def test_postgresql_url_is_routed_to_the_psycopg_driver() -> None:
    settings = load(DATABASE_URL="postgresql://db.example.com/retention")

    assert settings.database_url == "postgresql+psycopg://db.example.com/retention"


def test_previous_secret_is_accepted_after_the_current_one_during_rotation() -> None:
    settings = load(SHOPIFY_API_SECRET_PREVIOUS="old-secret")

    assert settings.api_secrets == (PRODUCTION["SHOPIFY_API_SECRET"], "old-secret")


def test_create_app_refuses_to_start_with_a_bad_setting() -> None:
    from shopify_app import create_app

    with pytest.raises(SettingsError, match="TOKEN_ENCRYPTION_KEY"):
        create_app({**TEST_SETTINGS, "TOKEN_ENCRYPTION_KEY": "nope"})
