"""The Settings API: flow settings validated and used, email templates checked, shops isolated."""

from __future__ import annotations

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
from shopify_app.messaging.flows import review_request
from shopify_app.models import EmailTemplateOverride
from shopify_app.models import Shop
from tests.support import flows
from tests.support import lifecycle
from tests.support.mail import SmtpSink
from tests.support.shopify import make_session_token

pytestmark = pytest.mark.usefixtures("smtp")

T0 = datetime(2026, 4, 1, 12, 0, tzinfo=UTC)
LAYOUT = '{% extends "_layout.html" %}{% block content %}BODY{% endblock %}'


@pytest.fixture
def alpha(make_shop: Callable[..., Shop]) -> Shop:
    return make_shop("alpha.myshopify.com", name="Leaf & Stone", iana_timezone="UTC")


@pytest.fixture
def beta(make_shop: Callable[..., Shop]) -> Shop:
    return make_shop("beta.myshopify.com", access_token="shpat_beta", iana_timezone="UTC")


def auth(shop: Shop) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_session_token(shop.domain)}"}


def flow_settings(client: FlaskClient, shop: Shop) -> dict[str, Any]:
    body = client.get("/api/settings/flows", headers=auth(shop)).get_json()
    return {entry["flow"]: entry for entry in body["flows"]}


def test_settings_list_every_flow_with_defaults_and_the_audience_choice(
    client: FlaskClient, alpha: Shop
) -> None:
    found = flow_settings(client, alpha)

    assert list(found) == [
        "messaging",
        "abandoned_checkout",
        "replenishment",
        "review_request",
        "win_back",
    ]
    assert found["review_request"]["params"]["days_after_delivery"] == 7
    assert found["review_request"]["params"]["days_after_fulfillment"] == 14
    assert found["win_back"]["params"]["median_gap_factor"] == 1.5
    assert found["win_back"]["is_marketing"] is True
    assert found["abandoned_checkout"]["audience_param"] == "audience"
    audience = next(f for f in found["abandoned_checkout"]["fields"] if f["name"] == "audience")
    assert audience["choices"] == ["subscribers", "everyone"]


def test_bad_setting_is_refused_with_a_message_naming_the_field_and_why(
    client: FlaskClient, alpha: Shop
) -> None:
    out_of_range = client.put(
        "/api/settings/flows/review_request",
        headers=auth(alpha),
        json={"enabled": True, "params": {"days_after_delivery": -1}},
    )
    fallback_first = client.put(
        "/api/settings/flows/review_request",
        headers=auth(alpha),
        json={"enabled": True, "params": {"days_after_delivery": 10, "days_after_fulfillment": 5}},
    )
    not_boolean = client.put(
        "/api/settings/flows/win_back",
        headers=auth(alpha),
        json={"enabled": "yes", "params": {}},
    )

    assert out_of_range.status_code == 400
    error = out_of_range.get_json()["error"]
    assert "days_after_delivery" in error["message"]
    assert "between 0 and 60" in error["message"]
    assert "days_after_delivery" in error["fields"]
    assert fallback_first.status_code == 400
    assert "days_after_fulfillment" in fallback_first.get_json()["error"]["message"]
    assert not_boolean.status_code == 400
    assert "enabled" in not_boolean.get_json()["error"]["message"]
    assert flow_settings(client, alpha)["review_request"]["params"]["days_after_delivery"] == 7


def test_saved_setting_is_used_by_the_planner(
    client: FlaskClient, alpha: Shop, database: Database
) -> None:
    saved = client.put(
        "/api/settings/flows/review_request",
        headers=auth(alpha),
        json={"enabled": True, "params": {"days_after_delivery": 3, "holdout_share": 0}},
    )
    payload = flows.order_payload(1, email="r@example.com", customer_id=9501, processed_at=T0)
    flows.store_order(database, alpha.id, payload, T0)
    lifecycle.fulfill(
        database,
        alpha.id,
        order_shopify_id=1,
        fulfillment_id=10,
        at=T0,
        delivered_at=T0 + timedelta(days=1),
    )

    assert saved.status_code == 200
    assert saved.get_json()["params"]["days_after_delivery"] == 3
    with database.session_scope() as session:
        assert review_request.plan(session, shop_id=alpha.id, now=T0 + timedelta(days=3)) == 0
    with database.session_scope() as session:
        assert review_request.plan(session, shop_id=alpha.id, now=T0 + timedelta(days=4)) == 1


def test_switched_off_flow_plans_nothing(
    client: FlaskClient, alpha: Shop, database: Database
) -> None:
    client.put(
        "/api/settings/flows/review_request",
        headers=auth(alpha),
        json={"enabled": False, "params": {}},
    )
    payload = flows.order_payload(1, email="r@example.com", customer_id=9501, processed_at=T0)
    flows.store_order(database, alpha.id, payload, T0)
    lifecycle.fulfill(
        database,
        alpha.id,
        order_shopify_id=1,
        fulfillment_id=10,
        at=T0,
        delivered_at=T0 + timedelta(days=1),
    )

    assert flow_settings(client, alpha)["review_request"]["enabled"] is False
    with database.session_scope() as session:
        assert review_request.plan(session, shop_id=alpha.id, now=T0 + timedelta(days=9)) == 0


