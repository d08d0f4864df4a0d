"""Customer retention reads per-day activity deltas that match counting customer days."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import delete
from sqlalchemy import select
from sqlalchemy.orm import Session

from jobs.rollups import rebuild_shop_rollups
from shopify_app import migrations_runner
from shopify_app.analytics import kpis
from shopify_app.analytics.rollups.facts import DEFAULT_ACTIVE_DAYS
from shopify_app.analytics.rollups.facts import active_spans
from shopify_app.analytics.rollups.rebuild import rebuild_rollups
from shopify_app.analytics.rollups.tables import tracked_active_windows
from shopify_app.db import Database
from shopify_app.models import RollupActiveDay
from shopify_app.models import Shop
from tests.integration.test_rollups import play_event_stream
from tests.support.kpi_example import EXAMPLE_NOW
from tests.support.kpi_example import add_customer
from tests.support.kpi_example import add_order
from tests.support.kpi_example import local
from tests.support.rollups import rollup_rows

SHORT_WINDOW = 9


def test_order_days_within_the_window_merge_into_one_active_span() -> None:
    days = [date(2026, 1, 1), date(2026, 1, 10), date(2026, 1, 25), date(2026, 1, 25)]

    # Active 1..9 January; the order on the 10th continues the span without a gap.
    assert active_spans(days, SHORT_WINDOW) == [
        (date(2026, 1, 1), date(2026, 1, 19)),
        (date(2026, 1, 25), date(2026, 2, 3)),
    ]


def retention_counts(session: Session, shop_id: int, *, active_days: int) -> list[tuple[int, int]]:
    """Return (active at start, active at end) of many periods and their previous periods."""
    counts = []
    for offset in range(0, 100, 7):
        start = date(2025, 12, 20) + timedelta(days=offset)
        for length in (1, 5, 30):
            summary = kpis.load_summary(
                session,
                shop_id=shop_id,
                period_start=start,
                period_end=start + timedelta(days=length - 1),
                now=EXAMPLE_NOW,
                active_days=active_days,
            )
            for values in (summary.current, summary.previous):
                counts.append((values.customers_active_at_start, values.customers_active_at_end))
    return counts


def test_kept_deltas_and_counting_customer_days_give_the_same_retention(
    session: Session, make_shop: Callable[..., Shop]
) -> None:
    shop = make_shop("alpha.myshopify.com", iana_timezone="America/New_York")
    play_event_stream(session, shop.id, seed=7, events=60)
    rebuild_rollups(session, shop_id=shop.id, now=EXAMPLE_NOW, active_days=[SHORT_WINDOW])
    session.commit()
    assert tracked_active_windows(session, shop_id=shop.id) == {DEFAULT_ACTIVE_DAYS, SHORT_WINDOW}

    from_deltas = {n: retention_counts(session, shop.id, active_days=n) for n in (9, 365)}
    session.execute(delete(RollupActiveDay).where(RollupActiveDay.shop_id == shop.id))
    from_customer_days = {n: retention_counts(session, shop.id, active_days=n) for n in (9, 365)}

    assert any(end for _, end in from_deltas[SHORT_WINDOW]), "no activity: the test proves nothing"
    assert from_deltas[SHORT_WINDOW] != from_deltas[DEFAULT_ACTIVE_DAYS]
    assert from_deltas == from_customer_days


def test_a_kept_short_window_stays_identical_to_a_rebuild_through_an_event_stream(
    session: Session, make_shop: Callable[..., Shop]
) -> None:
    shop = make_shop("alpha.myshopify.com", iana_timezone="America/New_York")
    add_order(session, shop.id, at=local(2025, 12, 1), amount="5.00", email="seed@example.com")
    rebuild_rollups(session, shop_id=shop.id, now=EXAMPLE_NOW, active_days=[SHORT_WINDOW])
    play_event_stream(session, shop.id, seed=20261123, events=90)
    session.commit()

    incremental = rollup_rows(session, shop.id)
    rebuild_rollups(session, shop_id=shop.id, now=EXAMPLE_NOW)

    assert {row[1] for row in incremental["rollup_active_days"]} == {
        SHORT_WINDOW,
        DEFAULT_ACTIVE_DAYS,
    }
    assert rollup_rows(session, shop.id) == incremental


def test_a_window_the_shop_does_not_keep_is_counted_from_customer_days(
    session: Session, make_shop: Callable[..., Shop]
) -> None:
    shop = make_shop("alpha.myshopify.com", iana_timezone="America/New_York")
    ann = add_customer(session, shop.id, "Ann")
    add_order(session, shop.id, at=local(2026, 1, 5), amount="10.00", customer=ann)
    add_order(session, shop.id, at=local(2026, 1, 20), amount="10.00", customer=ann)

    kept = session.scalars(select(RollupActiveDay.active_days).distinct()).all()
    summary = kpis.load_summary(
        session,
        shop_id=shop.id,
        period_start=date(2026, 1, 25),
        period_end=date(2026, 1, 31),
        now=EXAMPLE_NOW,
        active_days=SHORT_WINDOW,
    )

    assert kept == [DEFAULT_ACTIVE_DAYS]
    # Active on 24 January with a 9-day window: an order on 16..24 January (the one on the 20th).
    assert summary.current.customers_active_at_start == 1
    # Active on 31 January: an order on 23..31 January: none.
    assert summary.current.customers_active_at_end == 0


@pytest.mark.parametrize("settings_overrides", [{"RETENTION_ACTIVE_DAYS": "30"}])
def test_the_nightly_job_starts_keeping_a_changed_retention_window(
    app: Flask, session: Session, make_shop: Callable[..., Shop]
) -> None:
    shop = make_shop("alpha.myshopify.com")
    add_order(session, shop.id, at=local(2026, 1, 5), amount="10.00", email="a@example.com")
    session.commit()
    assert tracked_active_windows(session, shop_id=shop.id) == {DEFAULT_ACTIVE_DAYS}
    session.commit()  # end the read, so the job can write

    rebuild_shop_rollups(app, shop.id, now=EXAMPLE_NOW)

    assert tracked_active_windows(session, shop_id=shop.id) == {DEFAULT_ACTIVE_DAYS, 30}


@pytest.fixture
def scratch_database_url(empty_database_url: str) -> str:
    """Return an empty database of its own, for moving the schema up and down."""
    return empty_database_url


def test_the_migration_derives_the_new_aggregates_from_existing_rollups(
    scratch_database_url: str,
) -> None:
    migrations_runner.upgrade(scratch_database_url)
    database = Database(scratch_database_url)
    with database.session_factory() as session:
        shop = Shop(domain="alpha.myshopify.com", currency="USD", iana_timezone="Europe/Berlin")
        session.add(shop)
        session.flush()
        shop_id = shop.id
        play_event_stream(session, shop_id, seed=99, events=60)
        session.commit()
        kept = rollup_rows(session, shop_id)
    database.dispose()
    assert kept["rollup_active_days"], "no deltas: the test proves nothing"
    assert any(row[-1] for row in kept["rollup_days"]), "no quick repeats: the test proves nothing"

    migrations_runner.downgrade(scratch_database_url, "0005")
    migrations_runner.upgrade(scratch_database_url)

    database = Database(scratch_database_url)
    with database.session_factory() as session:
        assert rollup_rows(session, shop_id) == kept
    database.dispose()
