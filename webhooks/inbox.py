"""The durable inbox: record each verified delivery once, hand due ones to workers, track outcomes.

Idempotency comes from the unique (shop_domain, webhook_id) constraint: a repeated delivery is an
`INSERT ... ON CONFLICT DO NOTHING` that inserts nothing. A worker claims due rows in a short
transaction (PostgreSQL skips rows another worker has locked; SQLite serialises writers) and marks
them processing with a lease in `next_attempt_at`: if the worker dies, the row becomes due again
when the lease runs out. Every claim counts as an attempt, so a delivery that keeps crashing its
worker is dead-lettered like one that keeps failing.

These functions take the session first and never commit; the endpoint and the worker own the
transactions.
"""

from __future__ import annotations

import functools
from collections.abc import Container
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from typing import Any
from typing import cast

from sqlalchemy import ColumnElement
from sqlalchemy import Table
from sqlalchemy import and_
from sqlalchemy import bindparam
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import ReturningInsert

from shopify_app.errors import AppError
from shopify_app.errors import NotFound
from shopify_app.models import DeliveryStatus
from shopify_app.models import Shop
from shopify_app.models import WebhookDelivery
from webhooks.verification import WebhookEnvelope

CLAIM_LEASE = timedelta(minutes=5)
"""How long a claimed delivery stays with its worker before another worker may take it over."""

MAX_ERROR_LENGTH = 2000

QUEUED_STATUSES = (DeliveryStatus.PENDING, DeliveryStatus.PROCESSING, DeliveryStatus.FAILED)


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff between attempts, then the dead-letter state."""

    max_attempts: int = 6
    base_delay: timedelta = timedelta(minutes=1)
    max_delay: timedelta = timedelta(hours=1)

    def delay_after(self, attempts: int) -> timedelta:
        """Return how long to wait after the *attempts*-th failed attempt."""
        delay: timedelta = self.base_delay * (2 ** max(attempts - 1, 0))
        return min(delay, self.max_delay)


DEFAULT_RETRY_POLICY = RetryPolicy()


@dataclass(frozen=True, order=True)
class Claim:
    """A delivery a worker took, and which attempt this is (a stale claim is recognised by it)."""

    delivery_id: int
    attempt: int


class DeliveryNotFound(NotFound):
    pass


class DeliveryAlreadyQueued(AppError):
    status_code = 409


def record_delivery(
    session: Session,
    *,
    envelope: WebhookEnvelope,
    now: datetime,
    handled_topics: Container[str],
) -> int | None:
    """Store *envelope* unless its webhook id is already stored; return the new row's id or None.

    A topic outside *handled_topics* is stored as IGNORED: acknowledged and kept for the record.
    """
    is_handled = envelope.topic in handled_topics
    parameters = {
        "p_shop_domain": envelope.shop_domain,
        "p_topic": envelope.topic,
        "p_webhook_id": envelope.webhook_id,
        "p_event_id": envelope.event_id,
        "p_triggered_at": envelope.triggered_at,
        "p_api_version": envelope.api_version,
        "p_payload": envelope.body,
        "p_received_at": now,
        "p_status": DeliveryStatus.PENDING if is_handled else DeliveryStatus.IGNORED,
        "p_processed_at": None if is_handled else now,
    }
    statement = _record_statement(session.get_bind().dialect.name)
    delivery_id: int | None = session.execute(statement, parameters).scalar_one_or_none()
    return delivery_id


@functools.cache
def _record_statement(dialect: str) -> ReturningInsert[Any]:
    # Built once per dialect: this runs on every acknowledgement, and building and caching an
    # INSERT of a dozen columns costs more than executing it.
    table = cast(Table, WebhookDelivery.__table__)
    insert: postgresql.Insert | sqlite.Insert
    if dialect == "postgresql":
        insert = postgresql.insert(table)
    elif dialect == "sqlite":
        insert = sqlite.insert(table)
    else:
        raise NotImplementedError(f"the webhook inbox does not support the {dialect} dialect")
    columns = table.c
    values: dict[str, Any] = {
        name: bindparam(f"p_{name}", type_=columns[name].type)
        for name in (
            "shop_domain",
            "topic",
            "webhook_id",
            "event_id",
            "triggered_at",
            "api_version",
            "payload",
            "received_at",
            "status",
            "processed_at",
        )
    }
    values["shop_id"] = (
        select(Shop.id).where(Shop.domain == bindparam("p_shop_domain")).scalar_subquery()
    )
    values["attempts"] = 0
    return (
        insert.values(values)
        .on_conflict_do_nothing(index_elements=["shop_domain", "webhook_id"])
        .returning(columns.id)
    )


def is_retry_due(now: datetime) -> ColumnElement[bool]:
    """Match deliveries that failed, or whose worker's lease ran out, and are due to be tried."""
    return and_(
        WebhookDelivery.status.in_([DeliveryStatus.FAILED, DeliveryStatus.PROCESSING]),
        WebhookDelivery.next_attempt_at <= now,
    )


