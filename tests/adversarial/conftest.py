"""Fixtures of the adversarial suite: two shops, one of them with a realistic history."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask.testing import FlaskClient

from shopify_app.db import Database
from shopify_app.models import Shop
from tests.adversarial.support import ATTACKER
from tests.adversarial.support import VICTIM
from tests.adversarial.support import Store
from tests.adversarial.support import demo_events
from tests.adversarial.support import feed_store


@pytest.fixture
def attacker(make_shop: Callable[..., Shop]) -> Shop:
    return make_shop(ATTACKER, access_token="shpat_alpha_secret", refresh_token="shprt_alpha")


@pytest.fixture
def victim(make_shop: Callable[..., Shop]) -> Shop:
    """Shop B, installed, with no history."""
    return make_shop(VICTIM, access_token="shpat_beta_secret", refresh_token="shprt_beta")


@pytest.fixture
def victim_store(victim: Shop, client: FlaskClient, database: Database) -> Store:
    """Shop B with two months of orders, checkouts, customers, fulfillments and refunds."""
    events = demo_events(VICTIM, customers=10, history_days=60)
    feed_store(client, database, events, domain=VICTIM, shop_id=victim.id)
    return Store(shop=victim, events=events)
