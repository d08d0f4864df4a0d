"""Attacks through emails: markup in customer fields, forged and reused unsubscribe/NPS links."""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterator
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
from shopify_app.messaging.signed_links import make_token
from shopify_app.messaging.signed_links import read_token
from shopify_app.models import Customer
from shopify_app.models import Shop
from tests.support import flows
from tests.support.mail import SmtpSink
from tests.support.mail import html_part
from tests.support.mail import text_part
from tests.support.settings import TEST_SETTINGS

FLOW = "abandoned_checkout"
T0 = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)
SCRIPT = '<script>alert("x")</script><img src=x onerror=alert(1)>'
ADA, BOB = 7101, 7102


@pytest.fixture
def shop(make_flow_shop: Callable[..., Shop]) -> Shop:
    return make_flow_shop(FLOW, at=T0, expires_at=datetime.now(UTC) + timedelta(days=1))


@pytest.fixture
def emails(
    database: Database, shop: Shop, runner: FlaskCliRunner, smtp: SmtpSink
) -> dict[str, Any]:
    """Send Ada and Bob a reminder for checkouts whose names and titles carry markup."""
    for token, customer, address in (
        ("tok-a", ADA, "ada@example.com"),
        ("tok-b", BOB, "bob@example.com"),
    ):
        payload = flows.checkout_payload(
            token,
            email=address,
            customer_id=customer,
            updated_at=T0,
            first_name=SCRIPT,
            lines=[{"title": f"Mug {SCRIPT}", "variant_title": f"Blue {SCRIPT}"}],
        )
        payload["note_attributes"] = [{"name": "gift", "value": SCRIPT}]
        flows.store_checkout(database, shop.id, payload, T0)
        flows.subscribe(database, shop.id, customer, T0)
    flows.run_once(runner, T0 + timedelta(hours=1, minutes=5))
    return {str(message["To"]): message for message in smtp.messages}


def unsubscribe_path(message: Any) -> str:
    url = str(message["List-Unsubscribe"]).strip("<>")
    return url.removeprefix(TEST_SETTINGS["APP_URL"])


def test_markup_in_customer_names_and_product_titles_is_escaped_in_the_html_email(
    emails: dict[str, Any],
) -> None:
    message = emails["ada@example.com"]
    html = html_part(message)

    assert "<script>" not in html
    assert "<img src=x" not in html
    assert "&lt;script&gt;" in html
    assert "\n" not in str(message["Subject"])
    assert SCRIPT in text_part(message)  # the plain-text part shows the text as it is


def test_unsubscribe_link_spliced_from_another_customers_link_is_refused(
    client: FlaskClient, emails: dict[str, Any], session: Session
) -> None:
    ada = unsubscribe_path(emails["ada@example.com"]).removeprefix("/u/")
    bob = unsubscribe_path(emails["bob@example.com"]).removeprefix("/u/")
    ada_payload, _, ada_signature = ada.rpartition(".")
    bob_payload, _, bob_signature = bob.rpartition(".")

    for forged in (f"{ada_payload}.{bob_signature}", f"{bob_payload}.{ada_signature}"):
        assert client.post(f"/u/{forged}").status_code == 400
    assert not unsubscribed(session)


def test_unsubscribe_link_unsubscribes_only_its_own_customer_and_replays_change_nothing(
    client: FlaskClient, emails: dict[str, Any], session: Session
) -> None:
    path = unsubscribe_path(emails["ada@example.com"])

    assert client.post(path).status_code == 200
    assert client.post(path).status_code == 200
    assert unsubscribed(session) == {ADA}


def test_link_signed_for_another_purpose_or_with_the_id_of_another_shops_message_is_refused(
    client: FlaskClient, emails: dict[str, Any], session: Session
) -> None:
    secret = TEST_SETTINGS["SECRET_KEY"]
    token = unsubscribe_path(emails["ada@example.com"]).removeprefix("/u/")
    payload = read_token(secret, purpose="unsubscribe", token=token)
    assert payload is not None
    as_nps = make_token(secret, purpose="nps", payload={**payload, "n": 10})
    other_shop = make_token(secret, purpose="unsubscribe", payload={**payload, "s": 999})

    assert client.post(f"/u/{as_nps}").status_code == 400
    assert client.get(f"/nps/{token}").status_code == 400
    assert client.post(f"/u/{other_shop}").status_code == 400
    assert not unsubscribed(session)


def test_nps_link_cannot_be_forged_for_another_score_or_customer(
    client: FlaskClient, emails: dict[str, Any]
) -> None:
    secret = TEST_SETTINGS["SECRET_KEY"]
    token = unsubscribe_path(emails["ada@example.com"]).removeprefix("/u/")
    body, _, signature = token.rpartition(".")
    guessed = make_token("guessed-secret", purpose="nps", payload={"m": 1, "s": 1, "c": 1, "n": 0})

    for forged in (guessed, f"{body}.{signature[::-1]}", "x" * 40, "..", "%00"):
        assert client.get(f"/nps/{forged}").status_code in {400, 404}
    assert read_token(secret, purpose="nps", token=guessed) is None


def unsubscribed(session: Session) -> set[int]:
    session.expire_all()
    found = set(
        session.scalars(select(Customer.shopify_id).where(Customer.unsubscribed_at.is_not(None)))
    )
    session.commit()
    return found


@pytest.fixture(autouse=True)
def _shopify_consent_api() -> Iterator[None]:
    """Answer the consent mutation an unsubscribe sends to Shopify."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.post(
            "https://alpha.myshopify.com/admin/api/2026-07/graphql.json",
            json={"data": {"customerEmailMarketingConsentUpdate": {"userErrors": []}}},
        )
        yield
