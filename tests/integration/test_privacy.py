"""Privacy topics: data exports, customer redaction in every table, and shop redaction."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from flask.testing import FlaskCliRunner
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.orm import Session

from shopify_app.models import Base
from shopify_app.models import Checkout
from shopify_app.models import Customer
from shopify_app.models import Order
from shopify_app.models import PrivacyRequest
from shopify_app.models import RefundLine
from shopify_app.models import Shop
from shopify_app.models import WebhookDelivery
from shopify_app.privacy import redaction as privacy
from tests.support.handlers import deliver
from tests.support.payloads import load_payload
from tests.support.shopify import make_session_token

CUSTOMER_ID = 115310627314723954
ORDER_ID = 820982911946154508
PERSONAL_VALUES = [
    "john@example.com",  # the customer's email
    "jon@example.com",  # the order's contact email
    "555-625-1199",  # the phone Shopify names in the redaction request
    "John",
    "Smith",
    "123 Elm St.",  # the customer's address, carried in the raw order payload
]


def privacy_payload(name: str, shop: Shop) -> dict[str, Any]:
    """Return the sample aimed at the order sample's customer (the samples use other ids)."""
    payload = load_payload(name)
    payload["shop_domain"] = shop.domain
    payload["customer"] = {"id": CUSTOMER_ID, "email": "john@example.com", "phone": "555-625-1199"}
    key = "orders_requested" if "orders_requested" in payload else "orders_to_redact"
    payload[key] = [ORDER_ID]
    return payload


def store_customer_history(session: Session, shop: Shop, now: datetime) -> None:
    """Store an order, a refund, a fulfillment and an abandoned checkout of the same customer."""
    deliver(session, shop, "orders/create", load_payload("orders__create"), now=now)
    deliver(session, shop, "refunds/create", load_payload("refunds__create"), now=now)
    deliver(session, shop, "fulfillments/create", load_payload("fulfillments__create"), now=now)
    checkout = load_payload("checkouts__create")
    checkout["customer"] = load_payload("orders__create")["customer"]
    checkout["email"] = "john@example.com"
    checkout["phone"] = "555-625-1199"
    deliver(session, shop, "checkouts/create", checkout, now=now)


def rows_mentioning(session: Session, values: list[str]) -> list[tuple[str, str, str]]:
    """Scan every text, JSON and binary column of every table for any of *values*."""
    session.expire_all()
    found = []
    for table in Base.metadata.sorted_tables:
        columns = [
            column
            for column in table.columns
            if isinstance(column.type, sa.String | sa.Text | sa.JSON | sa.LargeBinary)
        ]
        if not columns:
            continue
        for row in session.execute(select(*columns)).all():
            for column, value in zip(columns, row, strict=True):
                if value is None:
                    continue
                if isinstance(value, bytes | bytearray | memoryview):
                    content = bytes(value).decode("utf-8", "replace")
                elif isinstance(value, str):
                    content = value
                else:
                    content = json.dumps(value)
                for needle in values:
                    if needle.lower() in content.lower():
                        found.append((table.name, column.name, needle))
    return found


def test_customers_redact_leaves_no_email_name_phone_or_address_in_any_table(
    session: Session, shop: Shop, now: datetime
) -> None:
    store_customer_history(session, shop, now)
    deliver(session, shop, "customers/create", load_payload("customers__create"), now=now)
    deliver(
        session,
        shop,
        "customers/data_request",
        privacy_payload("customers__data_request", shop),
        now=now,
    )
    assert rows_mentioning(session, PERSONAL_VALUES)  # the scan sees what it looks for

    deliver(session, shop, "customers/redact", privacy_payload("customers__redact", shop), now=now)

    assert rows_mentioning(session, PERSONAL_VALUES) == []
    # Orders stay, without personal data, for the KPIs; other customers are untouched.
    order = session.scalar(select(Order))
    assert order is not None
    assert (order.shopify_id, order.email, order.total_price) == (ORDER_ID, None, order.total_price)
    customer = session.scalar(select(Customer).where(Customer.shopify_id == CUSTOMER_ID))
    assert customer is not None
    assert customer.redacted_at == now
    assert order.customer_id == customer.id
    assert rows_mentioning(session, ["bob@biller.com"]) != []
    request = session.scalar(
        select(PrivacyRequest).where(PrivacyRequest.topic == "customers/redact")
    )
    assert request is not None
    assert (request.customer_shopify_id, request.completed_at, request.export) == (
        CUSTOMER_ID,
        now,
        None,
    )


