"""The authorization-code grant: a signed, fresh, single-use round trip, or a clear 400."""

from __future__ import annotations

import json
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from urllib.parse import parse_qs
from urllib.parse import urlencode
from urllib.parse import urlsplit

import pytest
import responses
from flask.testing import FlaskClient
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.orm import Session

from shopify_app.models import Shop
from shopify_app.models import ShopCredential
from tests.support.shopify import API_KEY
from tests.support.shopify import signed_oauth_query
from tests.support.shopify import token_response

SHOP = "alpha.myshopify.com"
TOKEN_URL = f"https://{SHOP}/admin/oauth/access_token"


def begin(client: FlaskClient, shop: str = SHOP) -> str:
    response = client.get(f"/auth?shop={shop}")
    assert response.status_code == 302
    return parse_qs(urlsplit(response.headers["Location"]).query)["state"][0]


def callback(client: FlaskClient, state: str, **changes: str | None) -> object:
    params = {
        "code": "auth-code-1",
        "host": "YWRtaW4uc2hvcGlmeS5jb20vc3RvcmUvYWxwaGE",
        "shop": SHOP,
        "state": state,
        "timestamp": str(int(datetime.now(UTC).timestamp())),
    }
    signed = signed_oauth_query(params)
    for key, value in changes.items():
        if value is None:
            signed.pop(key, None)
        else:
            signed[key] = value
    return client.get(f"/auth/callback?{urlencode(signed)}")


def test_begin_redirects_to_the_shops_consent_screen_with_a_state_cookie(
    client: FlaskClient,
) -> None:
    response = client.get(f"/auth?shop={SHOP}")

    location = urlsplit(response.headers["Location"])
    query = parse_qs(location.query)
    assert location.scheme == "https"
    assert location.netloc == SHOP
    assert location.path == "/admin/oauth/authorize"
    assert query["client_id"] == [API_KEY]
    assert query["redirect_uri"] == ["https://retention.example.com/auth/callback"]
    assert query["scope"][0].split(",")
    assert len(query["state"][0]) >= 32
    cookie = response.headers["Set-Cookie"]
    assert "retention_oauth_state=" in cookie
    assert "HttpOnly" in cookie
    assert "Secure" in cookie


@pytest.mark.parametrize(
    "shop",
    [
        "evil.com",
        "shop.myshopify.com.evil.com",
        "SHOP.myshopify.com/../x",
        "javascript:alert(1)",
        "",
        "https%3A%2F%2Fevil.com",
    ],
)
def test_bad_shop_values_get_a_400_with_a_message_and_never_a_redirect(
    client: FlaskClient, shop: str
) -> None:
    response = client.get(f"/auth?shop={shop}")

    assert response.status_code == 400
    assert "Location" not in response.headers
    assert "shop" in response.get_data(as_text=True).lower()


@responses.activate
def test_valid_round_trip_stores_an_expiring_token_and_opens_the_embedded_app(
    client: FlaskClient, session: Session
) -> None:
    responses.post(TOKEN_URL, json=token_response(access_token="shpat_oauth"))
    state = begin(client)

    response = callback(client, state)

    assert response.status_code == 302  # type: ignore[attr-defined]
    assert response.headers["Location"] == f"https://{SHOP}/admin/apps/{API_KEY}"  # type: ignore[attr-defined]
    sent = json.loads(responses.calls[0].request.body)
    assert sent["code"] == "auth-code-1"
    assert sent["expiring"] == "1"
    shop = session.scalar(select(Shop).where(Shop.domain == SHOP))
    assert shop is not None
    assert shop.is_installed
    assert session.get(ShopCredential, shop.id) is not None


@pytest.mark.parametrize(
    "changes",
    [
        {"hmac": None},
        {"hmac": "0" * 64},
        {"code": "tampered-code"},
    ],
    ids=["missing-hmac", "forged-hmac", "tampered-param"],
)
@responses.activate
def test_callback_with_missing_or_forged_hmac_is_refused(
    client: FlaskClient, session: Session, changes: dict[str, str | None]
) -> None:
    state = begin(client)

    response = callback(client, state, **changes)

    assert response.status_code == 400  # type: ignore[attr-defined]
    assert "hmac" in response.get_json()["error"]["message"]  # type: ignore[attr-defined]
    assert len(responses.calls) == 0
    assert session.scalar(select(func.count()).select_from(Shop)) == 0


@responses.activate
def test_callback_with_a_stale_timestamp_is_refused(client: FlaskClient) -> None:
    state = begin(client)
    old = datetime.now(UTC) - timedelta(hours=2)
    params = {
        "code": "auth-code-1",
        "shop": SHOP,
        "state": state,
        "timestamp": str(int(old.timestamp())),
    }

    response = client.get(f"/auth/callback?{urlencode(signed_oauth_query(params))}")

    assert response.status_code == 400
    assert "too old" in response.get_json()["error"]["message"]
    assert len(responses.calls) == 0


@responses.activate
def test_callback_with_a_wrong_state_is_refused(client: FlaskClient) -> None:
    begin(client)

    response = callback(client, "not-the-state-we-issued")

    assert response.status_code == 400  # type: ignore[attr-defined]
    assert "state" in response.get_json()["error"]["message"]  # type: ignore[attr-defined]
    assert len(responses.calls) == 0


@responses.activate
def test_callback_without_the_browsers_state_cookie_is_refused(client: FlaskClient, app) -> None:  # type: ignore[no-untyped-def]
    state = begin(client)
    other_browser = app.test_client()

    response = callback(other_browser, state)

    assert response.status_code == 400  # type: ignore[attr-defined]
    assert len(responses.calls) == 0


@responses.activate
def test_replayed_state_is_refused_even_with_the_original_cookie(client: FlaskClient) -> None:
    responses.post(TOKEN_URL, json=token_response())
    state = begin(client)
    cookie = client.get_cookie("retention_oauth_state", path="/auth")
    assert cookie is not None
    assert callback(client, state).status_code == 302  # type: ignore[attr-defined]

    client.set_cookie("retention_oauth_state", cookie.value, path="/auth")
    replay = callback(client, state)

    assert replay.status_code == 400  # type: ignore[attr-defined]
    assert "already used" in replay.get_json()["error"]["message"]  # type: ignore[attr-defined]
    assert len(responses.calls) == 1


@responses.activate
def test_callback_for_another_shop_than_the_state_was_issued_for_is_refused(
    client: FlaskClient,
) -> None:
    state = begin(client, "beta.myshopify.com")

    response = callback(client, state)

    assert response.status_code == 400  # type: ignore[attr-defined]
    assert len(responses.calls) == 0


def test_callback_with_a_bad_shop_is_refused_before_anything_else(client: FlaskClient) -> None:
    response = client.get("/auth/callback?shop=evil.com&code=x&state=y&timestamp=1&hmac=z")

    assert response.status_code == 400
    assert "Location" not in response.headers
