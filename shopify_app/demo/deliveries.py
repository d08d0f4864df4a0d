"""What the demo player sends and reports: the target, the options, one POST, a run's summary."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import datetime

from shopify_app.demo import DEMO_SHOP_DOMAIN
from shopify_app.demo.generator import DemoEvent
from shopify_app.gateway import API_VERSION
from shopify_app.gateway.signatures import sign_webhook

MAX_FAILURES_KEPT = 20
"""How many failures a summary describes; the count goes on."""

_ID_NAMESPACE = uuid.UUID("6c0b5f0e-3a51-4f0b-9d1e-2f6a7f7d0c11")


@dataclass(frozen=True)
class WebhookTarget:
    """Where and as whom to deliver: the app's base URL, its API secret and the shop."""

    base_url: str
    api_secret: str
    shop_domain: str = DEMO_SHOP_DOMAIN
    api_version: str = API_VERSION

    @property
    def url(self) -> str:
        return self.base_url.rstrip("/") + "/webhooks"


@dataclass(frozen=True)
class DeliveryOptions:
    """How Shopify-like the delivery is; the defaults are mild enough for a laptop."""

    senders: int = 4
    duplicate_share: float = 0.02
    out_of_order_share: float = 0.05
    shuffle_window: int = 8
    max_attempts: int = 5
    backoff_seconds: float = 0.1
    max_backoff_seconds: float = 2.0
    connect_timeout: float = 1.0
    read_timeout: float = 5.0
    seed: int = 7

    def __post_init__(self) -> None:
        if self.senders < 1:
            raise ValueError("senders must be at least 1")
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        for name in ("duplicate_share", "out_of_order_share"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1")


@dataclass(frozen=True)
class Delivery:
    """One POST as Shopify would make it; a duplicate repeats the original's ids and body."""

    topic: str
    body: bytes
    webhook_id: str
    event_id: str
    triggered_at: datetime
    is_duplicate: bool = False

    @classmethod
    def of_event(cls, position: int, event: DemoEvent) -> Delivery:
        """Return the delivery of *event*, the stream's event number *position*."""
        body = json.dumps(event.payload, separators=(",", ":"), ensure_ascii=False).encode()
        webhook_id, event_id = _delivery_ids(position, event.topic, body)
        return cls(
            topic=event.topic,
            body=body,
            webhook_id=webhook_id,
            event_id=event_id,
            triggered_at=event.occurred_at,
        )

    def headers(self, target: WebhookTarget) -> dict[str, str]:
        triggered = self.triggered_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        return {
            "Content-Type": "application/json",
            "X-Shopify-Topic": self.topic,
            "X-Shopify-Hmac-Sha256": sign_webhook(self.body, target.api_secret),
            "X-Shopify-Shop-Domain": target.shop_domain,
            "X-Shopify-API-Version": target.api_version,
            "X-Shopify-Webhook-Id": self.webhook_id,
            "X-Shopify-Event-Id": self.event_id,
            "X-Shopify-Triggered-At": triggered,
        }


def _delivery_ids(position: int, topic: str, body: bytes) -> tuple[str, str]:
    """Return (webhook id, event id), the same whenever the same stream is played again.

    Replaying a stream therefore repeats its webhook ids and the app keeps each delivery once,
    while a stream generated for another `now` or seed gets ids of its own.
    """
    digest = hashlib.sha256(body).hexdigest()
    webhook_id = uuid.uuid5(_ID_NAMESPACE, f"{position}:{topic}:{digest}")
    return str(webhook_id), str(uuid.uuid5(webhook_id, "event"))


@dataclass
class DeliverySummary:
    """What a run did: unique events sent and acknowledged, extra copies, retries and failures."""

    events: int = 0
    delivered: int = 0
    duplicates_sent: int = 0
    retries: int = 0
    failed: int = 0
    failures: list[str] = field(default_factory=list)

    def merge(self, other: DeliverySummary) -> DeliverySummary:
        """Return the sum of two runs (history then live)."""
        return DeliverySummary(
            events=self.events + other.events,
            delivered=self.delivered + other.delivered,
            duplicates_sent=self.duplicates_sent + other.duplicates_sent,
            retries=self.retries + other.retries,
            failed=self.failed + other.failed,
            failures=(self.failures + other.failures)[:MAX_FAILURES_KEPT],
        )


ProgressCallback = Callable[[Delivery], None]
"""Called with each original delivery once it is acknowledged or has failed for good."""
