"""Erase one customer's personal data, or every row of a whole shop.

Other modules keep their own personal data; they join the customer redaction by appending to
`CUSTOMER_REDACTORS`. `redact_shop` needs no registration: it deletes every row of every table
that names the shop (a `shop_id` or `shop_domain` column, or a foreign key to such a table).
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import Callable
from collections.abc import Collection
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.orm import Session

from shopify_app.messaging import nps
from shopify_app.messaging.outbox import redact_outbox
from shopify_app.models import Base
from shopify_app.models import Customer
from shopify_app.models import DeliveryStatus
from shopify_app.models import PrivacyRequest
from shopify_app.models import Shop
from shopify_app.models import WebhookDelivery
from shopify_app.privacy.subject import DataSubject
from shopify_app.privacy.subject import subject_checkouts
from shopify_app.privacy.subject import subject_orders
from shopify_app.store.customers import find_or_create_customer

logger = logging.getLogger(__name__)

CustomerRedactor = Callable[[Session, Shop, Customer | None, str | None, datetime], None]

CUSTOMER_REDACTORS: list[CustomerRedactor] = [
    # The messaging outbox keeps emails and message contexts.
    redact_outbox,
    # NPS answers stay in the score, unlinked from a redacted customer.
    nps.redact_answers,
]
"""Run by `redact_customer` after the core tables: (session, shop, customer, email, now)."""

REDACTED_PAYLOAD = b'{"redacted":true}'
"""What a processed inbox delivery that mentioned a redacted customer keeps of its body."""

SCRUBBABLE_STATUSES = (DeliveryStatus.DONE, DeliveryStatus.DEAD, DeliveryStatus.IGNORED)

SCRUB_BATCH = 500


# -- customer redaction -----------------------------------------------------------------------


def redact_customer(
    session: Session,
    *,
    shop: Shop,
    customer_shopify_id: int | None,
    email: str | None,
    order_ids: Collection[int],
    now: datetime,
    phone: str | None = None,
    current_delivery_id: int | None = None,
) -> Customer | None:
    """Erase one customer's personal data from every table; orders stay, anonymised, for KPIs.

    The customer row stays as a redacted tombstone so a late delivery about them stores no
    personal data again. Processed inbox deliveries that mention them lose their body.
    """
    customer: Customer | None = None
    if customer_shopify_id is not None:
        customer = find_or_create_customer(session, shop=shop, shopify_id=customer_shopify_id)
    subject = DataSubject(
        customer=customer,
        shopify_id=customer_shopify_id,
        email=email or (customer.email if customer is not None else None),
        phone=phone or (customer.phone if customer is not None else None),
        order_ids=order_ids,
    )
    identifiers = _identifiers(subject)
    _anonymise_orders_and_checkouts(session, shop=shop, subject=subject)
    if customer is not None:
        _tombstone(customer, now=now)
    if customer_shopify_id is not None:
        _drop_exports(session, shop_domain=shop.domain, customer_shopify_id=customer_shopify_id)
    session.flush()
    for redactor in CUSTOMER_REDACTORS:
        redactor(session, shop, customer, subject.email, now)
    _scrub_inbox(
        session,
        shop_domain=shop.domain,
        identifiers=identifiers,
        numbers=[n for n in (customer_shopify_id, *order_ids) if n is not None],
        current_delivery_id=current_delivery_id,
    )
    session.flush()
    return customer


def _identifiers(subject: DataSubject) -> list[str]:
    """Return the subject's emails and phones as they are searched for in stored payloads."""
    values = [subject.email, subject.phone]
    if subject.customer is not None:
        values += [subject.customer.email, subject.customer.phone]
    return sorted({v.strip().lower() for v in values if v and v.strip()})


def _anonymise_orders_and_checkouts(session: Session, *, shop: Shop, subject: DataSubject) -> None:
    for order in subject_orders(session, shop=shop, subject=subject):
        order.email = None
    for checkout in subject_checkouts(session, shop=shop, subject=subject):
        checkout.email = None
        checkout.phone = None
        # The recovery link opens the buyer's checkout with their contact and address.
        checkout.abandoned_checkout_url = None


def _tombstone(customer: Customer, *, now: datetime) -> None:
    customer.email = None
    customer.phone = None
    customer.first_name = None
    customer.last_name = None
    if customer.redacted_at is None:
        customer.redacted_at = now


def _drop_exports(session: Session, *, shop_domain: str, customer_shopify_id: int) -> None:
    """Empty the exports of the customer's earlier data requests: they are personal data too."""
    session.execute(
        update(PrivacyRequest)
        .where(
            PrivacyRequest.shop_domain == shop_domain,
            PrivacyRequest.customer_shopify_id == customer_shopify_id,
            PrivacyRequest.export.is_not(None),
        )
        .values(export=sa.null()),
        execution_options={"synchronize_session": "fetch"},
    )