def is_due(now: datetime) -> ColumnElement[bool]:
    """Match deliveries a worker may take now: never tried, or due for another attempt."""
    return or_(WebhookDelivery.status == DeliveryStatus.PENDING, is_retry_due(now))


def claim_due(
    session: Session,
    *,
    now: datetime,
    limit: int,
    lease: timedelta = CLAIM_LEASE,
    shop_domain: str | None = None,
) -> list[Claim]:
    """Take up to *limit* due deliveries, oldest first, that no other worker holds; only
    *shop_domain*'s when given (a queue task drains one shop)."""
    query = select(WebhookDelivery.id).where(is_due(now))
    if shop_domain is not None:
        query = query.where(WebhookDelivery.shop_domain == shop_domain)
    ids = session.scalars(
        query.order_by(WebhookDelivery.id).limit(limit).with_for_update(skip_locked=True)
    ).all()
    if not ids:
        return []
    return _claim(session, WebhookDelivery.id.in_(ids), now=now, lease=lease)


def _claim(
    session: Session, condition: ColumnElement[bool], *, now: datetime, lease: timedelta
) -> list[Claim]:
    claimed = session.execute(
        update(WebhookDelivery)
        .where(condition)
        .values(
            status=DeliveryStatus.PROCESSING,
            attempts=WebhookDelivery.attempts + 1,
            next_attempt_at=now + lease,
        )
        .returning(WebhookDelivery.id, WebhookDelivery.attempts)
        .execution_options(synchronize_session=False)
    ).all()
    return sorted(Claim(delivery_id=row.id, attempt=row.attempts) for row in claimed)


def lock_claimed(session: Session, *, claims: Sequence[Claim]) -> list[WebhookDelivery]:
    """Return the deliveries of *claims* still held by them, locked, in id order (one query)."""
    attempts = {claim.delivery_id: claim.attempt for claim in claims}
    rows = session.scalars(
        select(WebhookDelivery)
        .where(
            WebhookDelivery.id.in_(attempts),
            WebhookDelivery.status == DeliveryStatus.PROCESSING,
        )
        .order_by(WebhookDelivery.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    return [row for row in rows if attempts[row.id] == row.attempts]


def mark_done(delivery: WebhookDelivery, *, now: datetime) -> None:
    delivery.status = DeliveryStatus.DONE
    delivery.processed_at = now
    delivery.next_attempt_at = None


def mark_ignored(delivery: WebhookDelivery, *, now: datetime) -> None:
    delivery.status = DeliveryStatus.IGNORED
    delivery.processed_at = now
    delivery.next_attempt_at = None


def mark_failed(
    delivery: WebhookDelivery,
    *,
    error: str,
    now: datetime,
    policy: RetryPolicy = DEFAULT_RETRY_POLICY,
) -> DeliveryStatus:
    """Record *error*; schedule a retry with backoff, or dead-letter after the last attempt."""
    delivery.last_error = error[:MAX_ERROR_LENGTH]
    if delivery.attempts >= policy.max_attempts:
        delivery.status = DeliveryStatus.DEAD
        delivery.next_attempt_at = None
    else:
        delivery.status = DeliveryStatus.FAILED
        delivery.next_attempt_at = now + policy.delay_after(delivery.attempts)
    return delivery.status


def mark_dead(delivery: WebhookDelivery, *, error: str) -> DeliveryStatus:
    """Dead-letter at once: the delivery can never succeed (its body or payload is wrong)."""
    delivery.last_error = error[:MAX_ERROR_LENGTH]
    delivery.status = DeliveryStatus.DEAD
    delivery.next_attempt_at = None
    return delivery.status


def list_dead(session: Session, *, limit: int = 100) -> list[WebhookDelivery]:
    """Return dead-lettered deliveries, oldest first."""
    return list(
        session.scalars(
            select(WebhookDelivery)
            .where(WebhookDelivery.status == DeliveryStatus.DEAD)
            .order_by(WebhookDelivery.id)
            .limit(limit)
        )
    )


def replay(session: Session, *, delivery_id: int) -> WebhookDelivery:
    """Queue one delivery again with a fresh set of attempts (handlers are idempotent)."""
    delivery = session.get(WebhookDelivery, delivery_id, with_for_update=True)
    if delivery is None:
        raise DeliveryNotFound(f"No webhook delivery with id {delivery_id}")
    if delivery.status in QUEUED_STATUSES:
        raise DeliveryAlreadyQueued(
            f"Webhook delivery {delivery_id} is already queued (status {delivery.status.value})"
        )
    _requeue(delivery)
    return delivery


def replay_dead(session: Session) -> int:
    """Queue every dead-lettered delivery again; return how many."""
    deliveries = session.scalars(
        select(WebhookDelivery)
        .where(WebhookDelivery.status == DeliveryStatus.DEAD)
        .with_for_update()
    ).all()
    for delivery in deliveries:
        _requeue(delivery)
    return len(deliveries)


def _requeue(delivery: WebhookDelivery) -> None:
    delivery.status = DeliveryStatus.PENDING
    delivery.attempts = 0
    delivery.next_attempt_at = None
    delivery.processed_at = None
