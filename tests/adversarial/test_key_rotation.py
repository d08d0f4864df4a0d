"""Encrypted tokens survive a key rotation: rotate, drop the old key, every token still decrypts."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from shopify_app import create_app
from shopify_app.db import Database
from shopify_app.db import get_database
from shopify_app.models import Shop
from shopify_app.models import ShopCredential
from shopify_app.store.token_cipher import TokenCipher
from shopify_app.store.token_cipher import TokenDecryptionError
from shopify_app.store.token_cipher import generate_key
from tests.support.settings import TEST_SETTINGS
from tests.support.settings import TOKEN_KEY

REPO = Path(__file__).resolve().parents[2]


def stored_pairs(database: Database) -> dict[int, tuple[bytes, bytes | None]]:
    with database.session_scope() as session:
        return {
            credential.shop_id: (
                credential.access_token_encrypted,
                credential.refresh_token_encrypted,
            )
            for credential in session.scalars(select(ShopCredential))
        }


def app_with_keys(database_url: str, *keys: str) -> Flask:
    return create_app(
        {**TEST_SETTINGS, "DATABASE_URL": database_url, "TOKEN_ENCRYPTION_KEY": ",".join(keys)}
    )


def test_rotate_token_key_reencrypts_every_token_so_the_old_key_can_be_dropped(
    app: Flask, database: Database, make_shop: Callable[..., Shop], database_url: str
) -> None:
    for number in range(5):
        make_shop(
            f"shop-{number}.myshopify.com",
            access_token=f"shpat_{number}",
            refresh_token=None if number == 0 else f"shprt_{number}",
        )
    new_key = generate_key()
    rotating = app_with_keys(database_url, new_key, TOKEN_KEY)

    result = rotating.test_cli_runner().invoke(args=["rotate-token-key"])
    get_database(rotating).dispose()

    assert result.exit_code == 0, result.output
    assert "Re-encrypted the tokens of 5 shops" in result.output
    only_new = TokenCipher([new_key])
    only_old = TokenCipher([TOKEN_KEY])
    for shop_id, (access, refresh) in stored_pairs(database).items():
        number = shop_id_number(database, shop_id)
        assert only_new.decrypt(access) == f"shpat_{number}"
        assert (only_new.decrypt(refresh) if refresh else None) == (
            None if number == 0 else f"shprt_{number}"
        )
        with pytest.raises(TokenDecryptionError):
            only_old.decrypt(access)


def test_rotate_token_key_names_tokens_no_key_decrypts_and_fails(
    database: Database, make_shop: Callable[..., Shop], database_url: str
) -> None:
    make_shop("shop-1.myshopify.com")
    stranger = app_with_keys(database_url, generate_key())

    result = stranger.test_cli_runner().invoke(args=["rotate-token-key"])
    get_database(stranger).dispose()

    assert result.exit_code != 0
    assert "1 shops have tokens no configured key decrypts" in result.output
    assert "shpat" not in result.output


def test_rotate_token_key_runs_as_the_documented_flask_command(
    database: Database, make_shop: Callable[..., Shop], database_url: str, tmp_path: Path
) -> None:
    make_shop("shop-1.myshopify.com", access_token="shpat_cli")
    new_key = generate_key()
    env = {
        **os.environ,
        "SHOPIFY_API_KEY": TEST_SETTINGS["SHOPIFY_API_KEY"],
        "SHOPIFY_API_SECRET": TEST_SETTINGS["SHOPIFY_API_SECRET"],
        "APP_URL": TEST_SETTINGS["APP_URL"],
        "SECRET_KEY": TEST_SETTINGS["SECRET_KEY"],
        "DATABASE_URL": database_url,
        "TOKEN_ENCRYPTION_KEY": f"{new_key},{TOKEN_KEY}",
        "BACKGROUND_WORKER": "false",
    }
    done = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "shopify_app", "rotate-token-key"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    [(access, _)] = stored_pairs(database).values()
    assert TokenCipher([new_key]).decrypt(access) == "shpat_cli"


def shop_id_number(database: Database, shop_id: int) -> int:
    with database.session_scope() as session:
        shop = session.get(Shop, shop_id)
        assert shop is not None
        return int(shop.domain.split(".")[0].removeprefix("shop-"))