def _scrub_inbox(
    session: Session,
    *,
    shop_domain: str,
    identifiers: list[str],
    numbers: list[int],
    current_delivery_id: int | None,
) -> None:
    """Empty the stored bodies of processed deliveries that mention the customer.

    Deliveries still queued keep their body: they are processed later and find the customer
    redacted, so they store no personal data.
    """
    number_pattern = (
        re.compile(rb"(?<![0-9])(" + b"|".join(str(n).encode() for n in numbers) + rb")(?![0-9])")
        if numbers
        else None
    )
    needles = [value.encode() for value in identifiers]
    condition: sa.ColumnElement[bool] = WebhookDelivery.status.in_(SCRUBBABLE_STATUSES)
    if current_delivery_id is not None:
        condition = or_(condition, WebhookDelivery.id == current_delivery_id)
    rows = session.execute(
        select(WebhookDelivery.id, WebhookDelivery.payload)
        .where(WebhookDelivery.shop_domain == shop_domain, condition)
        .execution_options(yield_per=SCRUB_BATCH)
    )
    matching = [
        delivery_id
        for delivery_id, payload in rows
        if bytes(payload) != REDACTED_PAYLOAD
        and (
            any(needle in bytes(payload).lower() for needle in needles)
            or (number_pattern is not None and number_pattern.search(bytes(payload)))
        )
    ]
    for start in range(0, len(matching), SCRUB_BATCH):
        session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id.in_(matching[start : start + SCRUB_BATCH]))
            .values(payload=REDACTED_PAYLOAD),
            execution_options={"synchronize_session": False},
        )
    scrubbed = set(matching)
    for obj in list(session.identity_map.values()):
        if isinstance(obj, WebhookDelivery) and obj.id in scrubbed:
            session.expire(obj, ["payload"])


# -- shop redaction ---------------------------------------------------------------------------


def redact_shop(
    session: Session,
    *,
    shop_domain: str,
    now: datetime,
    keep_delivery_ids: Collection[int] = (),
) -> int:
    """Delete every row of the shop in every table; return how many rows went.

    *keep_delivery_ids* spares inbox rows still in use (the shop/redact delivery being
    processed); privacy requests are deleted too, and the caller logs the redaction afterwards.
    """
    shop = session.scalar(select(Shop).where(Shop.domain == shop_domain))
    session.flush()
    conditions: dict[str, sa.ColumnElement[bool] | None] = {}
    deleted = 0
    for table in reversed(Base.metadata.sorted_tables):
        if table.name == Shop.__tablename__:
            continue
        condition = _shop_condition(table, shop=shop, shop_domain=shop_domain, memo=conditions)
        if condition is None:
            continue
        if table.name == WebhookDelivery.__tablename__ and keep_delivery_ids:
            condition = sa.and_(condition, table.c.id.not_in(list(keep_delivery_ids)))
        result = session.execute(table.delete().where(condition))
        deleted += result.rowcount or 0  # type: ignore[attr-defined]
    if shop is not None:
        _forget_deleted_rows(session, shop=shop)
        result = session.execute(
            sa.delete(Shop).where(Shop.id == shop.id),
            execution_options={"synchronize_session": False},
        )
        deleted += result.rowcount or 0  # type: ignore[attr-defined]
        session.expunge(shop)
    logger.info("Shop redacted: %d rows deleted", deleted, extra={"shop": shop_domain})
    return deleted


def _forget_deleted_rows(session: Session, *, shop: Shop) -> None:
    """Take the shop's objects out of the session, whose rows the bulk deletes just removed.

    Reading `shop_id` of an expired object would load a row that is gone, so loaded objects
    are told by their `shop_id` and expired ones by whether their row still exists.
    """
    expired: dict[type[Any], list[Any]] = defaultdict(list)
    for obj in list(session.identity_map.values()):
        state = sa.inspect(obj)
        if obj is shop or not hasattr(type(obj), "shop_id"):
            continue
        if "shop_id" in state.dict:
            if state.dict["shop_id"] == shop.id:
                session.expunge(obj)
        elif len(state.mapper.primary_key) == 1:
            expired[type(obj)].append(obj)
    for model, objects in expired.items():
        key = sa.inspect(model).primary_key[0]
        ids = [sa.inspect(obj).identity[0] for obj in objects]
        present = set(session.scalars(sa.select(key).where(key.in_(ids))))
        for obj in objects:
            if sa.inspect(obj).identity[0] not in present:
                session.expunge(obj)


def _shop_condition(
    table: sa.Table,
    *,
    shop: Shop | None,
    shop_domain: str,
    memo: dict[str, sa.ColumnElement[bool] | None],
) -> sa.ColumnElement[bool] | None:
    """Return the condition selecting the shop's rows of *table*, or None if it has none."""
    if table.name in memo:
        return memo[table.name]
    memo[table.name] = None  # guards against foreign-key cycles
    direct: list[sa.ColumnElement[bool]] = []
    if "shop_domain" in table.c:
        direct.append(table.c.shop_domain == shop_domain)
    if "shop_id" in table.c and shop is not None:
        direct.append(table.c.shop_id == shop.id)
    if direct:
        condition: sa.ColumnElement[bool] | None = or_(*direct)
    else:
        via_parents: list[sa.ColumnElement[bool]] = []
        for fk in table.foreign_keys:
            parent = fk.column.table
            if parent.name == Shop.__tablename__:
                if shop is not None:
                    via_parents.append(fk.parent == shop.id)
                continue
            parent_condition = _shop_condition(
                parent, shop=shop, shop_domain=shop_domain, memo=memo
            )
            if parent_condition is not None:
                via_parents.append(
                    fk.parent.in_(select(fk.column).where(parent_condition).scalar_subquery())
                )
        condition = or_(*via_parents) if via_parents else None
    memo[table.name] = condition
    return condition
