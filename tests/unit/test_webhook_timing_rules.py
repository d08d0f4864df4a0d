"""Pure rules of the webhook pipeline: retry backoff and the trigger-time header."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from datetime import timedelta

import pytest

from webhooks.inbox import RetryPolicy
from webhooks.verification import parse_triggered_at


def test_backoff_doubles_after_each_failure_and_stops_growing_at_the_cap() -> None:
    policy = RetryPolicy(
        max_attempts=9, base_delay=timedelta(minutes=1), max_delay=timedelta(hours=1)
    )

    delays = [policy.delay_after(attempts) for attempts in range(1, 9)]

    assert delays[:4] == [timedelta(minutes=m) for m in (1, 2, 4, 8)]
    assert delays[-2:] == [timedelta(hours=1), timedelta(hours=1)]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2026-03-10T15:00:00.123456789Z", datetime(2026, 3, 10, 15, 0, 0, 123456, tzinfo=UTC)),
        ("2026-03-10T10:00:00-05:00", datetime(2026, 3, 10, 15, 0, tzinfo=UTC)),
        ("2026-03-10T15:00:00", datetime(2026, 3, 10, 15, 0, tzinfo=UTC)),
        ("yesterday", None),
        ("", None),
        (None, None),
    ],
)
def test_trigger_time_header_is_read_as_aware_utc_or_left_empty(
    raw: str | None, expected: datetime | None
) -> None:
    assert parse_triggered_at(raw) == expected
