"""Opening the embedded app installs the shop by token exchange and serves it framed per shop."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import responses
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy.orm import Session

from shopify_app.db import Database
from shopify_app.models import Shop
from shopify_app.models import ShopCredential
from shopify_app.store.token_cipher import TokenCipher
from tests.support.shopify import API_KEY
from tests.support.shopify import API_SECRET
from tests.support.shopify import make_session_token
from tests.support.shopify import token_response

SHOP = "alpha.myshopify.com"
TOKEN_URL = f"https://{SHOP}/admin/oauth/access_token"


def open_app(client: FlaskClient, id_token: str | None, shop: str = SHOP):  # type: ignore[no-untyped-def]
    query = f"shop={shop}&host=YWRtaW4uc2hvcGlmeS5jb20vc3RvcmUvYWxwaGE&embedded=1"
    if id_token:
        query += f"&id_token={id_token}"
    return client.get(f"/?{query}")


@responses.activate
def test_first_open_exchanges_the_id_token_for_an_expiring_offline_token(
    client: FlaskClient, session: Session, cipher: TokenCipher
) -> None:
    responses.post(TOKEN_URL, json=token_response(access_token="shpat_new", refresh_token="r1"))
    id_token = make_session_token(SHOP)

    response = open_app(client, id_token)

    assert response.status_code == 200
    sent = json.loads(responses.calls[0].request.body)
    assert sent == {
        "client_id": API_KEY,
        "client_secret": API_SECRET,
        "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
        "subject_token": id_token,
        "subject_token_type": "urn:ietf:params:oauth:token-type:id_token",
        "requested_token_type": "urn:shopify:params:oauth:token-type:offline-access-token",
        "expiring": "1",
    }
    shop = session.scalar(select(Shop).where(Shop.domain == SHOP))
    assert shop is not None
    assert shop.is_installed
    credential = session.get(ShopCredential, shop.id)
    assert credential is not None
    assert cipher.decrypt(credential.access_token_encrypted) == "shpat_new"
    assert cipher.decrypt(credential.refresh_token_encrypted or b"") == "r1"
    assert credential.access_token_expires_at is not None
    remaining = credential.access_token_expires_at - datetime.now(UTC)
    assert timedelta(minutes=55) < remaining <= timedelta(hours=1)


@responses.activate
def test_second_open_with_a_usable_token_makes_no_exchange(
    client: FlaskClient, make_shop: Callable[..., Shop]
) -> None:
    make_shop(SHOP)

    response = open_app(client, make_session_token(SHOP))

    assert response.status_code == 200
    assert len(responses.calls) == 0


def test_document_response_carries_app_bridge_and_a_per_shop_frame_ancestors_csp(
    client: FlaskClient, make_shop: Callable[..., Shop]
) -> None:
    make_shop(SHOP)

    response = open_app(client, make_session_token(SHOP))

    assert response.headers["Content-Security-Policy"] == (
        f"frame-ancestors https://{SHOP} https://admin.shopify.com;"
    )
    html = response.get_data(as_text=True)
    assert f'<meta name="shopify-api-key" content="{API_KEY}">' in html
    assert '<script src="https://cdn.shopify.com/shopifycloud/app-bridge.js"></script>' in html


def test_csp_names_the_shop_of_the_token_not_another_shop(
    client: FlaskClient, make_shop: Callable[..., Shop]
) -> None:
    make_shop(SHOP)
    make_shop("beta.myshopify.com", access_token="shpat_beta")

    response = open_app(client, make_session_token("beta.myshopify.com"))

    assert "https://beta.myshopify.com " in response.headers["Content-Security-Policy"]
    assert SHOP not in response.headers["Content-Security-Policy"]


def test_document_request_without_id_token_goes_to_the_bounce_page(client: FlaskClient) -> None:
    response = open_app(client, None)

    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location.path == "/auth/session-token"
    assert location.netloc == ""
    reload_target = parse_qs(location.query)["shopify-reload"][0]
    assert reload_target.startswith("/?")
    assert "id_token" not in reload_target


def test_document_request_with_an_expired_id_token_bounces_instead_of_showing_a_login(
    client: FlaskClient, make_shop: Callable[..., Shop]
) -> None:
    make_shop(SHOP)
    stale = make_session_token(SHOP, now=datetime.now(UTC) - timedelta(minutes=10))

    response = open_app(client, stale)

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/session-token?")


def test_bounce_page_loads_app_bridge_and_only_lets_the_shop_frame_it(client: FlaskClient) -> None:
    response = client.get(f"/auth/session-token?shop={SHOP}&embedded=1&shopify-reload=/")

    assert response.status_code == 200
    assert "app-bridge.js" in response.get_data(as_text=True)
    assert f"https://{SHOP} " in response.headers["Content-Security-Policy"]


def test_bounce_page_with_a_bogus_shop_is_framed_by_nobody(client: FlaskClient) -> None:
    response = client.get("/auth/session-token?shop=evil.com&shopify-reload=/")

    assert response.headers["Content-Security-Policy"] == "frame-ancestors 'none';"


@responses.activate
def test_reinstall_after_uninstall_exchanges_a_new_token(
    client: FlaskClient, make_shop: Callable[..., Shop], database: Database, cipher: TokenCipher
) -> None:
    shop = make_shop(SHOP)
    with database.session_scope() as session:
        stored = session.get(Shop, shop.id)
        assert stored is not None
        stored.uninstalled_at = datetime.now(UTC)
        session.execute(ShopCredential.__table__.delete().where(ShopCredential.shop_id == shop.id))
    responses.post(TOKEN_URL, json=token_response(access_token="shpat_again"))

    response = open_app(client, make_session_token(SHOP))

    assert response.status_code == 200
    with database.session_scope() as session:
        stored = session.get(Shop, shop.id)
        assert stored is not None
        assert stored.is_installed
        credential = session.get(ShopCredential, shop.id)
        assert credential is not None
        assert cipher.decrypt(credential.access_token_encrypted) == "shpat_again"


@responses.activate
def test_refused_token_exchange_shows_an_error_page_not_a_crash(client: FlaskClient) -> None:
    responses.post(TOKEN_URL, status=400, json={"error": "invalid_subject_token"})

    response = open_app(client, make_session_token(SHOP))

    assert response.status_code == 401
    assert "refused" in response.get_data(as_text=True)


def test_stored_tokens_are_not_readable_as_plaintext_in_the_database(
    make_shop: Callable[..., Shop], database: Database
) -> None:
    make_shop(SHOP, access_token="shpat_plaintext_probe", refresh_token="shprt_plaintext_probe")

    with database.engine.connect() as connection:
        rows = connection.execute(text("SELECT * FROM shop_credentials")).all()
    dump = repr(rows)

    assert rows
    assert "shpat_plaintext_probe" not in dump
    assert "shprt_plaintext_probe" not in dump
