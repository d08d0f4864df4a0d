"""Secrets, tokens, HMACs and customer emails never reach the logs during a representative run."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterator
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from typing import Any

import pytest
import responses
from flask import Flask
from flask.testing import FlaskClient
from flask.testing import FlaskCliRunner

from shopify_app.context import get_app_credentials
from shopify_app.context import get_cipher
from shopify_app.db import Database
from shopify_app.models import ShopCredential
from shopify_app.store.credentials import get_access_token
from tests.support import flows
from tests.support.mail import SmtpSink
from tests.support.payloads import load_payload
from tests.support.shopify import API_SECRET
from tests.support.shopify import json_body
from tests.support.shopify import make_session_token
from tests.support.shopify import token_response
from tests.support.shopify import webhook_headers
from webhooks.worker import drain

SHOP = "alpha.myshopify.com"
TOKEN_URL = f"https://{SHOP}/admin/oauth/access_token"
BUYER = "grace.secret-buyer@example.com"
SECRETS = {
    "api secret": API_SECRET,
    "installed access token": "shpat_installed_4f1c",
    "installed refresh token": "shprt_installed_9a2e",
    "refreshed access token": "shpat_refreshed_77b0",
    "refreshed refresh token": "shprt_refreshed_1d3c",
    "customer email": BUYER,
}


class Capture(logging.Handler):
    """Keep every record, rendered with its arguments, extras and traceback."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith("mail.log"):
            return  # the test's own SMTP server (aiosmtpd) logs the mail it receives
        parts = [record.getMessage(), repr(record.args)]
        parts += [f"{key}={value!r}" for key, value in vars(record).items()]
        if record.exc_info and record.exc_info[1] is not None:
            parts.append("".join(traceback.format_exception(record.exc_info[1])))
        self.lines.append(" ".join(parts))


@pytest.fixture
def captured_logs() -> Iterator[Capture]:
    root = logging.getLogger()
    handler = Capture()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield handler
    root.removeHandler(handler)
    root.setLevel(previous)


@responses.activate
def test_install_refresh_webhooks_and_sending_log_no_secret_token_hmac_or_email(
    app: Flask,
    client: FlaskClient,
    runner: FlaskCliRunner,
    database: Database,
    smtp: SmtpSink,
    captured_logs: Capture,
) -> None:
    session_token = make_session_token(SHOP)
    secrets = {**SECRETS, "session token": session_token}
    # Install through token exchange, as the first open of the embedded app does.
    responses.post(
        TOKEN_URL,
        json=token_response(
            access_token=SECRETS["installed access token"],
            refresh_token=SECRETS["installed refresh token"],
        ),
    )
    assert client.get(f"/?shop={SHOP}&embedded=1&id_token={session_token}").status_code == 200
    # Refresh the expiring token.
    with database.session_scope() as session:
        credential = session.get(ShopCredential, 1)
        assert credential is not None
        credential.access_token_expires_at = datetime.now(UTC) - timedelta(minutes=1)
    responses.post(
        TOKEN_URL,
        json=token_response(
            access_token=SECRETS["refreshed access token"],
            refresh_token=SECRETS["refreshed refresh token"],
        ),
    )
    with app.app_context():
        assert (
            get_access_token(
                database.session_factory,
                shop_id=1,
                app=get_app_credentials(),
                cipher=get_cipher(),
                now=datetime.now(UTC),
            )
            == SECRETS["refreshed access token"]
        )
    # Webhooks: a good one, a badly signed one, a malformed one, then the worker.
    t0 = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)
    flows.configure(database, 1, "abandoned_checkout", t0, holdout_share=0.0)
    checkout = flows.checkout_payload("tok-log", email=BUYER, customer_id=8801, updated_at=t0)
    hmacs = []
    for topic, payload in (("checkouts/create", checkout), ("orders/create", _order())):
        body = json_body(payload)
        headers = webhook_headers(topic, body, shop_domain=SHOP)
        hmacs.append(headers["X-Shopify-Hmac-Sha256"])
        assert client.post("/webhooks", data=body, headers=headers).status_code == 200
    forged = webhook_headers("orders/create", b"{}", shop_domain=SHOP, secret="wrong")
    hmacs.append(forged["X-Shopify-Hmac-Sha256"])
    assert client.post("/webhooks", data=json_body(_order()), headers=forged).status_code == 401
    broken = b'{"id": "not-a-number", "email": "' + BUYER.encode() + b'"}'
    headers = webhook_headers("orders/create", broken, shop_domain=SHOP)
    hmacs.append(headers["X-Shopify-Hmac-Sha256"])
    assert client.post("/webhooks", data=broken, headers=headers).status_code == 200
    drain(database, now=t0)
    flows.subscribe(database, 1, 8801, t0)
    # Sending: the reminder goes out by SMTP.
    flows.run_once(runner, t0 + timedelta(hours=1, minutes=5))
    assert [str(message["To"]) for message in smtp.messages] == [BUYER]

    text = "\n".join(captured_logs.lines)
    assert len(captured_logs.lines) >= 3  # the run did log: the check below can fail
    for name, secret in {**secrets, **{f"hmac {n}": h for n, h in enumerate(hmacs)}}.items():
        assert secret not in text, f"the logs contain the {name}"


def _order() -> dict[str, Any]:
    order = load_payload("orders__create")
    order["email"] = BUYER
    order["contact_email"] = BUYER
    if order.get("customer"):
        order["customer"]["email"] = BUYER
    return order
