"""Read REST-shaped Shopify payloads: ids, shop-currency money and aware timestamps.

Payloads reach the domain as parsed JSON: from backfill and reconciliation, and from the webhook
worker once the topic's schema (`webhooks.schemas`) has accepted them. Readers also take a value
already converted (a datetime, a Decimal).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC
from datetime import datetime
from decimal import Decimal
from decimal import InvalidOperation
from typing import Any

from shopify_app.errors import AppError


class InvalidPayload(AppError):
    """Raise when a payload lacks what the local model needs; the delivery fails readably."""

    status_code = 422


def parse_datetime(value: Any) -> datetime | None:
    """Return *value* (ISO 8601 text or a datetime) as an aware UTC datetime."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            # RFC 3339 allows a lower-case "t" and "z", which fromisoformat does not read.
            moment = datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
        except ValueError as exc:
            raise InvalidPayload(f"not an ISO 8601 timestamp: {value!r}") from exc
    else:
        raise InvalidPayload(f"not a timestamp: {value!r}")
    if moment.tzinfo is None:
        # Shopify always sends an offset; a bare timestamp can only have come from UTC storage.
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


MONEY_LIMIT = Decimal("1E12")
"""The first amount a money column (Numeric(14, 2)) cannot hold: PostgreSQL refuses it with an
error no retry cures, while SQLite would store it."""


def parse_decimal(value: Any) -> Decimal | None:
    """Return *value* as a Decimal; floats go through str() so 89.99 stays 89.99."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise InvalidPayload(f"not an amount: {value!r}")
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation as exc:
        raise InvalidPayload(f"not an amount: {value!r}") from exc
    if not amount.is_finite() or abs(amount) >= MONEY_LIMIT:
        raise InvalidPayload(f"amount out of range: {amount}")
    return amount


def parse_id(value: Any) -> int | None:
    """Return a Shopify id as an int (never a float: ids exceed 2**53)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise InvalidPayload(f"not an id: {value!r}")
    try:
        return int(value)
    except ValueError as exc:
        raise InvalidPayload(f"not an id: {value!r}") from exc


def require_id(payload: Mapping[str, Any], key: str = "id") -> int:
    """Return the id under *key*, or fail the delivery with a readable reason."""
    value = parse_id(payload.get(key))
    if value is None:
        raise InvalidPayload(f"payload has no {key!r}")
    return value


def shop_money(payload: Mapping[str, Any], key: str) -> Decimal | None:
    """Return the amount of *key* in the shop's currency (`<key>_set.shop_money`), else *key*."""
    money_set = payload.get(f"{key}_set")
    if isinstance(money_set, Mapping):
        shop_amount = money_set.get("shop_money")
        if isinstance(shop_amount, Mapping) and shop_amount.get("amount") is not None:
            return parse_decimal(shop_amount["amount"])
    return parse_decimal(payload.get(key))


def shop_currency(payload: Mapping[str, Any], key: str) -> str | None:
    """Return the shop currency named in `<key>_set.shop_money`, else the payload's `currency`."""
    money_set = payload.get(f"{key}_set")
    if isinstance(money_set, Mapping):
        shop_amount = money_set.get("shop_money")
        if isinstance(shop_amount, Mapping) and shop_amount.get("currency_code"):
            return str(shop_amount["currency_code"])
    currency = payload.get("currency")
    return str(currency) if currency else None


def as_mapping(value: Any) -> Mapping[str, Any] | None:
    return value if isinstance(value, Mapping) else None


def as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else []


def text(value: Any, *, limit: int | None = None) -> str | None:
    """Return *value* as stripped text (None when empty), cut to the column's *limit*."""
    if value is None:
        return None
    # PostgreSQL text cannot hold NUL, SQLite's can: drop it so both backends store the same.
    result = str(value).replace("\x00", "").strip()
    if not result:
        return None
    return result[:limit] if limit else result


def is_stale(
    *,
    stored_updated_at: datetime | None,
    stored_event_at: datetime | None,
    updated_at: datetime | None,
    event_at: datetime | None,
) -> bool:
    """Tell whether an incoming version is older than the stored one.

    Shopify's `updated_at` decides; when it ties or is missing on either side, the delivery's
    triggered-at time does. An equal or unknown version is applied: replaying the same payload
    writes the same values, so a duplicate changes nothing.
    """
    if updated_at is not None and stored_updated_at is not None and updated_at != stored_updated_at:
        return updated_at < stored_updated_at
    if event_at is not None and stored_event_at is not None:
        return event_at < stored_event_at
    return False
