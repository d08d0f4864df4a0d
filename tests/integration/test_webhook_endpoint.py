"""POST /webhooks: verify before parsing, store once, acknowledge before processing."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from shopify_app.models import DeliveryStatus
from shopify_app.models import WebhookDelivery
from tests.support.shopify import json_body
from tests.support.shopify import webhook_headers
from webhooks.handlers import HANDLERS
from webhooks.verification import REQUIRED_HEADERS

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
SHOP = "alpha.myshopify.com"
PREVIOUS_SECRET = "old-secret-before-rotation-0123456789"

PostWebhook = Callable[..., TestResponse]


def fixture_body(name: str) -> bytes:
    """Return a sample payload re-encoded compactly, as Shopify sends it."""
    return json_body(json.loads((FIXTURES / name).read_text()))


@pytest.fixture
def order_body() -> bytes:
    return fixture_body("orders__create.json")


@pytest.fixture
def handled_calls(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Register a recording handler for orders/create, so the topic counts as handled."""
    calls: list[dict[str, Any]] = []
    monkeypatch.setitem(
        HANDLERS, "orders/create", lambda _s, _shop, payload, _c: calls.append(payload)
    )
    return calls


@pytest.fixture
def post_webhook(client: FlaskClient) -> PostWebhook:
    def post(
        topic: str = "orders/create",
        body: bytes = b'{"id": 1}',
        *,
        shop_domain: str = SHOP,
        drop: tuple[str, ...] = (),
        method: str = "POST",
        **header_options: Any,
    ) -> TestResponse:
        headers = webhook_headers(topic, body, shop_domain=shop_domain, **header_options)
        for name in drop:
            headers.pop(name)
        return client.open("/webhooks", method=method, data=body, headers=headers)

    return post


def stored(session: Session) -> list[WebhookDelivery]:
    """Read the inbox fresh, then end the read so the (SQLite) write lock is free again."""
    session.expire_all()
    deliveries = list(session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))
    session.commit()
    return deliveries


def count_stored(session: Session) -> int:
    count = session.scalar(select(func.count()).select_from(WebhookDelivery)) or 0
    session.commit()
    return count


def test_signed_delivery_is_stored_verbatim_and_acknowledged_before_processing(
    post_webhook: PostWebhook,
    session: Session,
    order_body: bytes,
    handled_calls: list[dict[str, Any]],
) -> None:
    response = post_webhook(
        body=order_body,
        webhook_id="wh-1",
        event_id="ev-1",
        api_version="2026-07",
        triggered_at=None,
    )

    assert response.status_code == 200
    [delivery] = stored(session)
    assert delivery.payload == order_body
    assert (delivery.shop_domain, delivery.topic, delivery.webhook_id) == (
        SHOP,
        "orders/create",
        "wh-1",
    )
    assert (delivery.event_id, delivery.api_version) == ("ev-1", "2026-07")
    assert delivery.triggered_at is not None
    assert delivery.status is DeliveryStatus.PENDING
    assert delivery.attempts == 0
    assert handled_calls == []


def test_webhook_signed_with_wrong_secret_returns_401_and_records_nothing(
    post_webhook: PostWebhook, session: Session
) -> None:
    response = post_webhook(secret="forged-secret")

    assert response.status_code == 401
    assert response.get_json()["error"]["status"] == 401
    assert count_stored(session) == 0


def test_hmac_over_a_reserialised_body_returns_401_and_records_nothing(
    client: FlaskClient, session: Session
) -> None:
    payload = {"id": 820982911946154508, "email": "jon@example.com", "total_price": "10.00"}
    signed_body = json.dumps(payload, indent=2).encode()
    sent_body = json.dumps(payload, separators=(",", ":")).encode()
    headers = webhook_headers("orders/create", signed_body, shop_domain=SHOP)

    response = client.post("/webhooks", data=sent_body, headers=headers)

    assert response.status_code == 401
    assert count_stored(session) == 0


