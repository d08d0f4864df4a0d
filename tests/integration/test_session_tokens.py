"""Every /api/* route needs a valid App Bridge session token, and the shop comes from it."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC
from datetime import datetime
from datetime import timedelta

import jwt
import pytest
from flask.testing import FlaskClient

from shopify_app.models import Shop
from tests.support.shopify import make_session_token


def get_shop(client: FlaskClient, token: str) -> tuple[int, dict[str, object], dict[str, str]]:
    response = client.get("/api/shop", headers={"Authorization": f"Bearer {token}"})
    return response.status_code, response.get_json(), dict(response.headers)


def assert_rejected(client: FlaskClient, token: str) -> None:
    status, body, headers = get_shop(client, token)
    assert status == 401
    assert body["error"]["status"] == 401
    assert headers["X-Shopify-Retry-Invalid-Session-Request"] == "1"


def test_valid_session_token_reads_its_own_shop(
    client: FlaskClient, make_shop: Callable[..., Shop]
) -> None:
    make_shop("alpha.myshopify.com")

    status, body, _ = get_shop(client, make_session_token("alpha.myshopify.com"))

    assert status == 200
    assert body["domain"] == "alpha.myshopify.com"


def test_missing_authorization_header_is_refused(client: FlaskClient) -> None:
    response = client.get("/api/shop")

    assert response.status_code == 401
    assert response.headers["X-Shopify-Retry-Invalid-Session-Request"] == "1"
    assert "missing" in response.get_json()["error"]["message"].lower()


def test_non_bearer_authorization_is_refused(
    client: FlaskClient, make_shop: Callable[..., Shop]
) -> None:
    make_shop("alpha.myshopify.com")
    token = make_session_token("alpha.myshopify.com")

    response = client.get("/api/shop", headers={"Authorization": f"Basic {token}"})

    assert response.status_code == 401


def test_expired_token_is_refused(client: FlaskClient, make_shop: Callable[..., Shop]) -> None:
    make_shop("alpha.myshopify.com")
    issued = datetime.now(UTC) - timedelta(minutes=5)

    assert_rejected(client, make_session_token("alpha.myshopify.com", now=issued))


def test_token_expired_within_the_ten_second_leeway_is_accepted(
    client: FlaskClient, make_shop: Callable[..., Shop]
) -> None:
    make_shop("alpha.myshopify.com")
    issued = datetime.now(UTC) - timedelta(seconds=65)

    status, _, _ = get_shop(client, make_session_token("alpha.myshopify.com", now=issued))

    assert status == 200


def test_token_not_yet_valid_beyond_the_leeway_is_refused(
    client: FlaskClient, make_shop: Callable[..., Shop]
) -> None:
    make_shop("alpha.myshopify.com")
    future = datetime.now(UTC) + timedelta(seconds=30)

    assert_rejected(client, make_session_token("alpha.myshopify.com", now=future))


def test_token_for_another_app_audience_is_refused(
    client: FlaskClient, make_shop: Callable[..., Shop]
) -> None:
    make_shop("alpha.myshopify.com")

    assert_rejected(client, make_session_token("alpha.myshopify.com", audience="other-app"))


def test_token_signed_with_the_wrong_secret_is_refused(
    client: FlaskClient, make_shop: Callable[..., Shop]
) -> None:
    make_shop("alpha.myshopify.com")

    wrong_secret = "wrong-secret-" + "x" * 52

    assert_rejected(client, make_session_token("alpha.myshopify.com", secret=wrong_secret))


def test_unsigned_alg_none_token_is_refused(
    client: FlaskClient, make_shop: Callable[..., Shop]
) -> None:
    make_shop("alpha.myshopify.com")
    signed = make_session_token("alpha.myshopify.com")
    claims = jwt.decode(signed, options={"verify_signature": False})

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    header = b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    unsigned = f"{header}.{b64(json.dumps(claims).encode())}."

    assert_rejected(client, unsigned)


@pytest.mark.parametrize("algorithm", ["HS512", "HS384"])
def test_token_with_another_hmac_algorithm_is_refused(
    client: FlaskClient, make_shop: Callable[..., Shop], algorithm: str
) -> None:
    make_shop("alpha.myshopify.com")

    assert_rejected(client, make_session_token("alpha.myshopify.com", algorithm=algorithm))


def test_rs256_header_is_refused_even_when_the_secret_is_used_as_key(
    client: FlaskClient, make_shop: Callable[..., Shop]
) -> None:
    make_shop("alpha.myshopify.com")
    good = make_session_token("alpha.myshopify.com")
    header, payload, signature = good.split(".")
    forged_header = base64.urlsafe_b64encode(b'{"alg":"RS256","typ":"JWT"}').rstrip(b"=")

    assert_rejected(client, f"{forged_header.decode()}.{payload}.{signature}")


def test_issuer_and_destination_naming_different_shops_are_refused(
    client: FlaskClient, make_shop: Callable[..., Shop]
) -> None:
    make_shop("alpha.myshopify.com")
    make_shop("beta.myshopify.com", access_token="shpat_beta")
    token = make_session_token("alpha.myshopify.com", iss="https://beta.myshopify.com/admin")

    assert_rejected(client, token)


@pytest.mark.parametrize(
    "dest",
    ["https://evil.com", "https://alpha.myshopify.com.evil.com", "http://alpha.myshopify.com"],
)
def test_destination_that_is_not_a_shop_is_refused(
    client: FlaskClient, make_shop: Callable[..., Shop], dest: str
) -> None:
    make_shop("alpha.myshopify.com")
    iss = dest + "/admin"

    assert_rejected(client, make_session_token("alpha.myshopify.com", dest=dest, iss=iss))


@pytest.mark.parametrize("claim", ["exp", "nbf", "dest", "iss", "aud"])
def test_token_missing_a_required_claim_is_refused(
    client: FlaskClient, make_shop: Callable[..., Shop], claim: str
) -> None:
    make_shop("alpha.myshopify.com")

    assert_rejected(client, make_session_token("alpha.myshopify.com", **{claim: None}))


def test_token_for_a_shop_that_never_installed_is_refused(client: FlaskClient) -> None:
    assert_rejected(client, make_session_token("stranger.myshopify.com"))


def test_token_for_an_uninstalled_shop_is_refused(
    client: FlaskClient, make_shop: Callable[..., Shop]
) -> None:
    make_shop("alpha.myshopify.com", uninstalled_at=datetime.now(UTC))

    assert_rejected(client, make_session_token("alpha.myshopify.com"))


def test_token_for_shop_a_never_reads_shop_b_even_when_b_is_named_in_the_query(
    client: FlaskClient, make_shop: Callable[..., Shop]
) -> None:
    make_shop("alpha.myshopify.com")
    make_shop("beta.myshopify.com", access_token="shpat_beta", name="Beta")
    token = make_session_token("alpha.myshopify.com")

    response = client.get(
        "/api/shop?shop=beta.myshopify.com",
        headers={"Authorization": f"Bearer {token}", "X-Shopify-Shop-Domain": "beta.myshopify.com"},
    )

    assert response.status_code == 200
    assert response.get_json()["domain"] == "alpha.myshopify.com"
