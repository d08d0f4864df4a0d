"""Arrange lifecycle-flow scenarios: real-shaped payloads through the domain upserts, run-once."""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from flask.testing import FlaskCliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from shopify_app.db import Database
from shopify_app.messaging.flow_settings import load_flow_config
from shopify_app.messaging.flow_settings import save_flow_config
from shopify_app.models import Customer
from shopify_app.models import Message
from shopify_app.models import Shop
from shopify_app.store.checkouts import upsert_checkout
from shopify_app.store.orders import upsert_order
from tests.support.payloads import load_payload


def checkout_payload(
    token: str,
    *,
    email: str,
    updated_at: datetime,
    created_at: datetime | None = None,
    customer_id: int | None = None,
    first_name: str = "Ada",
    lines: list[dict[str, Any]] | None = None,
    completed_at: datetime | None = None,
) -> dict[str, Any]:
    payload = load_payload("checkouts__create")
    payload.update(
        token=token,
        cart_token=f"cart-{token}",
        email=email,
        created_at=(created_at or updated_at).isoformat(),
        updated_at=updated_at.isoformat(),
        completed_at=completed_at.isoformat() if completed_at else None,
        abandoned_checkout_url=f"https://alpha.myshopify.com/checkouts/{token}/recover",
    )
    if customer_id is None:
        payload["customer"] = None
    else:
        customer = payload["customer"]
        customer.update(
            id=customer_id,
            email=email,
            first_name=first_name,
            admin_graphql_api_id=f"gid://shopify/Customer/{customer_id}",
        )
        customer["default_address"]["customer_id"] = customer_id
    if lines is not None:
        template = payload["line_items"][0]
        payload["line_items"] = [{**copy.deepcopy(template), **line} for line in lines]
    return payload


def order_payload(
    shopify_id: int,
    *,
    email: str,
    processed_at: datetime,
    customer_id: int | None = None,
    checkout_token: str | None = None,
    lines: list[dict[str, Any]] | None = None,
    total_price: str = "89.99",
) -> dict[str, Any]:
    payload = load_payload("orders__create")
    stamp = processed_at.isoformat()
    payload.update(
        id=shopify_id,
        admin_graphql_api_id=f"gid://shopify/Order/{shopify_id}",
        email=email,
        contact_email=email,
        checkout_token=checkout_token,
        processed_at=stamp,
        created_at=stamp,
        updated_at=stamp,
        refunds=[],
        fulfillments=[],
        cancelled_at=None,
        test=False,
        total_price=total_price,
    )
    payload["total_price_set"] = {
        "shop_money": {"amount": total_price, "currency_code": "USD"},
        "presentment_money": {"amount": total_price, "currency_code": "USD"},
    }
    if customer_id is None:
        payload["customer"] = None
    else:
        payload["customer"].update(
            id=customer_id,
            email=email,
            admin_graphql_api_id=f"gid://shopify/Customer/{customer_id}",
        )
    if lines is not None:
        template = payload["line_items"][0]
        items = []
        for index, line in enumerate(lines):
            item = {**copy.deepcopy(template), **line}
            item["id"] = shopify_id * 10 + index
            item["admin_graphql_api_id"] = f"gid://shopify/LineItem/{item['id']}"
            price = str(line.get("price", template["price"]))
            item["price_set"] = {
                "shop_money": {"amount": price, "currency_code": "USD"},
                "presentment_money": {"amount": price, "currency_code": "USD"},
            }
            items.append(item)
        payload["line_items"] = items
    return payload


def store_checkout(
    database: Database, shop_id: int, payload: dict[str, Any], now: datetime
) -> None:
    with database.session_scope() as session:
        shop = session.get(Shop, shop_id)
        assert shop is not None
        upsert_checkout(session, shop=shop, payload=payload, event_at=None, now=now)


def store_order(database: Database, shop_id: int, payload: dict[str, Any], now: datetime) -> None:
    with database.session_scope() as session:
        shop = session.get(Shop, shop_id)
        assert shop is not None
        upsert_order(session, shop=shop, payload=payload, event_at=None, now=now)


def subscribe(database: Database, shop_id: int, shopify_customer_id: int, now: datetime) -> None:
    """Give the customer email marketing consent, as the consent topic would."""
    with database.session_scope() as session:
        customer = session.scalar(
            select(Customer).where(
                Customer.shop_id == shop_id, Customer.shopify_id == shopify_customer_id
            )
        )
        assert customer is not None
        customer.email_consent_state = "subscribed"
        customer.email_consent_updated_at = now


def configure(database: Database, shop_id: int, flow: str, now: datetime, **params: Any) -> None:
    with database.session_scope() as session:
        current = load_flow_config(session, shop_id=shop_id, flow=flow)
        save_flow_config(
            session,
            shop_id=shop_id,
            flow=flow,
            enabled=current.enabled,
            params={**current.params, **params},
            now=now,
        )


def run_once(runner: FlaskCliRunner, now: datetime, *extra: str) -> str:
    result = runner.invoke(args=["jobs", "run-once", "--now", now.isoformat(), *extra])
    assert result.exit_code == 0, (result.output, result.exception, result.stderr_bytes)
    return result.output


def messages(session: Session, flow: str | None = None) -> list[Message]:
    session.expire_all()
    statement = select(Message).order_by(Message.id)
    if flow is not None:
        statement = statement.where(Message.flow == flow)
    found = list(session.scalars(statement))
    # End the read transaction: on SQLite it holds the write lock the jobs under test need.
    session.commit()
    return found
