"""Demo mode: only when configured, only on loopback, never switched on by a request."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient

from shopify_app import create_app
from shopify_app.models import Shop
from shopify_app.settings import SettingsError
from shopify_app.web.dashboard.demo_launcher import DEMO_SHOP_DOMAIN
from tests.support.settings import TEST_SETTINGS

LOCAL = {"APP_URL": "http://127.0.0.1:5000", "DEMO_MODE": True}


def test_demo_mode_refuses_to_start_with_a_non_loopback_app_url() -> None:
    with pytest.raises(SettingsError) as excinfo:
        create_app({**TEST_SETTINGS, "DEMO_MODE": True, "APP_URL": "https://shop.example.com"})

    assert "DEMO_MODE" in str(excinfo.value)
    assert "127.0.0.1" in str(excinfo.value)


@pytest.mark.parametrize("query", ["", "?DEMO_MODE=1", "?demo=1&demo_mode=true"])
def test_without_demo_mode_the_launcher_does_not_exist_whatever_the_request_says(
    client: FlaskClient, query: str
) -> None:
    assert client.get(f"/demo{query}").status_code == 404
    assert client.get(f"/demo/session-token{query}").status_code == 404


class TestWithDemoMode:
    @pytest.fixture
    def settings_overrides(self) -> dict[str, Any]:
        return LOCAL

    def test_launcher_serves_the_embedded_page_for_the_demo_shop(
        self, client: FlaskClient, make_shop: Callable[..., Shop]
    ) -> None:
        make_shop(DEMO_SHOP_DOMAIN, name="Demo")

        response = client.get("/demo", base_url="http://127.0.0.1:5000")

        assert response.status_code == 200
        html = response.get_data(as_text=True)
        assert 'window.RETENTION_SESSION_TOKEN_URL = "/demo/session-token"' in html
        assert "app-bridge.js" not in html

    def test_issued_token_opens_the_api_for_the_demo_shop_only(
        self, client: FlaskClient, make_shop: Callable[..., Shop]
    ) -> None:
        make_shop(DEMO_SHOP_DOMAIN)
        make_shop("alpha.myshopify.com", access_token="shpat_alpha2")

        token = client.get("/demo/session-token", base_url="http://127.0.0.1:5000").get_json()[
            "token"
        ]
        response = client.get("/api/shop", headers={"Authorization": f"Bearer {token}"})

        assert response.status_code == 200
        assert response.get_json()["domain"] == DEMO_SHOP_DOMAIN

    @pytest.mark.parametrize("remote", ["10.1.2.3", "192.168.1.20", "203.0.113.9"])
    def test_requests_from_another_machine_are_refused(
        self, client: FlaskClient, make_shop: Callable[..., Shop], remote: str
    ) -> None:
        make_shop(DEMO_SHOP_DOMAIN)

        response = client.get(
            "/demo/session-token",
            base_url="http://127.0.0.1:5000",
            environ_base={"REMOTE_ADDR": remote},
        )

        assert response.status_code == 403
        assert "127.0.0.1" in response.get_json()["error"]["message"]

    def test_a_non_loopback_host_header_is_refused_against_dns_rebinding(
        self, client: FlaskClient, make_shop: Callable[..., Shop]
    ) -> None:
        make_shop(DEMO_SHOP_DOMAIN)

        response = client.get("/demo/session-token", base_url="http://attacker.example:5000")

        assert response.status_code == 403

    def test_launcher_says_so_when_the_demo_shop_is_not_set_up(self, client: FlaskClient) -> None:
        response = client.get("/demo/session-token", base_url="http://127.0.0.1:5000")

        assert response.status_code == 404
        assert "make run" in response.get_json()["error"]["message"]
