"""shopify.app.toml is complete for the Shopify CLI and agrees with the webhook registry."""

from __future__ import annotations

import tomllib

from shopify_app.gateway import API_VERSION
from shopify_app.paths import PROJECT_ROOT
from shopify_app.settings import DEFAULT_SCOPES
from webhooks.handlers import HANDLERS

COMPLIANCE_TOPICS = {"customers/data_request", "customers/redact", "shop/redact"}


def load_config() -> dict[str, object]:
    with (PROJECT_ROOT / "shopify.app.toml").open("rb") as handle:
        return tomllib.load(handle)


def test_top_level_keys_the_cli_requires_are_present() -> None:
    config = load_config()

    assert isinstance(config["client_id"], str)
    assert config["name"] == "Retention"
    assert config["handle"] == "retention"
    assert str(config["application_url"]).startswith("https://")
    assert config["embedded"] is True


def test_scopes_match_the_apps_default_scopes_and_install_is_shopify_managed() -> None:
    access = load_config()["access_scopes"]

    assert isinstance(access, dict)
    assert access["scopes"] == DEFAULT_SCOPES
    assert not access.get("use_legacy_install_flow", False)


def test_redirect_url_is_the_oauth_callback() -> None:
    auth = load_config()["auth"]

    assert isinstance(auth, dict)
    assert [url.endswith("/auth/callback") for url in auth["redirect_urls"]] == [True]


def test_webhook_api_version_is_the_one_the_gateway_pins() -> None:
    webhooks = load_config()["webhooks"]

    assert isinstance(webhooks, dict)
    assert webhooks["api_version"] == API_VERSION


def test_every_subscription_goes_to_the_one_webhook_endpoint() -> None:
    webhooks = load_config()["webhooks"]
    assert isinstance(webhooks, dict)

    assert {s["uri"] for s in webhooks["subscriptions"]} == {"/webhooks"}


def test_the_three_compliance_topics_are_subscribed() -> None:
    webhooks = load_config()["webhooks"]
    assert isinstance(webhooks, dict)

    compliance = {t for s in webhooks["subscriptions"] for t in s.get("compliance_topics", [])}
    assert compliance == COMPLIANCE_TOPICS


def test_subscribed_topics_and_registered_handlers_are_the_same_set() -> None:
    webhooks = load_config()["webhooks"]
    assert isinstance(webhooks, dict)

    subscribed = {t for s in webhooks["subscriptions"] for t in s.get("topics", [])}
    subscribed |= {t for s in webhooks["subscriptions"] for t in s.get("compliance_topics", [])}
    assert subscribed == set(HANDLERS)
