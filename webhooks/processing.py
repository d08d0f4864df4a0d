"""Apply one claimed delivery: parse, validate with its topic's schema, call its handler, record.

The same steps run for a delivery alone (`webhooks.batch.process_claim`, when its batch could
not commit) and for each delivery of a batch (`webhooks.batch`): the handler runs in a
savepoint, so its failure is rolled back while the failure itself is recorded in the enclosing
transaction.

Failures come in two kinds. A permanent one can never succeed on a retry: the body is not JSON,
not a JSON object, nests deeper than the parser allows, or does not match the topic's schema or
what the local model needs. It is dead-lettered at once with its reason, for an operator to read
and replay. Anything else (a lock timeout, an unreachable database, an order not stored yet)
is retried with backoff.
"""

from __future__ import annotations

import enum
import json
import logging
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from shopify_app.db import describe_database_error
from shopify_app.models import DeliveryStatus
from shopify_app.models import Shop
from shopify_app.models import WebhookDelivery
from shopify_app.store.payloads import InvalidPayload as InvalidLocalPayload
from webhooks import inbox
from webhooks.handlers import HANDLERS
from webhooks.registry import DeliveryContext
from webhooks.schemas import SCHEMAS

logger = logging.getLogger(__name__)


class InvalidPayload(Exception):
    """Raise when a delivery's body is not the JSON object its topic's schema expects."""


class Outcome(enum.Enum):
    DONE = "done"
    FAILED = "failed"
    DEAD = "dead"
    IGNORED = "ignored"
    SKIPPED = "skipped"  # another worker took the delivery over after our lease ran out


PERMANENT_ERRORS: tuple[type[BaseException], ...] = (InvalidPayload, InvalidLocalPayload)
"""Errors a retry cannot cure: the delivery is dead-lettered at once with its reason."""


def is_permanent(exc: BaseException) -> bool:
    return isinstance(exc, PERMANENT_ERRORS)


def parse_payload(body: bytes, *, topic: str) -> dict[str, Any]:
    """Return the body as a JSON object that *topic*'s schema accepts, or raise InvalidPayload.

    The object is returned as parsed, not as the schema converted it: unknown fields stay, and
    the handlers read text amounts and timestamps as they do from backfill. Only the JSON parser
    recurses with the body's depth (a schema's depth is its own: unknown fields are skipped, a
    free-form object is taken as it is), so only it can run out of stack.
    """
    try:
        data = json.loads(body)
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, an int of over 4300 digits
        raise InvalidPayload(f"The webhook body is not valid JSON: {exc}") from exc
    except RecursionError:
        raise InvalidPayload("The webhook body nests deeper than the JSON parser allows") from None
    if not isinstance(data, dict):
        raise InvalidPayload(
            f"The webhook body is a JSON {type(data).__name__}, expected a JSON object"
        )
    schema = SCHEMAS.get(topic)
    if schema is not None:
        try:
            msgspec.convert(data, schema)
        except msgspec.ValidationError as exc:
            raise InvalidPayload(
                f"The webhook payload does not match the {topic} schema: {exc}"
            ) from exc
    return data


def apply_delivery(
    session: Session,
    delivery: WebhookDelivery,
    *,
    shop: Shop | None,
    now: datetime,
    policy: inbox.RetryPolicy,
) -> Outcome:
    """Run the delivery's handler in a savepoint and record how it ended on the delivery row."""
    handler = HANDLERS.get(delivery.topic)
    if handler is None:
        inbox.mark_ignored(delivery, now=now)
        return Outcome.IGNORED
    try:
        with session.begin_nested():
            payload = parse_payload(delivery.payload, topic=delivery.topic)
            handler(session, shop, payload, context_for(delivery, now=now))
    except Exception as exc:  # noqa: BLE001 - a handler's failure stays with its delivery
        return record_failure(delivery, exc, now=now, policy=policy)
    return mark_applied(delivery, shop=shop, now=now)


def mark_applied(delivery: WebhookDelivery, *, shop: Shop | None, now: datetime) -> Outcome:
    """Record on the delivery row that its handler ran to the end."""
    if shop is not None:
        delivery.shop_id = shop.id
    inbox.mark_done(delivery, now=now)
    logger.debug(
        "Processed webhook delivery %d",
        delivery.id,
        extra={"shop": delivery.shop_domain, "topic": delivery.topic},
    )
    return Outcome.DONE


def record_failure(
    delivery: WebhookDelivery, exc: BaseException, *, now: datetime, policy: inbox.RetryPolicy
) -> Outcome:
    """Dead-letter a permanent failure at once; schedule a retry for any other."""
    error = describe_error(exc)
    if is_permanent(exc):
        status = inbox.mark_dead(delivery, error=error)
    else:
        status = inbox.mark_failed(delivery, error=error, now=now, policy=policy)
    _log_failure(delivery, status)
    return Outcome(status.value)


def describe_error(exc: BaseException) -> str:
    """Return a readable one-line error for the inbox, without SQL parameters (they hold data)."""
    if isinstance(exc, InvalidPayload):
        return str(exc)
    if isinstance(exc, DBAPIError):
        return describe_database_error(exc)
    return f"{type(exc).__name__}: {exc}"


def context_for(delivery: WebhookDelivery, *, now: datetime) -> DeliveryContext:
    return DeliveryContext(
        delivery_id=delivery.id,
        shop_domain=delivery.shop_domain,
        topic=delivery.topic,
        webhook_id=delivery.webhook_id,
        triggered_at=delivery.triggered_at,
        api_version=delivery.api_version,
        now=now,
    )


def _log_failure(delivery: WebhookDelivery, status: DeliveryStatus) -> None:
    extra = {"shop": delivery.shop_domain, "topic": delivery.topic}
    if status is DeliveryStatus.DEAD:
        logger.error(
            "Webhook delivery %d dead-lettered after %d attempts; see "
            "`flask --app shopify_app webhooks failed`",
            delivery.id,
            delivery.attempts,
            extra=extra,
        )
    else:
        logger.warning(
            "Webhook delivery %d failed on attempt %d; retrying at %s",
            delivery.id,
            delivery.attempts,
            delivery.next_attempt_at.isoformat() if delivery.next_attempt_at else "-",
            extra=extra,
        )
