"""`flask --app shopify_app rotate-token-key`: re-encrypt stored tokens with the newest key.

To rotate: put a new key first in TOKEN_ENCRYPTION_KEY and keep the old ones after it (all of them
decrypt, the first encrypts), run this command, then drop the old keys.
"""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.orm import Session

from shopify_app.context import get_cipher
from shopify_app.db import get_database
from shopify_app.models import ShopCredential
from shopify_app.store.token_cipher import TokenCipher
from shopify_app.store.token_cipher import TokenDecryptionError


def rotate_credential(session: Session, *, shop_id: int, cipher: TokenCipher) -> bool:
    """Re-encrypt one shop's token pair with the newest key; return False if it is gone."""
    # A write first locks the row (SQLite: the database), so a concurrent token refresh waits.
    session.execute(
        update(ShopCredential)
        .where(ShopCredential.shop_id == shop_id)
        .values(version=ShopCredential.version)
    )
    credential = session.get(ShopCredential, shop_id, populate_existing=True)
    if credential is None:
        return False
    credential.access_token_encrypted = cipher.rotate(credential.access_token_encrypted)
    if credential.refresh_token_encrypted is not None:
        credential.refresh_token_encrypted = cipher.rotate(credential.refresh_token_encrypted)
    session.flush()
    return True


def list_credential_shop_ids(session: Session) -> list[int]:
    return list(session.scalars(select(ShopCredential.shop_id).order_by(ShopCredential.shop_id)))


@click.command("rotate-token-key")
@with_appcontext
def rotate_token_key_command() -> None:
    """Re-encrypt every stored Shopify token with the first key in TOKEN_ENCRYPTION_KEY."""
    database = get_database(current_app)
    cipher = get_cipher(current_app)
    with database.session_factory() as session:
        shop_ids = list_credential_shop_ids(session)
    rotated = 0
    unreadable: list[int] = []
    with click.progressbar(shop_ids, label="Re-encrypting shop tokens", show_pos=True) as bar:
        for shop_id in bar:
            try:
                with database.session_scope() as session:
                    rotated += rotate_credential(session, shop_id=shop_id, cipher=cipher)
            except TokenDecryptionError:
                unreadable.append(shop_id)
    click.echo(f"Re-encrypted the tokens of {rotated} shops with the first key.")
    if unreadable:
        listed = ", ".join(str(shop_id) for shop_id in unreadable[:20])
        raise click.ClickException(
            f"{len(unreadable)} shops have tokens no configured key decrypts (shop ids: {listed});"
            " add the key they were written with and run the command again"
        )
