"""Install shops and keep their offline access tokens usable.

Tokens are stored encrypted. A refresh happens under a row lock taken by a write, so two processes
refreshing at once queue: the second finds the pair the first stored and never spends the (now
superseded) refresh token again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.orm import Session
from sqlalchemy.orm import sessionmaker

from shopify_app.errors import AppError
from shopify_app.gateway.oauth import AppCredentials
from shopify_app.gateway.oauth import TokenGrant
from shopify_app.gateway.oauth import refresh_access_token
from shopify_app.models import Shop
from shopify_app.models import ShopCredential
from shopify_app.store.sync.backfill_runs import queue_backfill
from shopify_app.store.token_cipher import TokenCipher

logger = logging.getLogger(__name__)

REFRESH_MARGIN = timedelta(minutes=5)
"""Refresh a token this long before it expires, so a call never starts with a dying token."""


class ShopNotInstalled(AppError):
    status_code = 401


def install_shop(
    session: Session, *, shop_domain: str, grant: TokenGrant, cipher: TokenCipher, now: datetime
) -> Shop:
    """Record that *shop_domain* installed (or reinstalled) the app with *grant*."""
    shop = session.scalar(select(Shop).where(Shop.domain == shop_domain))
    is_first_install = shop is None
    if shop is None:
        shop = Shop(domain=shop_domain, installed_at=now)
        session.add(shop)
        session.flush()
    elif not shop.is_installed:
        shop.installed_at = now
        shop.uninstalled_at = None
    store_grant(session, shop=shop, grant=grant, cipher=cipher)
    if is_first_install:
        # No HTTP in the install request: the backfill job (or `shops backfill`) picks this up.
        queue_backfill(session, shop_id=shop.id, now=now)
    return shop


def store_grant(session: Session, *, shop: Shop, grant: TokenGrant, cipher: TokenCipher) -> None:
    credential = session.get(ShopCredential, shop.id)
    if credential is None:
        credential = ShopCredential(shop_id=shop.id, version=0)
        session.add(credential)
    credential.access_token_encrypted = cipher.encrypt(grant.access_token)
    credential.access_token_expires_at = grant.expires_at
    credential.refresh_token_encrypted = (
        cipher.encrypt(grant.refresh_token) if grant.refresh_token else None
    )
    credential.refresh_token_expires_at = grant.refresh_token_expires_at
    credential.scopes = grant.scope
    credential.version = (credential.version or 0) + 1
    session.flush()


def has_usable_token(credential: ShopCredential | None, *, now: datetime) -> bool:
    """Tell whether *credential* can still be used, directly or after a refresh."""
    if credential is None:
        return False
    if not _is_expiring(credential, now=now):
        return True
    return credential.refresh_token_encrypted is not None and (
        credential.refresh_token_expires_at is None or credential.refresh_token_expires_at > now
    )


def _is_expiring(credential: ShopCredential, *, now: datetime) -> bool:
    expires_at = credential.access_token_expires_at
    return expires_at is not None and expires_at - REFRESH_MARGIN <= now


RefreshFn = Callable[..., TokenGrant]


def get_access_token(
    session_factory: sessionmaker[Session],
    *,
    shop_id: int,
    app: AppCredentials,
    cipher: TokenCipher,
    now: datetime,
    refresh: RefreshFn = refresh_access_token,
) -> str:
    """Return a usable access token for the shop, refreshing (and persisting) it when needed.

    Takes a session factory rather than a session because the refreshed pair must be committed
    on its own, whatever happens to the caller's transaction.
    """
    with session_factory() as session:
        credential = session.get(ShopCredential, shop_id)
        if credential is None:
            raise ShopNotInstalled("The shop has no access token; open the app from Shopify admin")
        if not _is_expiring(credential, now=now):
            return cipher.decrypt(credential.access_token_encrypted)

    with session_factory() as session, session.begin():
        credential = lock_credential(session, shop_id=shop_id)
        if credential is None:
            raise ShopNotInstalled("The shop has no access token; open the app from Shopify admin")
        if not _is_expiring(credential, now=now):
            return cipher.decrypt(credential.access_token_encrypted)
        if credential.refresh_token_encrypted is None:
            raise ShopNotInstalled("The access token expired and there is no refresh token")
        shop = session.get(Shop, shop_id)
        assert shop is not None
        grant = refresh(
            shop.domain, cipher.decrypt(credential.refresh_token_encrypted), app=app, now=now
        )
        store_grant(session, shop=shop, grant=grant, cipher=cipher)
        logger.info("Refreshed the access token", extra={"shop": shop.domain})
        return grant.access_token


def lock_credential(session: Session, *, shop_id: int) -> ShopCredential | None:
    """Return the shop's credential row locked for this transaction, so a concurrent writer waits.

    A write comes first: on PostgreSQL it locks the row, on SQLite the transaction already holds
    the database write lock (BEGIN IMMEDIATE). Either way the next reader waits for our commit.
    """
    session.execute(
        update(ShopCredential)
        .where(ShopCredential.shop_id == shop_id)
        .values(version=ShopCredential.version)
    )
    return session.get(ShopCredential, shop_id, populate_existing=True)


def rotate_credential(session: Session, *, shop_id: int, cipher: TokenCipher) -> bool:
    """Re-encrypt one shop's token pair with the newest key; return False if it is gone."""
    credential = lock_credential(session, shop_id=shop_id)
    if credential is None:
        return False
    credential.access_token_encrypted = cipher.rotate(credential.access_token_encrypted)
    if credential.refresh_token_encrypted is not None:
        credential.refresh_token_encrypted = cipher.rotate(credential.refresh_token_encrypted)
    session.flush()
    return True


def list_credential_shop_ids(session: Session) -> list[int]:
    """Return the ids of every shop that has stored tokens, in id order."""
    return list(session.scalars(select(ShopCredential.shop_id).order_by(ShopCredential.shop_id)))
