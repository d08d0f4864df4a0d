"""Holdout assignment and quiet hours: pure rules, checked without a database."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from datetime import time
from zoneinfo import ZoneInfo

from shopify_app.messaging.rules import QuietHours
from shopify_app.messaging.rules import is_in_holdout
from shopify_app.messaging.rules import quiet_hours_end

NEW_YORK = ZoneInfo("America/New_York")
NIGHT = QuietHours(start=time(21, 0), end=time(8, 0))


def test_holdout_keeps_close_to_its_share_of_ten_thousand_customers() -> None:
    held = sum(
        is_in_holdout(shop_id=1, flow="winback", buyer=str(i), share=0.1) for i in range(10_000)
    )

    assert 900 <= held <= 1100  # 10% +- 1 point is more than 3 standard deviations


def test_holdout_assignment_is_stable_and_differs_between_flows_and_shops() -> None:
    first = [is_in_holdout(shop_id=1, flow="a", buyer=str(i), share=0.1) for i in range(2000)]
    again = [is_in_holdout(shop_id=1, flow="a", buyer=str(i), share=0.1) for i in range(2000)]
    other_flow = [is_in_holdout(shop_id=1, flow="b", buyer=str(i), share=0.1) for i in range(2000)]
    other_shop = [is_in_holdout(shop_id=2, flow="a", buyer=str(i), share=0.1) for i in range(2000)]

    assert first == again
    assert first != other_flow
    assert first != other_shop


def test_zero_share_holds_out_nobody() -> None:
    assert not any(is_in_holdout(shop_id=1, flow="a", buyer=str(i), share=0) for i in range(500))


def test_quiet_hours_end_at_eight_local_after_the_spring_forward_night() -> None:
    # 2026-03-08 02:00 EST jumps to 03:00 EDT; 08:00 EDT is 12:00 UTC (it was 13:00 UTC before).
    late_evening = datetime(2026, 3, 8, 2, 30, tzinfo=UTC)  # 21:30 EST on March 7

    assert quiet_hours_end(late_evening, zone=NEW_YORK, quiet=NIGHT) == datetime(
        2026, 3, 8, 12, 0, tzinfo=UTC
    )


def test_quiet_hours_end_at_eight_local_after_the_fall_back_night() -> None:
    # 2026-11-01 02:00 EDT falls back to 01:00 EST; 08:00 EST is 13:00 UTC.
    small_hours = datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # 01:30 EDT, first pass

    assert quiet_hours_end(small_hours, zone=NEW_YORK, quiet=NIGHT) == datetime(
        2026, 11, 1, 13, 0, tzinfo=UTC
    )


def test_daytime_is_not_quiet_and_an_equal_start_and_end_disable_quiet_hours() -> None:
    noon = datetime(2026, 3, 9, 16, 0, tzinfo=UTC)  # 12:00 EDT

    assert quiet_hours_end(noon, zone=NEW_YORK, quiet=NIGHT) is None
    night = datetime(2026, 3, 9, 3, 0, tzinfo=UTC)
    assert quiet_hours_end(night, zone=NEW_YORK, quiet=None) is None


def test_quiet_window_inside_one_day_is_respected() -> None:
    lunch = QuietHours(start=time(12, 0), end=time(13, 30))
    at = datetime(2026, 6, 1, 16, 15, tzinfo=UTC)  # 12:15 EDT

    assert quiet_hours_end(at, zone=NEW_YORK, quiet=lunch) == datetime(
        2026, 6, 1, 17, 30, tzinfo=UTC
    )