def test_a_late_delivery_about_a_redacted_customer_stores_no_personal_data(
    session: Session, shop: Shop, now: datetime
) -> None:
    store_customer_history(session, shop, now)
    deliver(session, shop, "customers/redact", privacy_payload("customers__redact", shop), now=now)

    late = load_payload("orders__updated")
    late["updated_at"] = "2022-01-02T00:00:00+00:00"  # a day after the stored version
    deliver(session, shop, "orders/updated", late, now=now)
    late_checkout = load_payload("checkouts__update")
    late_checkout["customer"] = load_payload("orders__create")["customer"]
    late_checkout["token"] = "late-checkout"
    deliver(session, shop, "checkouts/update", late_checkout, now=now)

    session.expire_all()
    customer = session.scalar(select(Customer).where(Customer.shopify_id == CUSTOMER_ID))
    assert customer is not None
    assert (customer.email, customer.first_name) == (None, None)
    assert session.scalar(select(Order.email)) is None
    assert session.scalar(select(Checkout.email).where(Checkout.token == "late-checkout")) is None


def test_customers_redact_runs_the_redactors_other_modules_register(
    session: Session, shop: Shop, now: datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[int | None, str | None]] = []
    monkeypatch.setattr(
        privacy,
        "CUSTOMER_REDACTORS",
        [
            lambda _s, _shop, customer, email, _now: calls.append(
                (customer.shopify_id if customer else None, email)
            )
        ],
    )
    deliver(session, shop, "orders/create", load_payload("orders__create"), now=now)

    deliver(session, shop, "customers/redact", privacy_payload("customers__redact", shop), now=now)

    assert calls == [(CUSTOMER_ID, "john@example.com")]


def test_data_request_export_contains_the_customers_orders_and_checkouts(
    session: Session, shop: Shop, now: datetime
) -> None:
    store_customer_history(session, shop, now)

    for _ in range(2):
        deliver(
            session,
            shop,
            "customers/data_request",
            privacy_payload("customers__data_request", shop),
            now=now,
            webhook_id="dr-1",
        )

    request = session.scalar(select(PrivacyRequest))
    assert request is not None
    assert session.scalar(select(func.count()).select_from(PrivacyRequest)) == 1
    assert (request.topic, request.customer_shopify_id, request.shopify_request_id) == (
        "customers/data_request",
        CUSTOMER_ID,
        9999,
    )
    assert request.completed_at == now
    export = request.export
    assert export is not None
    assert export["customer"]["email"] == "john@example.com"
    assert [o["shopify_id"] for o in export["orders"]] == [ORDER_ID]
    (order,) = export["orders"]
    assert (order["total_price"], order["total_refunded"], order["email"]) == (
        "404.95",
        "85.00",
        "jon@example.com",
    )
    assert len(order["lines"]) == 5
    assert order["fulfillments"][0]["shopify_id"] == 123456
    assert [c["token"] for c in export["checkouts"]] == ["123123123"]


def test_merchant_lists_privacy_requests_and_fetches_only_their_own_exports(
    session: Session,
    shop: Shop,
    make_shop: Callable[..., Shop],
    client: FlaskClient,
    now: datetime,
) -> None:
    make_shop("beta.myshopify.com")
    store_customer_history(session, shop, now)
    deliver(
        session,
        shop,
        "customers/data_request",
        privacy_payload("customers__data_request", shop),
        now=now,
    )
    other_customer = privacy_payload("customers__redact", shop)
    other_customer["customer"] = {"id": 706405506930370084, "email": "bob@biller.com"}
    deliver(session, shop, "customers/redact", other_customer, now=now + timedelta(minutes=1))
    alpha = {"Authorization": f"Bearer {make_session_token(shop.domain)}"}
    beta = {"Authorization": f"Bearer {make_session_token('beta.myshopify.com')}"}

    listing = client.get("/api/privacy/requests", headers=alpha)

    assert listing.status_code == 200
    requests = listing.get_json()["requests"]
    assert [(r["topic"], r["customer_shopify_id"], r["has_export"]) for r in requests] == [
        ("customers/redact", 706405506930370084, False),
        ("customers/data_request", CUSTOMER_ID, True),
    ]
    assert "example.com" not in listing.get_data(as_text=True)
    export_url = f"/api/privacy/requests/{requests[1]['id']}/export"
    export = client.get(export_url, headers=alpha)
    assert export.status_code == 200
    assert [o["shopify_id"] for o in export.get_json()["orders"]] == [ORDER_ID]
    assert client.get(export_url, headers=beta).status_code == 404
    assert (
        client.get(f"/api/privacy/requests/{requests[0]['id']}/export", headers=alpha).status_code
        == 404
    )
    assert client.get("/api/privacy/requests").status_code == 401


