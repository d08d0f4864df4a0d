"""Security regressions, each named after the attack it stops."""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Callable
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jwt
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.routing import Rule

from shopify_app.db import Database
from shopify_app.models import PrivacyRequest
from shopify_app.models import Shop
from shopify_app.models import WebhookDelivery
from tests.adversarial.support import ATTACKER
from tests.adversarial.support import VICTIM
from tests.adversarial.support import Store
from tests.adversarial.support import customer_markers
from tests.adversarial.support import demo_events
from tests.adversarial.support import feed_store
from tests.support.shopify import API_SECRET
from tests.support.shopify import make_session_token

REPO = Path(__file__).resolve().parents[2]
SAMPLE_VALUES = {"flow": "abandoned_checkout", "step": "1"}
SETTINGS_BODIES: dict[str, Any] = {
    "/api/settings/flows/<flow>": {"enabled": True, "params": {"holdout_share": 0.5}},
    "/api/settings/templates/<flow>/<int:step>": {
        "subject": "Pwned {{ shop_name }}",
        "html": "<p>pwned</p>",
        "text": "pwned",
    },
    "/api/settings/templates/preview": {"flow": "abandoned_checkout", "step": 1},
}


def bearer(domain: str, **claims: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_session_token(domain, **claims)}"}


def api_rules(app: Flask) -> list[Rule]:
    return sorted(
        (rule for rule in app.url_map.iter_rules() if rule.rule.startswith("/api/")),
        key=lambda rule: rule.rule,
    )


def methods_of(rule: Rule) -> list[str]:
    return sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})


def fill(rule: Rule, **values: str) -> str:
    """Build a URL for *rule*, taking path arguments from *values* then SAMPLE_VALUES."""
    path = rule.rule
    for name in rule.arguments:
        value = values.get(name, SAMPLE_VALUES.get(name, "1"))
        path = re.sub(rf"<(?:[a-z]+:)?{name}>", value, path)
    return path


def victim_path_values(database: Database, victim: Shop) -> dict[str, str]:
    """Return ids of the victim's own rows, to aim path arguments at them."""
    with database.session_scope() as session:
        request = PrivacyRequest(
            shop_domain=VICTIM,
            topic="customers/data_request",
            customer_shopify_id=1,
            received_at=datetime.now(UTC),
            export={"email": "leak@beta.example"},
        )
        session.add(request)
        session.flush()
        delivery_id = session.scalar(
            select(WebhookDelivery.id).where(WebhookDelivery.shop_domain == VICTIM).limit(1)
        )
        return {"request_id": str(request.id), "delivery_id": str(delivery_id)}


def snapshot(
    client: FlaskClient, app: Flask, domain: str, values: dict[str, str]
) -> dict[str, Any]:
    """Return every GET /api response body a shop sees, by URL."""
    seen: dict[str, Any] = {}
    for rule in api_rules(app):
        if "GET" in methods_of(rule):
            url = fill(rule, **values)
            response = client.get(url, headers=bearer(domain))
            seen[url] = (response.status_code, response.get_data(as_text=True))
    return seen


def test_forged_session_token_signed_with_another_secret_is_refused_on_every_api_route(
    app: Flask, client: FlaskClient, victim: Shop
) -> None:
    forged = make_session_token(VICTIM, secret="attacker-" + API_SECRET)
    unsigned = jwt.encode(
        jwt.decode(make_session_token(VICTIM), options={"verify_signature": False}),
        key=None,
        algorithm="none",
    )
    for rule in api_rules(app):
        for method in methods_of(rule):
            for token in (forged, unsigned, "", "not.a.jwt"):
                response = client.open(
                    fill(rule),
                    method=method,
                    headers={"Authorization": f"Bearer {token}"},
                    json=SETTINGS_BODIES.get(rule.rule),
                )
                assert response.status_code == 401, (method, rule.rule)
                assert response.is_json


def test_replayed_session_token_after_expiry_is_refused(client: FlaskClient, victim: Shop) -> None:
    issued = datetime.now(UTC) - timedelta(minutes=5)
    headers = bearer(VICTIM, now=issued)

    assert client.get("/api/shop", headers=headers).status_code == 401
    assert client.get("/api/shop", headers=bearer(VICTIM)).status_code == 200