@pytest.mark.parametrize(
    ("part", "source", "reason"),
    [
        ("html", "{{ recipient.first_name ", "html"),
        ("subject", "{{ ''.__class__.__mro__ }}", "subject"),
        ("text", "{{ recipient.__init__.__globals__ }}", "text"),
        ("html", "{{ no_such_thing.title }}", "no_such_thing"),
    ],
)
def test_template_that_does_not_render_or_escapes_the_sandbox_is_refused_at_save_time(
    client: FlaskClient, alpha: Shop, session: Session, part: str, source: str, reason: str
) -> None:
    response = client.put(
        "/api/settings/templates/review_request/1", headers=auth(alpha), json={part: source}
    )

    assert response.status_code == 400
    assert reason in response.get_json()["error"]["message"]
    assert session.scalars(select(EmailTemplateOverride)).all() == []


def test_preview_renders_sample_data_with_customer_fields_escaped(
    client: FlaskClient, alpha: Shop
) -> None:
    html = LAYOUT.replace("BODY", "<p>{{ recipient.first_name }} / {{ lines[0].title }}</p>")
    response = client.post(
        "/api/settings/templates/preview",
        headers=auth(alpha),
        json={"flow": "review_request", "step": 1, "html": html},
    )
    shipped = client.post(
        "/api/settings/templates/preview",
        headers=auth(alpha),
        json={"flow": "win_back", "step": 1},
    )

    assert response.status_code == 200
    body = response.get_json()
    assert "<p>Alex &lt;Sample&gt; / Tea &amp; Honey &lt;Gift Box&gt;</p>" in body["html"]
    assert "<Sample>" not in body["html"]
    assert body["subject"].startswith("How was your order")
    assert shipped.status_code == 200
    assert "Leaf &amp; Stone" in shipped.get_json()["html"]


def test_saved_template_is_used_when_the_email_is_sent(
    client: FlaskClient, alpha: Shop, database: Database, runner: FlaskCliRunner, smtp: SmtpSink
) -> None:
    flows.configure(database, alpha.id, "review_request", T0, holdout_share=0.0)
    saved = client.put(
        "/api/settings/templates/review_request/1",
        headers=auth(alpha),
        json={"subject": "Rate order {{ order.name }} at {{ shop.name }}"},
    )
    payload = flows.order_payload(1, email="r@example.com", customer_id=9501, processed_at=T0)
    payload["name"] = "#1001"
    flows.store_order(database, alpha.id, payload, T0)
    lifecycle.fulfill(
        database,
        alpha.id,
        order_shopify_id=1,
        fulfillment_id=10,
        at=T0,
        delivered_at=T0 + timedelta(days=1),
    )
    flows.run_once(runner, T0 + timedelta(days=8, hours=1))

    assert saved.status_code == 200
    assert saved.get_json()["override"]["subject"].startswith("Rate order")
    [email] = smtp.to("r@example.com")
    assert email["Subject"] == "Rate order #1001 at Leaf & Stone"


def test_a_shop_cannot_read_or_change_another_shops_settings_or_templates(
    client: FlaskClient, alpha: Shop, beta: Shop
) -> None:
    client.put(
        "/api/settings/flows/win_back",
        headers=auth(alpha),
        json={"enabled": True, "params": {"margin_days": 30}},
    )
    client.put(
        "/api/settings/templates/win_back/1", headers=auth(alpha), json={"subject": "Alpha only"}
    )
    client.put(
        "/api/settings/flows/win_back",
        headers=auth(beta),
        json={"enabled": False, "params": {"margin_days": 5}},
    )

    beta_template = client.get("/api/settings/templates/win_back/1", headers=auth(beta))
    alpha_settings = flow_settings(client, alpha)["win_back"]
    anonymous = client.put("/api/settings/flows/win_back", json={"enabled": False})

    assert beta_template.get_json()["override"] is None
    assert (alpha_settings["enabled"], alpha_settings["params"]["margin_days"]) == (True, 30)
    assert flow_settings(client, beta)["win_back"]["params"]["margin_days"] == 5
    assert anonymous.status_code == 401


@responses.activate
def test_settings_page_is_an_embedded_page_listed_in_the_app_navigation(
    client: FlaskClient, alpha: Shop
) -> None:
    query = "shop=alpha.myshopify.com&host=YWRtaW4uc2hvcGlmeS5jb20vc3RvcmUvYWxwaGE&embedded=1"
    token = make_session_token(alpha.domain)

    page = client.get(f"/settings?{query}&id_token={token}")
    home = client.get(f"/?{query}&id_token={token}")

    assert page.status_code == 200
    assert page.headers["Content-Security-Policy"].startswith("frame-ancestors https://alpha.")
    html = page.get_data(as_text=True)
    assert "settings.js" in html
    assert "app-bridge.js" in html
    assert '<a href="/settings">Settings</a>' in home.get_data(as_text=True)
    assert len(responses.calls) == 0
