"""Two workers draining one shop at once, on PostgreSQL: per-shop locks, newest version wins.

The deliveries are many versions of the same few orders, sharing customers, stored in a shuffled
order: the two workers' batches hold versions of the same rows. Without the shop's advisory lock
(`webhooks.shop_locks`) such batches deadlock or race on a new order's unique key; with it they
take turns, and the newest version of every order is what stays.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable

import pytest
from sqlalchemy import func
from sqlalchemy import select

from shopify_app.db import Database
from shopify_app.models import Customer
from shopify_app.models import DeliveryStatus
from shopify_app.models import Order
from shopify_app.models import Shop
from shopify_app.models import WebhookDelivery
from tests.support.orders import order_version
from tests.support.orders import unique_order
from tests.support.orders import version_name
from webhooks import worker

pytestmark = pytest.mark.postgres

SHOP = "alpha.myshopify.com"
ORDERS = 12
VERSIONS = 6
CUSTOMERS = 3


@pytest.fixture
def database_backend() -> str:
    return "postgresql"


def test_two_workers_draining_one_shop_end_in_the_newest_version_with_nothing_failed(
    database: Database, store: Callable[..., int], make_shop: Callable[..., Shop]
) -> None:
    make_shop(SHOP)
    versions = [(n, v) for n in range(1, ORDERS + 1) for v in range(VERSIONS)]
    random.Random(7).shuffle(versions)
    for number, version in versions:
        store(
            order_version(number, version, customers=CUSTOMERS),
            topic="orders/updated",
            shop_domain=SHOP,
        )
    start = threading.Barrier(2)
    totals: list[int] = []
    errors: list[BaseException] = []

    def drain() -> None:
        start.wait()
        try:
            totals.append(worker.drain(database, shop_domain=SHOP, batch_size=4).total)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=drain) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)

    assert errors == []
    assert sum(totals) == len(versions)
    assert min(totals) > 0, "both workers should have taken part"
    with database.session_scope() as session:
        deliveries = session.execute(
            select(WebhookDelivery.status, WebhookDelivery.attempts, WebhookDelivery.last_error)
        ).all()
        names = {
            row.shopify_id: row.name
            for row in session.execute(select(Order.shopify_id, Order.name))
        }
        customers = session.scalar(select(func.count(Customer.id)))
    assert {(row.status, row.attempts, row.last_error) for row in deliveries} == {
        (DeliveryStatus.DONE, 1, None)
    }
    newest = {unique_order(n)["id"]: version_name(n, VERSIONS - 1) for n in range(1, ORDERS + 1)}
    assert names == newest
    assert customers == CUSTOMERS
