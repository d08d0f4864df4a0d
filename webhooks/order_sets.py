"""Apply a batch's order deliveries together: one set per shop, written by `upsert_orders`.

Every orders/* topic carries the whole order, so a batch's order deliveries of one shop are one
call to `shopify_app.store.order_batches.upsert_orders`: versions of one order are collapsed, the
rows are written with a few multi-row statements and the rollups are brought up to date once.

Failure isolation stays per delivery. A body that is not the topic's JSON, or a version the store
refuses (`InvalidPayload`), fails only its delivery, dead-lettered with its reason. When the set's
write itself fails, the set is split in halves, each in a savepoint, until the culprit is alone:
it fails with its own error and the others are done.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from shopify_app.models import Shop
from shopify_app.models import WebhookDelivery
from shopify_app.store.order_batches import OrderVersion
from shopify_app.store.order_batches import upsert_orders
from webhooks import inbox
from webhooks.handlers import HANDLERS
from webhooks.handlers import ORDER_HANDLER
from webhooks.processing import Outcome
from webhooks.processing import mark_applied
from webhooks.processing import parse_payload
from webhooks.processing import record_failure


@dataclass(frozen=True)
class _Parsed:
    delivery: WebhookDelivery
    payload: dict[str, Any]


def is_order_topic(topic: str) -> bool:
    """Whether *topic*'s deliveries carry a whole order, stored by `upsert_orders` in sets."""
    return HANDLERS.get(topic) is ORDER_HANDLER


def takes_part(delivery: WebhookDelivery, shop: Shop | None) -> bool:
    """Whether a delivery is applied in its shop's order set (orders of stored shops)."""
    return shop is not None and is_order_topic(delivery.topic)


def apply_order_sets(
    session: Session,
    deliveries: Sequence[WebhookDelivery],
    *,
    shops: dict[str, Shop],
    now: datetime,
    policy: inbox.RetryPolicy,
) -> dict[int, Outcome]:
    """Apply *deliveries* (all `takes_part`) one shop at a time; return each one's outcome."""
    outcomes: dict[int, Outcome] = {}
    per_shop: dict[str, list[_Parsed]] = defaultdict(list)
    for delivery in deliveries:
        try:
            payload = parse_payload(delivery.payload, topic=delivery.topic)
        except Exception as exc:  # noqa: BLE001 - a body that cannot be parsed fails alone
            outcomes[delivery.id] = record_failure(delivery, exc, now=now, policy=policy)
            continue
        per_shop[delivery.shop_domain].append(_Parsed(delivery, payload))
    for domain, parsed in per_shop.items():
        _apply_set(session, shops[domain], parsed, outcomes=outcomes, now=now, policy=policy)
    return outcomes


def _apply_set(
    session: Session,
    shop: Shop,
    parsed: Sequence[_Parsed],
    *,
    outcomes: dict[int, Outcome],
    now: datetime,
    policy: inbox.RetryPolicy,
) -> None:
    versions = [
        OrderVersion(
            key=item.delivery.id, payload=item.payload, event_at=item.delivery.triggered_at
        )
        for item in parsed
    ]
    try:
        with session.begin_nested():
            result = upsert_orders(session, shop=shop, versions=versions, now=now)
    except Exception as exc:  # noqa: BLE001 - find the culprit below; the others go on
        if len(parsed) == 1:
            delivery = parsed[0].delivery
            outcomes[delivery.id] = record_failure(delivery, exc, now=now, policy=policy)
            return
        middle = len(parsed) // 2
        for half in (parsed[:middle], parsed[middle:]):
            _apply_set(session, shop, half, outcomes=outcomes, now=now, policy=policy)
        return
    for item in parsed:
        failure = result.failures.get(item.delivery.id)
        if failure is not None:
            outcomes[item.delivery.id] = record_failure(
                item.delivery, failure, now=now, policy=policy
            )
        else:
            outcomes[item.delivery.id] = mark_applied(item.delivery, shop=shop, now=now)
