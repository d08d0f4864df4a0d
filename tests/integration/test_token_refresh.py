"""Expiring offline tokens are refreshed before use, and concurrent refreshes keep a valid pair."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from datetime import UTC
from datetime import datetime
from datetime import timedelta

import pytest
import responses
from responses import matchers

from shopify_app.db import Database
from shopify_app.gateway.errors import ShopifyAuthError
from shopify_app.gateway.oauth import AppCredentials
from shopify_app.models import Shop
from shopify_app.models import ShopCredential
from shopify_app.store.credentials import ShopNotInstalled
from shopify_app.store.credentials import get_access_token
from shopify_app.store.token_cipher import TokenCipher
from tests.support.shopify import API_KEY
from tests.support.shopify import API_SECRET
from tests.support.shopify import token_response

SHOP = "alpha.myshopify.com"
TOKEN_URL = f"https://{SHOP}/admin/oauth/access_token"
APP = AppCredentials(api_key=API_KEY, api_secret=API_SECRET)


def fetch_token(database: Database, cipher: TokenCipher, shop: Shop) -> str:
    return get_access_token(
        database.session_factory, shop_id=shop.id, app=APP, cipher=cipher, now=datetime.now(UTC)
    )


@responses.activate
def test_fresh_token_is_returned_without_calling_shopify(
    database: Database, cipher: TokenCipher, make_shop: Callable[..., Shop]
) -> None:
    shop = make_shop(SHOP, access_token="shpat_fresh")

    assert fetch_token(database, cipher, shop) == "shpat_fresh"
    assert len(responses.calls) == 0


@responses.activate
def test_expired_token_is_refreshed_and_the_new_pair_persisted(
    database: Database, cipher: TokenCipher, make_shop: Callable[..., Shop]
) -> None:
    shop = make_shop(
        SHOP,
        access_token="old",
        refresh_token="r-old",
        expires_at=datetime.now(UTC) - timedelta(minutes=1),
    )
    responses.post(
        TOKEN_URL,
        json=token_response(access_token="new", refresh_token="r-new"),
        match=[
            matchers.json_params_matcher(
                {
                    "client_id": API_KEY,
                    "client_secret": API_SECRET,
                    "grant_type": "refresh_token",
                    "refresh_token": "r-old",
                }
            )
        ],
    )

    assert fetch_token(database, cipher, shop) == "new"
    with database.session_scope() as session:
        credential = session.get(ShopCredential, shop.id)
        assert credential is not None
        assert cipher.decrypt(credential.refresh_token_encrypted or b"") == "r-new"
        assert credential.access_token_expires_at is not None
        assert credential.access_token_expires_at > datetime.now(UTC) + timedelta(minutes=50)


@responses.activate
def test_token_about_to_expire_is_refreshed_before_use(
    database: Database, cipher: TokenCipher, make_shop: Callable[..., Shop]
) -> None:
    shop = make_shop(SHOP, expires_at=datetime.now(UTC) + timedelta(minutes=2))
    responses.post(TOKEN_URL, json=token_response(access_token="renewed"))

    assert fetch_token(database, cipher, shop) == "renewed"


@responses.activate
def test_two_concurrent_refreshes_spend_the_refresh_token_once_and_keep_a_working_pair(
    database: Database, cipher: TokenCipher, make_shop: Callable[..., Shop]
) -> None:
    shop = make_shop(
        SHOP,
        access_token="old",
        refresh_token="r0",
        expires_at=datetime.now(UTC) - timedelta(minutes=1),
    )
    valid_refresh_tokens = {"r0"}
    issued = iter(range(1, 100))
    lock = threading.Lock()

    def rotate(request):  # type: ignore[no-untyped-def]
        body = json.loads(request.body)
        time.sleep(0.2)  # a slow Shopify widens the race window
        with lock:
            if body["refresh_token"] not in valid_refresh_tokens:
                return (400, {}, json.dumps({"error": "invalid_grant"}))
            valid_refresh_tokens.clear()
            n = next(issued)
            valid_refresh_tokens.add(f"r{n}")
        return (200, {}, json.dumps(token_response(access_token=f"a{n}", refresh_token=f"r{n}")))

    responses.add_callback(responses.POST, TOKEN_URL, callback=rotate)
    results: list[str] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            results.append(fetch_token(database, cipher, shop))
        except BaseException as exc:  # noqa: BLE001 - surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert results == ["a1", "a1"]
    assert len(responses.calls) == 1
    with database.session_scope() as session:
        credential = session.get(ShopCredential, shop.id)
        assert credential is not None
        stored_refresh = cipher.decrypt(credential.refresh_token_encrypted or b"")
    assert stored_refresh in valid_refresh_tokens


@responses.activate
def test_refused_refresh_raises_an_auth_error_and_keeps_the_stored_pair(
    database: Database, cipher: TokenCipher, make_shop: Callable[..., Shop]
) -> None:
    shop = make_shop(SHOP, refresh_token="r-old", expires_at=datetime.now(UTC) - timedelta(hours=1))
    responses.post(TOKEN_URL, status=400, json={"error": "invalid_grant"})

    with pytest.raises(ShopifyAuthError):
        fetch_token(database, cipher, shop)

    with database.session_scope() as session:
        credential = session.get(ShopCredential, shop.id)
        assert credential is not None
        assert cipher.decrypt(credential.refresh_token_encrypted or b"") == "r-old"


@responses.activate
def test_refresh_retries_a_5xx_from_shopify(
    database: Database,
    cipher: TokenCipher,
    make_shop: Callable[..., Shop],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("shopify_app.gateway.http.time.sleep", lambda _s: None)
    shop = make_shop(SHOP, expires_at=datetime.now(UTC) - timedelta(hours=1))
    responses.post(TOKEN_URL, status=503)
    responses.post(TOKEN_URL, json=token_response(access_token="after-retry"))

    assert fetch_token(database, cipher, shop) == "after-retry"
    assert len(responses.calls) == 2


def test_shop_without_credentials_cannot_get_a_token(
    database: Database, cipher: TokenCipher
) -> None:
    with database.session_scope() as session:
        shop = Shop(domain=SHOP)
        session.add(shop)

    with pytest.raises(ShopNotInstalled):
        fetch_token(database, cipher, shop)
