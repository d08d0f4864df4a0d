"""Helpers for the adversarial suite: realistic demo streams, signed posts, scale selection."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from typing import Any

from flask.testing import FlaskClient

from shopify_app.analytics.rollups.rebuild import rebuild_rollups
from shopify_app.db import Database
from shopify_app.demo.generator import DemoEvent
from shopify_app.demo.generator import ShopProfile
from shopify_app.demo.generator import ShopSimulation
from shopify_app.models import Shop
from tests.support.shopify import webhook_headers
from webhooks.worker import drain

STREAM_NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
VICTIM = "beta.myshopify.com"
ATTACKER = "alpha.myshopify.com"
IS_FULL_SCALE = os.environ.get("ADVERSARIAL_SCALE", "quick").lower() == "full"


@dataclass(frozen=True)
class Store:
    """A shop of the adversarial suite and the demo history it was fed."""

    shop: Shop
    events: list[DemoEvent]


def scale(quick: int, full: int) -> int:
    """Return the quick size in CI and the full size under ADVERSARIAL_SCALE=full."""
    return full if IS_FULL_SCALE else quick


def demo_events(
    domain: str, *, customers: int, history_days: int, seed: int = 7, limit: int | None = None
) -> list[DemoEvent]:
    """Return the history of a simulated store called *domain*, oldest first."""
    profile = ShopProfile(
        domain=domain,
        shopify_id=abs(hash(domain)) % 10**10,
        name=f"Store {domain.split('.')[0]}",
        email=f"owner@{domain.split('.')[0]}.example.com",
    )
    simulation = ShopSimulation(
        seed=seed, customers=customers, now=STREAM_NOW, history_days=history_days, shop=profile
    )
    events: list[DemoEvent] = []
    for event in simulation:
        if event.occurred_at > STREAM_NOW or (limit is not None and len(events) >= limit):
            break
        events.append(event)
    return events


def signed_request(
    event: DemoEvent, *, domain: str, webhook_id: str | None = None
) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(event.payload, separators=(",", ":")).encode()
    headers = webhook_headers(
        event.topic,
        body,
        shop_domain=domain,
        webhook_id=webhook_id or str(uuid.uuid4()),
        triggered_at=event.occurred_at,
    )
    return body, headers


def feed_store(
    client: FlaskClient, database: Database, events: list[DemoEvent], *, domain: str, shop_id: int
) -> None:
    """Post *events* signed through the endpoint, drain the inbox and rebuild the rollups."""
    for event in events:
        body, headers = signed_request(event, domain=domain)
        response = client.post("/webhooks", data=body, headers=headers)
        assert response.status_code == 200, response.get_data(as_text=True)
    drain(database, now=STREAM_NOW)
    with database.session_scope() as session:
        rebuild_rollups(session, shop_id=shop_id, now=STREAM_NOW)


def customer_markers(events: list[DemoEvent]) -> set[str]:
    """Return the emails and names the stream's customers carry: text only that store knows."""
    markers: set[str] = set()
    for event in events:
        for value in _walk(event.payload):
            if isinstance(value, str) and "@" in value and "." in value:
                markers.add(value)
    return markers


def _walk(value: Any) -> Iterator[Any]:
    if isinstance(value, dict):
        for item in value.values():
            yield from _walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from _walk(item)
    else:
        yield value
