"""Run webhook events the two ways: a handler call at a time, or through the inbox in batches."""

from __future__ import annotations

import itertools
import json
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from typing import Any

from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.orm import Session

from shopify_app.db import Database
from shopify_app.models import DeliveryStatus
from shopify_app.models import Shop
from shopify_app.models import WebhookDelivery
from shopify_app.store.parent_orders import OrderNotYetKnown
from tests.support.handlers import deliver
from webhooks import batch
from webhooks import inbox
from webhooks.handlers import HANDLERS
from webhooks.verification import WebhookEnvelope


@dataclass(frozen=True)
class Event:
    """One webhook delivery: its topic, body, trigger time and webhook id."""

    topic: str
    payload: dict[str, Any]
    triggered_at: datetime
    webhook_id: str


MAX_ROUNDS = 10_000
"""More claims than any test's stream needs: reaching it means deliveries never stop being due."""


def deliver_one_by_one(
    session: Session, shop: Shop, events: Sequence[Event], *, now: datetime
) -> None:
    """Run each event's handler in turn; one whose order is missing goes back in the queue."""
    queue = deque(events)
    for _ in range(MAX_ROUNDS):
        if not queue:
            return
        event = queue.popleft()
        try:
            deliver(
                session,
                shop,
                event.topic,
                event.payload,
                now=now,
                triggered_at=event.triggered_at,
                webhook_id=event.webhook_id,
            )
        except OrderNotYetKnown:
            queue.append(event)
    raise AssertionError("a delivery never succeeded")


def record_events(
    database: Database, *, shop_domain: str, events: Sequence[Event], now: datetime
) -> None:
    """Store *events* in the inbox as the endpoint would (a repeated webhook id is kept once)."""
    with database.session_scope() as session:
        for event in events:
            envelope = WebhookEnvelope(
                topic=event.topic,
                shop_domain=shop_domain,
                webhook_id=event.webhook_id,
                api_version="2026-07",
                event_id=None,
                triggered_at=event.triggered_at,
                body=json.dumps(event.payload).encode(),
            )
            inbox.record_delivery(session, envelope=envelope, now=now, handled_topics=HANDLERS)


def drain_in_batches(
    database: Database,
    *,
    sizes: Sequence[int],
    now: datetime,
    budget: timedelta | None = None,
    policy: inbox.RetryPolicy = inbox.DEFAULT_RETRY_POLICY,
) -> datetime:
    """Claim due deliveries *sizes* at a time (in turn) and process each claim as one batch.

    When only deliveries waiting for a retry are left, the clock moves past the longest backoff;
    return the clock once nothing is due or waiting.
    """
    clock = now
    claim_sizes = itertools.cycle(sizes)
    for _ in range(MAX_ROUNDS):
        with database.session_scope() as session:
            claims = inbox.claim_due(session, now=clock, limit=next(claim_sizes))
            waiting = session.scalar(
                select(func.count())
                .select_from(WebhookDelivery)
                .where(WebhookDelivery.status == DeliveryStatus.FAILED)
            )
        if claims:
            batch.process_batch(database, claims=claims, now=clock, policy=policy, budget=budget)
        elif waiting:
            clock += policy.max_delay + timedelta(seconds=1)
        else:
            return clock
    raise AssertionError("deliveries were still due after the last round")


def status_counts(session: Session) -> dict[DeliveryStatus, int]:
    """Return how many inbox rows have each status."""
    session.expire_all()
    rows = session.execute(
        select(WebhookDelivery.status, func.count()).group_by(WebhookDelivery.status)
    ).all()
    session.commit()
    return {status: count for status, count in rows}