def test_privacy_export_command_prints_the_customers_orders_as_json(
    session: Session, shop: Shop, runner: FlaskCliRunner, now: datetime
) -> None:
    store_customer_history(session, shop, now)

    result = runner.invoke(args=["privacy", "export", shop.domain, str(CUSTOMER_ID)])

    assert result.exit_code == 0, result.output
    export = json.loads(result.output)
    assert export["customer"]["shopify_id"] == CUSTOMER_ID
    assert [o["shopify_id"] for o in export["orders"]] == [ORDER_ID]
    unknown = runner.invoke(args=["privacy", "export", "nope.myshopify.com", "1"])
    assert unknown.exit_code != 0
    assert "No shop nope.myshopify.com" in unknown.output


def rows_of_shop(session: Session, shop_id: int, domain: str) -> dict[str, int]:
    session.expire_all()
    counts = {}
    for table in Base.metadata.sorted_tables:
        conditions = []
        if "shop_id" in table.c:
            conditions.append(table.c.shop_id == shop_id)
        if "domain" in table.c:
            conditions.append(table.c.domain == domain)
        if "shop_domain" in table.c:
            conditions.append(table.c.shop_domain == domain)
        if conditions:
            count = session.scalar(
                select(func.count()).select_from(table).where(sa.or_(*conditions))
            )
            if count:
                counts[table.name] = count
    return counts


def test_shop_redact_deletes_every_row_of_the_shop_and_keeps_an_audit_record(
    session: Session, shop: Shop, make_shop: Callable[..., Shop], now: datetime
) -> None:
    other = session.get(Shop, make_shop("beta.myshopify.com").id)
    assert other is not None
    store_customer_history(session, shop, now)
    deliver(
        session,
        shop,
        "customers/data_request",
        privacy_payload("customers__data_request", shop),
        now=now,
    )
    deliver(session, other, "orders/create", load_payload("orders__create"), now=now)
    deliver(session, other, "refunds/create", load_payload("refunds__create"), now=now)
    shop_id, domain = shop.id, shop.domain
    before = rows_of_shop(session, shop_id, domain)
    assert {
        "orders",
        "order_lines",
        "customers",
        "checkouts",
        "refunds",
        "fulfillments",
        "webhook_deliveries",
        "privacy_requests",
        "shops",
    } <= set(before)

    redact = deliver(
        session, shop, "shop/redact", {"shop_id": 954889, "shop_domain": domain}, now=now
    )

    assert rows_of_shop(session, shop_id, domain) == {
        "privacy_requests": 1,
        "webhook_deliveries": 1,
    }
    audit = session.scalar(select(PrivacyRequest).where(PrivacyRequest.shop_domain == domain))
    assert audit is not None
    assert (audit.topic, audit.completed_at, audit.export, audit.customer_shopify_id) == (
        "shop/redact",
        now,
        None,
        None,
    )
    kept = session.scalar(select(WebhookDelivery).where(WebhookDelivery.shop_domain == domain))
    assert kept is not None
    assert kept.id == redact.id
    # The other shop keeps everything, refunds and their lines included.
    assert rows_of_shop(session, other.id, other.domain)["orders"] == 1
    assert session.scalar(select(func.count()).select_from(RefundLine)) == 5


def test_shop_redact_after_the_shop_is_gone_still_clears_its_inbox(
    session: Session, now: datetime
) -> None:
    domain = "gone.myshopify.com"
    deliver(
        session, None, "orders/create", load_payload("orders__create"), now=now, shop_domain=domain
    )

    deliver(session, None, "shop/redact", load_payload("shop__redact"), now=now, shop_domain=domain)

    assert rows_of_shop(session, -1, domain) == {"privacy_requests": 1, "webhook_deliveries": 1}


def test_data_request_for_a_shop_that_is_not_stored_is_logged_with_an_empty_export(
    session: Session, now: datetime
) -> None:
    deliver(
        session,
        None,
        "customers/data_request",
        load_payload("customers__data_request"),
        now=now,
        shop_domain="gone.myshopify.com",
    )

    request = session.scalar(select(PrivacyRequest))
    assert request is not None
    assert request.export is not None
    assert (request.customer_shopify_id, request.export["orders"]) == (191167, [])
