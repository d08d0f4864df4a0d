"""One-click unsubscribe: signed links that work once, refuse forgeries, and tell Shopify."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from typing import Any

import pytest
import responses
from flask.testing import FlaskClient
from flask.testing import FlaskCliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from shopify_app.db import Database
from shopify_app.gateway.graphql import graphql_endpoint
from shopify_app.messaging.signed_links import make_token
from shopify_app.models import Customer
from shopify_app.models import MessageStatus
from shopify_app.models import Shop
from tests.support import flows
from tests.support.mail import SmtpSink
from tests.support.settings import TEST_SETTINGS

FLOW = "abandoned_checkout"
T0 = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)
BUYER = "cy@example.com"
SHOPIFY_CUSTOMER = 7301


@pytest.fixture
def shop(make_flow_shop: Callable[..., Shop]) -> Shop:
    return make_flow_shop(FLOW, at=T0, expires_at=datetime.now(UTC) + timedelta(days=1))


@pytest.fixture
def unsubscribe_path(database: Database, shop: Shop, runner: FlaskCliRunner, smtp: SmtpSink) -> str:
    payload = flows.checkout_payload(
        "tok-u", email=BUYER, customer_id=SHOPIFY_CUSTOMER, updated_at=T0
    )
    flows.store_checkout(database, shop.id, payload, T0)
    flows.subscribe(database, shop.id, SHOPIFY_CUSTOMER, T0)
    flows.run_once(runner, T0 + timedelta(hours=1, minutes=5))
    [email] = smtp.messages
    url = str(email["List-Unsubscribe"]).strip("<>")
    return url.removeprefix(TEST_SETTINGS["APP_URL"])


def consent_mutations(calls: responses.CallList) -> list[dict[str, Any]]:
    return [json.loads(call.request.body or b"{}") for call in calls]


@responses.activate
def test_one_click_unsubscribe_works_once_and_cancels_pending_marketing(
    client: FlaskClient,
    unsubscribe_path: str,
    database: Database,
    runner: FlaskCliRunner,
    smtp: SmtpSink,
    session: Session,
) -> None:
    responses.post(
        graphql_endpoint("alpha.myshopify.com"),
        json={
            "data": {
                "customerEmailMarketingConsentUpdate": {
                    "customer": {"id": f"gid://shopify/Customer/{SHOPIFY_CUSTOMER}"},
                    "userErrors": [],
                }
            }
        },
    )

    first = client.post(unsubscribe_path, data={"List-Unsubscribe": "One-Click"})
    second = client.post(unsubscribe_path, data={"List-Unsubscribe": "One-Click"})

    assert first.status_code == 200
    assert b"You are unsubscribed" in first.data
    assert second.status_code == 200
    assert b"already unsubscribed" in second.data
    [body] = consent_mutations(responses.calls)
    assert body["variables"]["input"] == {
        "customerId": f"gid://shopify/Customer/{SHOPIFY_CUSTOMER}",
        "emailMarketingConsent": {
            "marketingState": "UNSUBSCRIBED",
            "consentUpdatedAt": body["variables"]["input"]["emailMarketingConsent"][
                "consentUpdatedAt"
            ],
        },
    }
    customer = session.scalar(select(Customer).where(Customer.shopify_id == SHOPIFY_CUSTOMER))
    assert customer is not None
    assert customer.unsubscribed_at is not None
    session.commit()

    flows.run_once(runner, T0 + timedelta(hours=24, minutes=5))
    assert len(smtp.messages) == 1
    statuses = [m.status for m in flows.messages(session, FLOW)]
    assert statuses[-1] == MessageStatus.SUPPRESSED


@responses.activate
def test_get_asks_for_confirmation_and_changes_nothing(
    client: FlaskClient, unsubscribe_path: str, session: Session
) -> None:
    page = client.get(unsubscribe_path)

    assert page.status_code == 200
    assert b'method="post"' in page.data
    customer = session.scalar(select(Customer).where(Customer.shopify_id == SHOPIFY_CUSTOMER))
    assert customer is not None
    assert customer.unsubscribed_at is None
    assert len(responses.calls) == 0


@responses.activate
def test_shopify_refusing_the_consent_update_does_not_break_the_unsubscribe(
    client: FlaskClient, unsubscribe_path: str, session: Session
) -> None:
    responses.post(graphql_endpoint("alpha.myshopify.com"), status=500)

    page = client.post(unsubscribe_path)

    assert page.status_code == 200
    assert b"You are unsubscribed" in page.data
    customer = session.scalar(select(Customer).where(Customer.shopify_id == SHOPIFY_CUSTOMER))
    assert customer is not None
    assert customer.unsubscribed_at is not None


@pytest.mark.parametrize("method", ["get", "post"])
def test_altered_or_forged_links_are_refused_with_400(
    client: FlaskClient, unsubscribe_path: str, method: str, session: Session
) -> None:
    token = unsubscribe_path.removeprefix("/u/")
    altered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    forged = make_token(
        "not-the-secret-key-of-this-app-000000", purpose="unsubscribe", payload={"m": 1, "s": 1}
    )
    other_purpose = make_token(TEST_SETTINGS["SECRET_KEY"], purpose="nps", payload={"m": 1, "s": 1})

    for bad in (altered, forged, other_purpose, "garbage"):
        page = getattr(client, method)(f"/u/{bad}")
        assert page.status_code == 400, bad
        assert b"This link does not work" in page.data

    customer = session.scalar(select(Customer).where(Customer.shopify_id == SHOPIFY_CUSTOMER))
    assert customer is not None
    assert customer.unsubscribed_at is None
