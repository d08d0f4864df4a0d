"""The demo stream's unit, one webhook at one moment, and its JSONL form (one event a line)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC
from datetime import datetime
from typing import Any
from typing import NamedTuple
from typing import TextIO

CONSENT_TOPIC = "customers_email_marketing_consent/update"
"""The email consent topic (API 2025-01 moved consent out of the customer payloads)."""

TOPICS: tuple[str, ...] = (
    "shop/update",
    "customers/create",
    "customers/update",
    CONSENT_TOPIC,
    "checkouts/create",
    "checkouts/update",
    "orders/create",
    "orders/updated",
    "orders/cancelled",
    "fulfillments/create",
    "fulfillments/update",
    "refunds/create",
)
"""Every topic the demo store emits."""


class DemoEvent(NamedTuple):
    """One webhook the shop sends: when it happened (aware UTC), its topic and its JSON body."""

    occurred_at: datetime
    topic: str
    payload: dict[str, Any]


def event_to_json(event: DemoEvent) -> str:
    """Return *event* as one JSON line (no newline): occurred_at, topic, payload."""
    return json.dumps(
        {
            "occurred_at": event.occurred_at.astimezone(UTC).isoformat(),
            "topic": event.topic,
            "payload": event.payload,
        },
        separators=(",", ":"),
        ensure_ascii=False,
    )


def event_from_json(line: str) -> DemoEvent:
    """Parse one line written by `event_to_json`."""
    record = json.loads(line)
    occurred_at = datetime.fromisoformat(record["occurred_at"])
    if occurred_at.tzinfo is None:
        raise ValueError("occurred_at must carry a UTC offset")
    return DemoEvent(occurred_at.astimezone(UTC), record["topic"], record["payload"])


def read_events(stream: TextIO) -> Iterator[DemoEvent]:
    """Yield the events of a JSONL stream written by `event_to_json`, skipping blank lines."""
    for line in stream:
        if line.strip():
            yield event_from_json(line)
