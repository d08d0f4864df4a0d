"""The shop's own lifecycle: uninstall (tokens gone, data kept until shop/redact) and details."""

from __future__ import annotations

import logging
from collections.abc import Callable
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from shopify_app.messaging.outbox import cancel_on_uninstall
from shopify_app.models import Shop
from shopify_app.store.payloads import is_stale
from shopify_app.store.payloads import parse_datetime
from shopify_app.store.payloads import parse_id
from shopify_app.store.payloads import text

logger = logging.getLogger(__name__)

UninstallHook = Callable[[Session, Shop, datetime], None]

UNINSTALL_HOOKS: list[UninstallHook] = []
"""Run by `mark_uninstalled` (e.g. messaging cancels the shop's pending messages); append to it."""

UNINSTALL_HOOKS.append(cancel_on_uninstall)


def mark_uninstalled(
    session: Session, *, shop: Shop, now: datetime, event_at: datetime | None = None
) -> bool:
    """Delete the shop's tokens and mark it uninstalled; return False for a stale uninstall.

    An app/uninstalled triggered before the current installation began belongs to an earlier
    installation and must not uninstall the new one.
    """
    if event_at is not None and shop.installed_at is not None and event_at < shop.installed_at:
        logger.info("Ignored an uninstall older than the installation", extra={"shop": shop.domain})
        return False
    shop.credential = None
    if shop.uninstalled_at is None:
        shop.uninstalled_at = now
    for hook in UNINSTALL_HOOKS:
        hook(session, shop, now)
    session.flush()
    logger.info("Shop uninstalled; data kept until shop/redact", extra={"shop": shop.domain})
    return True


def update_shop_details(
    session: Session,
    *,
    shop: Shop,
    payload: Mapping[str, Any],
    event_at: datetime | None,
    now: datetime,
) -> Shop:
    """Apply a shop/update payload (currency, IANA time zone, email, name) unless stale."""
    updated_at = parse_datetime(payload.get("updated_at"))
    if is_stale(
        stored_updated_at=shop.shopify_updated_at,
        stored_event_at=shop.last_event_at,
        updated_at=updated_at,
        event_at=event_at,
    ):
        return shop
    # Missing fields keep what is stored: currency and time zone must never become empty.
    shop.shopify_id = parse_id(payload.get("id")) or shop.shopify_id
    shop.name = text(payload.get("name"), limit=255) or shop.name
    shop.email = text(payload.get("email"), limit=320) or shop.email
    currency = text(payload.get("currency"), limit=3)
    if currency:
        shop.currency = currency
    timezone = text(payload.get("iana_timezone"), limit=64)
    if timezone:
        shop.iana_timezone = timezone
    shop.shopify_updated_at = updated_at
    shop.last_event_at = event_at
    session.flush()
    return shop