def test_session_token_for_another_app_or_with_a_mismatched_destination_is_refused(
    client: FlaskClient, victim: Shop
) -> None:
    other_app = bearer(VICTIM, audience="someone-elses-app")
    spliced = bearer(ATTACKER, dest=f"https://{VICTIM}")
    evil_dest = bearer(VICTIM, iss="https://evil.example/admin", dest="https://evil.example")

    for headers in (other_app, spliced, evil_dest):
        assert client.get("/api/shop", headers=headers).status_code == 401


def test_token_for_shop_a_never_reads_shop_b_data_on_any_api_route(
    app: Flask,
    client: FlaskClient,
    database: Database,
    attacker: Shop,
    make_shop: Callable[..., Shop],
) -> None:
    before = snapshot(client, app, ATTACKER, {})
    store = _victim_store(client, database, make_shop)
    values = victim_path_values(database, store)
    after = snapshot(client, app, ATTACKER, values)
    victims_view = snapshot(client, app, VICTIM, values)
    markers = customer_markers(store.events) | {VICTIM, "leak@beta.example"}

    assert {_strip(url) for url in before} == {_strip(url) for url in after}
    for url, (status, body) in after.items():
        assert status < 500, url
        leaked = sorted(marker for marker in markers if marker in body)
        assert not leaked, f"{url} shows shop B's data to shop A: {leaked[:3]}"
        same = before.get(url) or before[next(u for u in before if _strip(u) == _strip(url))]
        assert (status, _drop_clock(body)) == (same[0], _drop_clock(same[1])), url
    # The control: shop B does see its own data, so the checks above can fail.
    assert any(marker in body for _, body in victims_view.values() for marker in markers)
    assert victims_view != after


def test_token_for_shop_a_cannot_change_shop_b_settings_through_any_settings_action(
    app: Flask,
    client: FlaskClient,
    database: Database,
    attacker: Shop,
    make_shop: Callable[..., Shop],
) -> None:
    store = _victim_store(client, database, make_shop)
    values = victim_path_values(database, store)
    victim_before = snapshot(client, app, VICTIM, values)
    attempts = 0
    for rule in api_rules(app):
        for method in methods_of(rule):
            if method == "GET":
                continue
            response = client.open(
                fill(rule, **values),
                method=method,
                headers=bearer(ATTACKER),
                json=SETTINGS_BODIES.get(rule.rule),
            )
            assert response.status_code < 500, rule.rule
            assert VICTIM not in response.get_data(as_text=True)
            if "delivery_id" in rule.arguments:  # aimed at B's own webhook delivery
                assert response.status_code == 404, rule.rule
            attempts += 1

    assert attempts >= 4
    assert snapshot(client, app, VICTIM, values) == victim_before


def test_state_changing_routes_refuse_cookie_only_requests(
    app: Flask, client: FlaskClient, victim: Shop
) -> None:
    client.set_cookie("session", "anything", domain="localhost")
    client.set_cookie("shopify_app_session", "anything", domain="localhost")
    for rule in app.url_map.iter_rules():
        for method in methods_of(rule):
            if method == "GET":
                continue
            url = fill(rule, token="forged-token")
            response = client.open(url, method=method, data=b"{}", content_type="application/json")
            assert response.status_code in {400, 401, 404, 405}, (method, rule.rule)
            assert response.status_code < 500


def test_html_in_customer_fields_stays_text_in_the_admin_json_and_scripts(
    app: Flask, client: FlaskClient, victim: Shop
) -> None:
    for rule in api_rules(app):
        if "GET" in methods_of(rule):
            response = client.get(fill(rule), headers=bearer(VICTIM))
            if response.status_code == 200 and not response.mimetype.startswith("text/csv"):
                assert response.mimetype == "application/json", rule.rule
    # The admin pages put API text into the DOM only as text: no HTML sinks in the scripts.
    sinks = re.compile(r"\.(innerHTML|outerHTML)\s*=|insertAdjacentHTML|document\.write\(")
    for script in (REPO / "shopify_app" / "static").rglob("*.js"):
        assert not sinks.search(script.read_text()), script.name


