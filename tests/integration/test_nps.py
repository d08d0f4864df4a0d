"""NPS answers from signed email links, and the score the dashboard shows."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC
from datetime import datetime
from datetime import timedelta

import pytest
from flask.testing import FlaskClient
from flask.testing import FlaskCliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from shopify_app.db import Database
from shopify_app.messaging.nps import count_scores
from shopify_app.messaging.signed_links import make_token
from shopify_app.models import Message
from shopify_app.models import MessageStatus
from shopify_app.models import NpsResponse
from shopify_app.models import Shop
from shopify_app.privacy import export_customer_data
from shopify_app.privacy import redact_customer
from tests.support import flows
from tests.support import lifecycle
from tests.support.mail import SmtpSink
from tests.support.settings import TEST_SETTINGS
from tests.support.shopify import make_session_token

pytestmark = pytest.mark.usefixtures("smtp")

T0 = datetime(2026, 4, 1, 12, 0, tzinfo=UTC)
BUYER = "nina@example.com"
CUSTOMER = 9201


@pytest.fixture
def shop(make_flow_shop: Callable[..., Shop]) -> Shop:
    return make_flow_shop("review_request", at=T0, name="Leaf & Stone", email="hello@leaf.example")


@pytest.fixture
def links(database: Database, shop: Shop, runner: FlaskCliRunner, smtp: SmtpSink) -> dict[int, str]:
    """Send one review request and return its 0-10 answer links."""
    payload = flows.order_payload(
        1,
        email=BUYER,
        customer_id=CUSTOMER,
        processed_at=T0,
        lines=[{"product_id": 1, "variant_id": 11, "title": "Tea", "quantity": 1}],
    )
    flows.store_order(database, shop.id, payload, T0)
    lifecycle.fulfill(
        database,
        shop.id,
        order_shopify_id=1,
        fulfillment_id=10,
        at=T0,
        delivered_at=T0 + timedelta(days=1),
    )
    flows.run_once(runner, T0 + timedelta(days=8, hours=1))
    [email] = smtp.to(BUYER)
    return lifecycle.nps_links(email)


def responses(session: Session) -> list[NpsResponse]:
    session.expire_all()
    found = list(session.scalars(select(NpsResponse).order_by(NpsResponse.id)))
    session.commit()
    return found


def test_opening_an_answer_link_shows_a_confirmation_and_records_nothing(
    client: FlaskClient, links: dict[int, str], session: Session
) -> None:
    # A mail link scanner prefetches every link of the email, each of them possibly twice.
    pages = [client.get(links[score]) for score in (*range(11), 9)]

    assert all(page.status_code == 200 for page in pages)
    confirmation = pages[9].get_data(as_text=True)
    assert "You chose 9 out of 10" in confirmation
    assert f'<form method="post" action="{links[9]}">' in confirmation
    assert responses(session) == []


def test_sent_confirmation_records_the_score_once_and_a_second_answer_does_not_change_it(
    client: FlaskClient, links: dict[int, str], session: Session
) -> None:
    first = client.post(links[9])
    again = client.post(links[9])
    other = client.post(links[3])
    reopened = client.get(links[3])

    assert first.status_code == 200
    assert "We recorded your answer: 9 out of 10" in first.get_data(as_text=True)
    assert again.status_code == 200
    assert other.status_code == 200
    assert "already answered" in other.get_data(as_text=True)
    assert "answer of 9 out of 10" in other.get_data(as_text=True)
    assert reopened.status_code == 200
    assert "answer of 9 out of 10" in reopened.get_data(as_text=True)
    assert "<form" not in reopened.get_data(as_text=True)
    [response] = responses(session)
    assert response.score == 9
    message = session.get(Message, response.message_id)
    assert message is not None
    assert message.customer_id == response.customer_id


def test_forged_or_altered_answer_link_is_refused_and_records_nothing(
    client: FlaskClient, links: dict[int, str], session: Session
) -> None:
    token = links[10].removeprefix("/nps/")
    payload, signature = token.rsplit(".", 1)
    altered = payload[:-2] + ("A" if payload[-2] != "A" else "B") + payload[-1] + "." + signature
    forged = make_token("not-the-app-secret", purpose="nps", payload={"m": 1, "s": 1, "n": 10})

    for path in (f"/nps/{altered}", f"/nps/{forged}", "/nps/garbage"):
        assert client.get(path).status_code == 400
        assert client.post(path).status_code == 400
    assert responses(session) == []


def test_answer_token_for_another_customer_or_another_purpose_is_refused(
    client: FlaskClient, links: dict[int, str], session: Session
) -> None:
    [message] = flows.messages(session, "review_request")
    secret = TEST_SETTINGS["SECRET_KEY"]
    someone_else = make_token(
        secret,
        purpose="nps",
        payload={"m": message.id, "s": message.shop_id, "c": message.customer_id + 1, "n": 0},
    )
    unsubscribe_token = make_token(
        secret, purpose="unsubscribe", payload={"m": message.id, "s": message.shop_id}
    )

    for path in (f"/nps/{someone_else}", f"/nps/{unsubscribe_token}"):
        assert client.get(path).status_code == 400
        assert client.post(path).status_code == 400
    assert responses(session) == []


def test_score_groups_follow_the_nps_definition() -> None:
    counts = count_scores([10, 10, 9, 9, 9, 8, 7, 6, 2, 0])

    assert (counts.promoters, counts.passives, counts.detractors) == (5, 2, 3)
    assert counts.nps == 20.0
    assert count_scores([]).nps is None


def _answer(session: Session, shop: Shop, index: int, score: int, at: datetime) -> None:
    message = Message(
        shop_id=shop.id,
        flow="review_request",
        step=1,
        is_marketing=False,
        priority=30,
        dedupe_key=f"review_request:hand-{index}",
        email=f"c{index}@example.com",
        status=MessageStatus.SENT,
        due_at=at,
        sent_at=at,
        context={},
    )
    session.add(message)
    session.flush()
    session.add(NpsResponse(shop_id=shop.id, message_id=message.id, score=score, responded_at=at))


def test_nps_api_reports_score_counts_and_weeks_for_the_shop_of_the_token_only(
    client: FlaskClient, session: Session, make_shop: Callable[..., Shop]
) -> None:
    alpha = make_shop("alpha.myshopify.com", iana_timezone="UTC")
    beta = make_shop("beta.myshopify.com", access_token="shpat_beta", iana_timezone="UTC")
    monday = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    week_one = [10, 10, 9, 6, 0]  # 3 promoters, 2 detractors
    week_two = [9, 8, 7, 5, 10]  # 2 promoters, 2 passives, 1 detractor
    for index, score in enumerate(week_one):
        _answer(session, alpha, index, score, monday + timedelta(days=1))
    for index, score in enumerate(week_two, start=10):
        _answer(session, alpha, index, score, monday + timedelta(days=8))
    _answer(session, alpha, 99, 0, monday + timedelta(days=30))  # outside the period
    _answer(session, beta, 100, 0, monday + timedelta(days=1))
    session.commit()

    headers = {"Authorization": f"Bearer {make_session_token(alpha.domain)}"}
    body = client.get("/api/nps?from=2026-03-02&to=2026-03-15", headers=headers).get_json()
    headers_b = {"Authorization": f"Bearer {make_session_token(beta.domain)}"}
    body_b = client.get("/api/nps?from=2026-03-02&to=2026-03-15", headers=headers_b).get_json()

    assert body["responses"] == 10
    assert (body["promoters"], body["passives"], body["detractors"]) == (5, 2, 3)
    assert body["nps"] == 20.0
    assert [(w["week_start"], w["responses"], w["nps"]) for w in body["weeks"]] == [
        ("2026-03-02", 5, 20.0),
        ("2026-03-09", 5, 20.0),
    ]
    assert (body_b["responses"], body_b["nps"]) == (1, -100.0)


def test_nps_api_refuses_a_malformed_period(client: FlaskClient, shop: Shop) -> None:
    headers = {"Authorization": f"Bearer {make_session_token(shop.domain)}"}

    bad = client.get("/api/nps?from=March&to=2026-03-15", headers=headers)
    backwards = client.get("/api/nps?from=2026-03-15&to=2026-03-01", headers=headers)
    anonymous = client.get("/api/nps")

    assert bad.status_code == 400
    assert "from" in bad.get_json()["error"]["message"]
    assert backwards.status_code == 400
    assert anonymous.status_code == 401


def test_customer_redaction_keeps_the_score_but_unlinks_it_from_the_customer(
    client: FlaskClient, links: dict[int, str], session: Session, database: Database, shop: Shop
) -> None:
    assert client.post(links[8]).status_code == 200
    with database.session_scope() as work:
        stored = work.get(Shop, shop.id)
        assert stored is not None
        exported = export_customer_data(
            work, shop=stored, customer_shopify_id=CUSTOMER, email=BUYER
        )
        redact_customer(
            work,
            shop=stored,
            customer_shopify_id=CUSTOMER,
            email=BUYER,
            order_ids=[1],
            now=T0 + timedelta(days=20),
        )

    assert [answer["score"] for answer in exported["nps_responses"]] == [8]
    [response] = responses(session)
    assert (response.score, response.customer_id, response.order_id) == (8, None, None)
