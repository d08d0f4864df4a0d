"""Build a GraphQL client for one shop from the app's stored, refreshed-when-needed token."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

from flask import Flask

from shopify_app.context import get_app_credentials
from shopify_app.context import get_cipher
from shopify_app.db import get_database
from shopify_app.gateway.graphql import GraphQLClient
from shopify_app.models import Shop
from shopify_app.store.credentials import get_access_token


def graphql_client_for(
    app: Flask,
    shop_id: int,
    *,
    now: datetime,
    sleep: Callable[[float], None] = time.sleep,
) -> GraphQLClient:
    """Return a client for the shop, refreshing its access token first when it is expiring."""
    database = get_database(app)
    with database.session_factory() as session:
        shop = session.get(Shop, shop_id)
        if shop is None:
            raise LookupError(f"shop {shop_id} does not exist")
        domain = shop.domain
    token = get_access_token(
        database.session_factory,
        shop_id=shop_id,
        app=get_app_credentials(app),
        cipher=get_cipher(app),
        now=now,
    )
    return GraphQLClient(domain, token, sleep=sleep)
