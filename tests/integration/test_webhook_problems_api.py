"""The admin's view of stuck webhook deliveries: listed per shop, without payload, replayable."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from datetime import timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from shopify_app.db import Database
from shopify_app.models import DeliveryStatus
from shopify_app.models import Shop
from shopify_app.models import WebhookDelivery
from tests.support.shopify import json_body
from tests.support.shopify import make_session_token
from tests.support.shopify import webhook_headers
from webhooks import worker

ALPHA = "alpha.myshopify.com"
BETA = "beta.myshopify.com"
# Valid HMAC, body that is not JSON: stored, then dead-lettered at once (no retry can cure it).
SECRET_BODY = b"not json, but private: jane.doe@example.com"
# A refund of an order not stored yet: retried with backoff until the order arrives.
EARLY_REFUND = json_body({"id": 77, "order_id": 987001, "note": "private: jane.doe@example.com"})


@pytest.fixture
def shops(make_shop: Callable[..., Shop]) -> tuple[Shop, Shop]:
    return make_shop(ALPHA), make_shop(BETA, access_token="shpat_beta")


def bearer(shop_domain: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_session_token(shop_domain)}"}


def deliver(client: FlaskClient, shop_domain: str, topic: str, body: bytes) -> None:
    response = client.post(
        "/webhooks", data=body, headers=webhook_headers(topic, body, shop_domain=shop_domain)
    )
    assert response.get_json() == {"status": "stored"}


def ids_by_status(session: Session, shop_domain: str) -> dict[DeliveryStatus, list[int]]:
    session.expire_all()
    found: dict[DeliveryStatus, list[int]] = {}
    query = select(WebhookDelivery).where(WebhookDelivery.shop_domain == shop_domain)
    for delivery in session.scalars(query.order_by(WebhookDelivery.id)):
        found.setdefault(delivery.status, []).append(delivery.id)
    session.commit()
    return found


@pytest.fixture
def problems(
    client: FlaskClient,
    database: Database,
    session: Session,
    shops: tuple[Shop, Shop],
    now: datetime,
) -> datetime:
    """Alpha: one dead, one failing, one ignored delivery; beta: one dead. Return the clock."""
    deliver(client, ALPHA, "orders/create", SECRET_BODY)
    deliver(client, BETA, "orders/create", SECRET_BODY)
    worker.drain(database, now=now)
    clock = now + timedelta(hours=2)
    deliver(client, ALPHA, "refunds/create", EARLY_REFUND)
    deliver(client, ALPHA, "an/unknown_topic", json_body({"id": 1}))
    for minutes in (0, 2, 6):  # three failed attempts: 1 and then 2 minutes apart
        worker.drain(database, now=clock + timedelta(minutes=minutes))
    return clock + timedelta(minutes=6)


def test_problems_lists_dead_and_failing_deliveries_of_the_token_shop_only_without_payload(
    client: FlaskClient, problems: datetime
) -> None:
    response = client.get("/api/webhooks/problems", headers=bearer(ALPHA))

    assert response.status_code == 200
    rows = response.get_json()["problems"]
    assert [(row["topic"], row["status"], row["attempts"]) for row in rows] == [
        ("refunds/create", "failed", 3),
        ("orders/create", "dead", 1),
    ]
    assert rows[0]["last_error"].startswith("OrderNotYetKnown: order 987001 of refund 77")
    assert rows[1]["last_error"].startswith("The webhook body is not valid JSON")
    assert set(rows[0]) == {"id", "topic", "received_at", "attempts", "last_error", "status"}
    assert b"jane.doe" not in response.get_data()
    beta = client.get("/api/webhooks/problems", headers=bearer(BETA)).get_json()["problems"]
    assert [(row["topic"], row["status"]) for row in beta] == [("orders/create", "dead")]
    assert not {row["id"] for row in beta} & {row["id"] for row in rows}


def test_a_delivery_in_its_first_routine_retries_is_not_listed(
    client: FlaskClient, shops: tuple[Shop, Shop], database: Database, now: datetime
) -> None:
    deliver(client, ALPHA, "refunds/create", EARLY_REFUND)
    worker.drain(database, now=now)

    response = client.get("/api/webhooks/problems", headers=bearer(ALPHA))

    assert response.get_json() == {"problems": []}


def test_shop_with_every_delivery_processed_has_no_problems(
    client: FlaskClient, shops: tuple[Shop, Shop], database: Database, now: datetime
) -> None:
    deliver(client, ALPHA, "an/unknown_topic", json_body({"id": 1}))
    worker.drain(database, now=now)

    response = client.get("/api/webhooks/problems", headers=bearer(ALPHA))

    assert response.get_json() == {"problems": []}


def test_replay_requeues_a_dead_delivery_once_and_the_worker_takes_it_again(
    client: FlaskClient, database: Database, session: Session, problems: datetime
) -> None:
    [dead] = ids_by_status(session, ALPHA)[DeliveryStatus.DEAD]

    first = client.post(f"/api/webhooks/problems/{dead}/replay", headers=bearer(ALPHA))
    second = client.post(f"/api/webhooks/problems/{dead}/replay", headers=bearer(ALPHA))

    assert first.status_code == 200
    assert (first.get_json()["id"], first.get_json()["status"]) == (dead, "pending")
    assert first.get_json()["attempts"] == 0
    assert second.status_code == 409
    assert "already queued" in second.get_json()["error"]["message"]
    listed = client.get("/api/webhooks/problems", headers=bearer(ALPHA)).get_json()["problems"]
    assert dead not in [row["id"] for row in listed]
    assert worker.drain(database, now=problems).total == 1  # the failing one is not due yet
    # Taken again from the start; its body is still not JSON, so it is dead-lettered again.
    again = session.get(WebhookDelivery, dead)
    assert again is not None
    assert (again.status, again.attempts) == (DeliveryStatus.DEAD, 1)


def test_replay_of_another_shops_delivery_is_not_found_and_changes_nothing(
    client: FlaskClient, session: Session, problems: datetime
) -> None:
    [beta_dead] = ids_by_status(session, BETA)[DeliveryStatus.DEAD]

    stolen = client.post(f"/api/webhooks/problems/{beta_dead}/replay", headers=bearer(ALPHA))
    unknown = client.post("/api/webhooks/problems/987654321/replay", headers=bearer(ALPHA))
    huge = client.post(f"/api/webhooks/problems/{2**64}/replay", headers=bearer(ALPHA))

    assert stolen.status_code == 404
    assert "No webhook delivery" in stolen.get_json()["error"]["message"]
    assert unknown.status_code == 404
    assert huge.status_code == 404
    assert ids_by_status(session, BETA) == {DeliveryStatus.DEAD: [beta_dead]}


def test_problems_and_replay_need_a_session_token(
    client: FlaskClient, session: Session, problems: datetime
) -> None:
    [dead] = ids_by_status(session, ALPHA)[DeliveryStatus.DEAD]

    assert client.get("/api/webhooks/problems").status_code == 401
    assert client.post(f"/api/webhooks/problems/{dead}/replay").status_code == 401
    assert ids_by_status(session, ALPHA)[DeliveryStatus.DEAD] == [dead]
