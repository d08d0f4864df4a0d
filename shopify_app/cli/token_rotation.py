"""`flask --app shopify_app rotate-token-key`: re-encrypt stored tokens with the newest key.

To rotate: put a new key first in TOKEN_ENCRYPTION_KEY and keep the old ones after it (all of them
decrypt, the first encrypts), run this command, then drop the old keys.
"""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from shopify_app.context import get_cipher
from shopify_app.db import get_database
from shopify_app.store.credentials import list_credential_shop_ids
from shopify_app.store.credentials import rotate_credential
from shopify_app.store.token_cipher import TokenDecryptionError


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