def test_open_redirect_through_any_auth_or_page_parameter_is_impossible(
    client: FlaskClient, victim: Shop
) -> None:
    evil = [
        "https://evil.example",
        "//evil.example",
        "/\\evil.example",
        "javascript:alert(1)",
        "evil.example",
        "beta.myshopify.com.evil.example",
        "https://beta.myshopify.com@evil.example",
    ]
    attempts = []
    for target in evil:
        attempts += [
            f"/auth?shop={target}",
            f"/auth?shop={target}&redirect_uri={target}",
            f"/auth/callback?shop={target}&code=x&state=y&hmac=z&host={target}",
            f"/auth/session-token?shop={target}&shopify-reload={target}",
            f"/?shop={target}",
            f"/?shop={VICTIM}&host={target}&embedded=1&return_to={target}",
            f"/settings?shop={target}&embedded=1",
            f"/u/x?next={target}",
            f"/nps/x?next={target}",
        ]
    for url in attempts:
        response = client.get(url)
        location = response.headers.get("Location", "")
        host = urlsplit(location).hostname
        assert is_own_or_shopify_host(host), (url, location)
        assert not location.startswith("//")
        assert not location.lower().startswith("javascript:")


def test_sql_injection_in_every_query_parameter_of_every_get_api_route_is_harmless(
    app: Flask,
    client: FlaskClient,
    attacker: Shop,
    victim_store: Store,
    database: Database,
) -> None:
    payloads = [
        "' OR '1'='1",
        "1; DROP TABLE shops;--",
        "1 UNION SELECT email FROM customers",
        "%27%20OR%201=1--",
        "\u0000",
        "-1",
        "99999999999999999999999",
        "1e309",
        "nan",
        "0001-01-01",
        "9999-12-31",
        "2026-02-30",
    ]
    checked = 0
    for rule in api_rules(app):
        if "GET" not in methods_of(rule):
            continue
        names = sorted(query_parameters(app, rule))
        for query in [{name: p} for name in names for p in payloads] + [
            dict.fromkeys(names, p) for p in payloads
        ]:
            response = client.get(fill(rule), query_string=query, headers=bearer(ATTACKER))
            body = response.get_data(as_text=True)
            assert response.status_code < 500, (rule.rule, query, body[:200])
            if response.status_code >= 400:
                assert response.is_json, (rule.rule, query)
            assert VICTIM not in body, (rule.rule, query)
            assert "@example." not in body, (rule.rule, query)
            checked += 1
    assert checked >= 60
    with database.session_scope() as session:
        assert len(session.scalars(select(Shop)).all()) == 2


def is_own_or_shopify_host(host: str | None) -> bool:
    if host in {None, "localhost"}:
        return True
    assert host is not None
    return host.endswith(".myshopify.com") and "evil" not in host


def query_parameters(app: Flask, rule: Rule) -> set[str]:
    """Return the query parameters the view of *rule* reads, found in its module's source."""
    view = app.view_functions[rule.endpoint]
    source = inspect.getsource(inspect.getmodule(view))  # type: ignore[arg-type]
    names = set(re.findall(r"request\.args\.get\(\s*\"([^\"]+)\"", source))
    names |= set(re.findall(r"_(?:parse_day|int_arg|float_arg)\(\s*\"([^\"]+)\"", source))
    return names


def _victim_store(client: FlaskClient, database: Database, make_shop: Callable[..., Shop]) -> Store:

    shop = make_shop(VICTIM, access_token="shpat_beta_secret", refresh_token="shprt_beta")
    events = demo_events(VICTIM, customers=12, history_days=60)
    feed_store(client, database, events, domain=VICTIM, shop_id=shop.id)
    return Store(shop=shop, events=events)


def _strip(url: str) -> str:
    return re.sub(r"/\d+/", "/<id>/", url)


def _drop_clock(body: str) -> str:
    try:
        data = json.loads(body)
    except ValueError:
        return body
    return json.dumps(_without_keys(data, {"generated_at", "computed_at", "now"}), sort_keys=True)


def _without_keys(value: Any, keys: set[str]) -> Any:
    if isinstance(value, dict):
        return {k: _without_keys(v, keys) for k, v in value.items() if k not in keys}
    if isinstance(value, list):
        return [_without_keys(v, keys) for v in value]
    return value