@pytest.mark.parametrize("header", REQUIRED_HEADERS)
def test_each_missing_required_header_returns_400_naming_it_and_records_nothing(
    post_webhook: PostWebhook, session: Session, header: str
) -> None:
    response = post_webhook(drop=(header,))

    assert response.status_code == 400
    assert header in response.get_json()["error"]["message"]
    assert count_stored(session) == 0


def test_every_missing_header_is_reported_at_once(
    post_webhook: PostWebhook, session: Session
) -> None:
    response = post_webhook(drop=REQUIRED_HEADERS)

    assert response.status_code == 400
    message = response.get_json()["error"]["message"]
    assert all(header in message for header in REQUIRED_HEADERS)
    assert count_stored(session) == 0


def test_empty_body_with_a_valid_hmac_returns_400_and_records_nothing(
    post_webhook: PostWebhook, session: Session
) -> None:
    response = post_webhook(body=b"")

    assert response.status_code == 400
    assert "empty" in response.get_json()["error"]["message"]
    assert count_stored(session) == 0


@pytest.mark.parametrize("settings_overrides", [{"WEBHOOK_MAX_BODY_BYTES": 2048}])
def test_body_over_the_limit_returns_413_and_records_nothing(
    post_webhook: PostWebhook, session: Session
) -> None:
    response = post_webhook(body=json_body({"note": "x" * 2048}))

    assert response.status_code == 413
    assert count_stored(session) == 0


@pytest.mark.parametrize("settings_overrides", [{"WEBHOOK_MAX_BODY_BYTES": 2048}])
def test_chunked_body_over_the_limit_returns_413_and_records_nothing(
    client: FlaskClient, session: Session
) -> None:
    body = json_body({"note": "x" * 2048})
    headers = webhook_headers("orders/create", body, shop_domain=SHOP)
    headers["Transfer-Encoding"] = "chunked"

    response = client.post(
        "/webhooks",
        input_stream=io.BytesIO(body),
        headers=headers,
        environ_overrides={"wsgi.input_terminated": True},
    )

    assert response.status_code == 413
    assert count_stored(session) == 0


@pytest.mark.parametrize("settings_overrides", [{"WEBHOOK_MAX_BODY_BYTES": 2048}])
def test_body_exactly_at_the_limit_is_stored(post_webhook: PostWebhook, session: Session) -> None:
    body = json_body({"note": "x" * (2048 - len(json_body({"note": ""})))})
    assert len(body) == 2048

    response = post_webhook(body=body)

    assert response.status_code == 200
    assert count_stored(session) == 1


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE"])
def test_any_method_but_post_returns_405_and_records_nothing(
    post_webhook: PostWebhook, session: Session, method: str
) -> None:
    response = post_webhook(method=method)

    assert response.status_code == 405
    assert response.headers["Allow"] == "POST"
    assert count_stored(session) == 0


def test_malformed_shop_domain_header_returns_400_and_records_nothing(
    post_webhook: PostWebhook, session: Session
) -> None:
    response = post_webhook(shop_domain="evil.example.com")

    assert response.status_code == 400
    assert "X-Shopify-Shop-Domain" in response.get_json()["error"]["message"]
    assert count_stored(session) == 0


def test_the_same_delivery_five_times_is_acknowledged_each_time_and_stored_once(
    post_webhook: PostWebhook, session: Session, order_body: bytes
) -> None:
    statuses = [post_webhook(body=order_body, webhook_id="wh-repeat").status_code for _ in range(5)]

    assert statuses == [200] * 5
    assert count_stored(session) == 1


def test_same_webhook_id_from_two_shops_is_stored_for_each(
    post_webhook: PostWebhook, session: Session
) -> None:
    post_webhook(webhook_id="wh-shared", shop_domain="alpha.myshopify.com")
    post_webhook(webhook_id="wh-shared", shop_domain="beta.myshopify.com")

    assert sorted(d.shop_domain for d in stored(session)) == [
        "alpha.myshopify.com",
        "beta.myshopify.com",
    ]


