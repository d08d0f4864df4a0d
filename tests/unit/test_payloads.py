"""Reading Shopify payloads: exact money, aware UTC times, 64-bit ids, version comparison."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from datetime import timedelta
from decimal import Decimal

import pytest

from shopify_app.store.payloads import InvalidPayload
from shopify_app.store.payloads import is_stale
from shopify_app.store.payloads import parse_datetime
from shopify_app.store.payloads import parse_decimal
from shopify_app.store.payloads import parse_id
from shopify_app.store.payloads import shop_money

T = datetime(2026, 3, 1, tzinfo=UTC)


def test_a_float_amount_keeps_its_printed_digits() -> None:
    assert parse_decimal(89.99) == Decimal("89.99")
    assert parse_decimal("404.95") == Decimal("404.95")


def test_an_offset_timestamp_becomes_aware_utc() -> None:
    assert parse_datetime("2021-12-31T19:00:00-05:00") == datetime(2022, 1, 1, tzinfo=UTC)
    assert parse_datetime("2022-01-01T00:00:00Z") == datetime(2022, 1, 1, tzinfo=UTC)
    assert parse_datetime("2022-01-01t00:00:00z") == datetime(2022, 1, 1, tzinfo=UTC)  # RFC 3339


def test_a_malformed_timestamp_fails_with_a_readable_reason() -> None:
    with pytest.raises(InvalidPayload, match="ISO 8601"):
        parse_datetime("yesterday")


def test_ids_beyond_two_to_the_53_stay_exact_and_floats_are_refused() -> None:
    assert parse_id(820982911946154508) == 820982911946154508
    assert parse_id("820982911946154508") == 820982911946154508
    with pytest.raises(InvalidPayload):
        parse_id(8.209829119461545e17)


def test_shop_money_wins_over_the_presentment_amount() -> None:
    payload = {
        "total_price": "90.00",
        "total_price_set": {
            "shop_money": {"amount": "100.00", "currency_code": "USD"},
            "presentment_money": {"amount": "90.00", "currency_code": "EUR"},
        },
    }
    assert shop_money(payload, "total_price") == Decimal("100.00")
    assert shop_money({"total_price": "90.00"}, "total_price") == Decimal("90.00")


@pytest.mark.parametrize(
    ("stored", "incoming", "expected"),
    [
        ((T, None), (T - timedelta(seconds=1), None), True),
        ((T, None), (T + timedelta(seconds=1), None), False),
        ((T, T), (T, T - timedelta(seconds=1)), True),
        ((T, T), (T, T), False),
        ((T, T), (T + timedelta(seconds=1), T - timedelta(days=1)), False),
        ((None, T), (None, T - timedelta(seconds=1)), True),
        ((T, None), (None, None), False),
    ],
)
def test_updated_at_decides_staleness_and_trigger_time_breaks_ties(
    stored: tuple[datetime | None, datetime | None],
    incoming: tuple[datetime | None, datetime | None],
    expected: bool,
) -> None:
    assert (
        is_stale(
            stored_updated_at=stored[0],
            stored_event_at=stored[1],
            updated_at=incoming[0],
            event_at=incoming[1],
        )
        is expected
    )