def test_delivery_for_an_unknown_shop_is_stored_without_a_shop(
    post_webhook: PostWebhook, session: Session, handled_calls: list[dict[str, Any]]
) -> None:
    response = post_webhook(shop_domain="never-installed.myshopify.com")

    assert response.status_code == 200
    [delivery] = stored(session)
    assert delivery.shop_domain == "never-installed.myshopify.com"
    assert delivery.shop_id is None
    assert delivery.status is DeliveryStatus.PENDING


def test_delivery_for_an_installed_shop_is_linked_to_it(
    post_webhook: PostWebhook, session: Session, make_shop: Callable[..., Any]
) -> None:
    shop = make_shop(SHOP)

    post_webhook()

    [delivery] = stored(session)
    assert delivery.shop_id == shop.id


def test_unknown_topic_is_acknowledged_and_recorded_as_ignored(
    post_webhook: PostWebhook, session: Session
) -> None:
    response = post_webhook(topic="inventory_levels/update")

    assert response.status_code == 200
    [delivery] = stored(session)
    assert delivery.topic == "inventory_levels/update"
    assert delivery.status is DeliveryStatus.IGNORED


@pytest.mark.parametrize(
    ("topic", "fixture"),
    [
        ("customers/data_request", "customers__data_request.json"),
        ("customers/redact", "customers__redact.json"),
        ("shop/redact", "shop__redact.json"),
    ],
)
def test_compliance_topics_for_an_uninstalled_shop_are_stored(
    post_webhook: PostWebhook,
    session: Session,
    make_shop: Callable[..., Any],
    now: Any,
    topic: str,
    fixture: str,
) -> None:
    make_shop(SHOP, uninstalled_at=now)
    body = fixture_body(fixture)

    response = post_webhook(topic=topic, body=body)

    assert response.status_code == 200
    [delivery] = stored(session)
    assert (delivery.topic, delivery.payload) == (topic, body)


@pytest.mark.parametrize("settings_overrides", [{"SHOPIFY_API_SECRET_PREVIOUS": PREVIOUS_SECRET}])
def test_delivery_signed_with_the_previous_secret_is_accepted_during_rotation(
    post_webhook: PostWebhook, session: Session
) -> None:
    response = post_webhook(secret=PREVIOUS_SECRET)

    assert response.status_code == 200
    assert count_stored(session) == 1


def test_previous_secret_is_refused_once_it_is_no_longer_configured(
    post_webhook: PostWebhook, session: Session
) -> None:
    response = post_webhook(secret=PREVIOUS_SECRET)

    assert response.status_code == 401
    assert count_stored(session) == 0


def test_compliance_delivery_without_a_shop_domain_header_takes_the_shop_from_its_payload(
    post_webhook: PostWebhook, session: Session
) -> None:
    body = json_body({"shop_id": 954889, "shop_domain": "Gone-Shop.myshopify.com"})

    response = post_webhook(topic="shop/redact", body=body, drop=("X-Shopify-Shop-Domain",))

    assert response.status_code == 200
    [delivery] = stored(session)
    assert delivery.shop_domain == "gone-shop.myshopify.com"


def test_compliance_delivery_naming_no_shop_anywhere_returns_400_and_records_nothing(
    post_webhook: PostWebhook, session: Session
) -> None:
    response = post_webhook(
        topic="customers/redact", body=json_body({"shop_id": 1}), drop=("X-Shopify-Shop-Domain",)
    )

    assert response.status_code == 400
    assert "X-Shopify-Shop-Domain" in response.get_json()["error"]["message"]
    assert count_stored(session) == 0


def test_forged_compliance_delivery_without_a_shop_domain_header_returns_401(
    post_webhook: PostWebhook, session: Session
) -> None:
    body = json_body({"shop_domain": "victim.myshopify.com"})

    response = post_webhook(
        topic="shop/redact", body=body, drop=("X-Shopify-Shop-Domain",), secret="forged-secret"
    )

    assert response.status_code == 401
    assert count_stored(session) == 0


def test_delivery_without_an_api_version_header_is_stored_without_one(
    post_webhook: PostWebhook, session: Session
) -> None:
    response = post_webhook(topic="customers/data_request", drop=("X-Shopify-API-Version",))

    assert response.status_code == 200
    [delivery] = stored(session)
    assert delivery.api_version is None
