"""Every KPI definition of docs/kpis.md, checked against its hand-computed worked example."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from shopify_app.analytics import kpis
from shopify_app.analytics.rollups.rebuild import rebuild_rollups
from shopify_app.db import Database
from shopify_app.models import Shop
from tests.support import database as test_db
from tests.support.kpi_example import EXAMPLE_NOW
from tests.support.kpi_example import EXAMPLE_PERIOD
from tests.support.kpi_example import Example
from tests.support.kpi_example import add_order
from tests.support.kpi_example import build_example
from tests.support.kpi_example import local


def summary(session: Session, shop_id: int) -> kpis.KpiSummary:
    start, end = EXAMPLE_PERIOD
    return kpis.load_summary(
        session, shop_id=shop_id, period_start=start, period_end=end, now=EXAMPLE_NOW
    )


def test_counts_and_money_follow_the_worked_example(session: Session, example: Example) -> None:
    values = summary(session, example.shop_id).current

    assert values.orders == 8
    assert values.customers == 5
    assert values.new_customers == 3
    assert values.gross_revenue == Decimal("270.00")
    assert values.refunds == Decimal("30.00")
    assert values.net_revenue == Decimal("240.00")
    assert values.average_order_value == Decimal("38.57")
    assert values.purchase_frequency == pytest.approx(1.6)


def test_repeat_and_returning_rates_differ_as_documented(
    session: Session, example: Example
) -> None:
    values = summary(session, example.shop_id).current

    assert values.repeat_purchase_rate == pytest.approx(0.4)
    assert values.returning_customer_rate == pytest.approx(0.6)


def test_retention_counts_customers_active_in_the_trailing_window(
    session: Session, example: Example
) -> None:
    values = summary(session, example.shop_id).current

    assert values.customers_active_at_start == 3
    assert values.customers_active_at_end == 5
    assert values.customer_retention_rate == pytest.approx(2 / 3)


def test_historic_clv_mean_and_median_include_the_unpriced_customer(
    session: Session, example: Example
) -> None:
    values = summary(session, example.shop_id).current

    assert values.historic_clv == Decimal("54.00")
    assert values.historic_clv_median == Decimal("40.00")


def test_days_between_orders_pool_same_day_and_tied_gaps_inside_the_period(
    session: Session, example: Example
) -> None:
    values = summary(session, example.shop_id).current

    assert values.median_days_between_orders == 7
    assert values.mean_days_between_orders == pytest.approx(14 / 3)


def test_ninety_day_repeat_rate_counts_first_orders_whose_window_has_passed(
    session: Session, example: Example
) -> None:
    values = summary(session, example.shop_id).current

    assert values.repeat_within_90_days_eligible == 3
    assert values.repeat_within_90_days_rate == pytest.approx(2 / 3)


def test_ninety_day_repeat_rate_leaves_out_customers_whose_window_is_still_open(
    session: Session, example: Example
) -> None:
    values = kpis.load_summary(
        session,
        shop_id=example.shop_id,
        period_start=date(2026, 2, 1),
        period_end=date(2026, 2, 28),
        now=local(2026, 5, 10, 12),
    ).current

    # B's window (Feb 5 + 90 = May 6) has passed; D's (May 15) and C's (May 29) have not.
    assert values.repeat_within_90_days_eligible == 1
    assert values.repeat_within_90_days_rate == 1.0


def test_ninety_day_repeat_rate_is_null_on_the_last_day_of_the_only_window(
    session: Session, example: Example
) -> None:
    values = kpis.load_summary(
        session,
        shop_id=example.shop_id,
        period_start=date(2026, 2, 5),
        period_end=date(2026, 2, 5),
        now=local(2026, 5, 6, 23, 59),
    ).current

    assert values.repeat_within_90_days_eligible == 0
    assert values.repeat_within_90_days_rate is None


def test_previous_period_is_the_equal_length_before_and_excludes_the_late_local_order(
    session: Session, example: Example
) -> None:
    result = summary(session, example.shop_id)

    assert result.previous.period == kpis.Period(date(2026, 1, 4), date(2026, 1, 31))
    assert result.previous.orders == 1
    assert result.previous.customers == 1
    assert result.previous.gross_revenue == Decimal("10.00")


def test_order_at_2330_local_on_the_last_day_counts_in_the_period(
    session: Session, example: Example
) -> None:
    values = kpis.load_summary(
        session,
        shop_id=example.shop_id,
        period_start=date(2026, 2, 28),
        period_end=date(2026, 2, 28),
        now=EXAMPLE_NOW,
    ).current

    assert values.orders == 1
    assert values.gross_revenue == Decimal("60.00")


def test_empty_period_reports_null_rates_not_zero(session: Session, example: Example) -> None:
    values = kpis.load_summary(
        session,
        shop_id=example.shop_id,
        period_start=date(2024, 1, 1),
        period_end=date(2024, 1, 31),
        now=EXAMPLE_NOW,
    ).current

    assert values.customers == 0
    assert values.gross_revenue == Decimal("0.00")
    assert values.average_order_value is None
    assert values.purchase_frequency is None
    assert values.repeat_purchase_rate is None
    assert values.returning_customer_rate is None
    assert values.customer_retention_rate is None
    assert values.historic_clv is None
    assert values.median_days_between_orders is None


def test_cohorts_show_shares_and_mark_incomplete_offsets(
    session: Session, example: Example
) -> None:
    table = kpis.load_cohorts(
        session,
        shop_id=example.shop_id,
        period_start=date(2025, 11, 1),
        period_end=date(2026, 2, 28),
        now=EXAMPLE_NOW,
    )

    rows = {row.month: row for row in table.rows}
    assert [row.month for row in table.rows] == [
        date(2025, 11, 1),
        date(2025, 12, 1),
        date(2026, 1, 1),
        date(2026, 2, 1),
    ]
    november = rows[date(2025, 11, 1)]
    assert november.size == 1
    assert [c.share for c in november.cells[:6]] == [0.0, 0.0, 1.0, 0.0, 0.0, 0.0]
    assert [c.cumulative_share for c in november.cells[:6]] == [0.0, 0.0, 1.0, 1.0, 1.0, 1.0]
    assert [c.is_complete for c in november.cells] == [True] * 6 + [False] * 6
    assert november.cells[6].share is None
    assert rows[date(2025, 12, 1)].size == 0
    assert rows[date(2025, 12, 1)].cells[0].share is None
    january = rows[date(2026, 1, 1)]
    assert (january.size, january.cells[0].share) == (1, 1.0)
    february = rows[date(2026, 2, 1)]
    assert february.size == 3
    assert [c.share for c in february.cells[:3]] == pytest.approx([1 / 3, 0.0, 0.0])
    assert [c.cumulative_share for c in february.cells[:3]] == pytest.approx([2 / 3] * 3)
    assert [c.is_complete for c in february.cells[:4]] == [True, True, True, False]


def test_weekly_series_splits_new_and_returning_revenue(session: Session, example: Example) -> None:
    weeks = kpis.load_weekly_series(
        session,
        shop_id=example.shop_id,
        period_start=date(2026, 2, 2),
        period_end=date(2026, 2, 15),
        now=EXAMPLE_NOW,
    )

    first, second = weeks
    assert first.week_start == date(2026, 2, 2)
    assert (first.customers, first.returning_customers, first.repeat_rate) == (2, 1, 0.5)
    assert first.new_customer_revenue == Decimal("30.00")
    assert first.returning_customer_revenue == Decimal("100.00")
    assert second.week_start == date(2026, 2, 9)
    assert (second.customers, second.returning_customers) == (3, 2)
    assert second.new_customer_revenue == Decimal("20.00")
    assert second.returning_customer_revenue == Decimal("40.00")
    assert first.is_complete
    assert second.is_complete


def test_top_repurchased_product_reports_share_and_median_days(
    session: Session, example: Example
) -> None:
    products = kpis.load_top_repurchased_products(session, shop_id=example.shop_id)

    assert [p.product_id for p in products] == [501]
    top = products[0]
    assert (top.buyers, top.repurchasers) == (3, 2)
    assert top.repurchase_rate == pytest.approx(2 / 3)
    assert top.median_days_to_repurchase == 7
    assert top.title == "Product 501"


def test_cancelling_an_order_later_removes_it_and_its_refund(
    session: Session, example: Example
) -> None:
    order = example.orders["a2"]
    order.cancelled_at = local(2026, 3, 1)
    session.flush()
    from shopify_app.analytics.rollups.incremental import note_order_changed

    note_order_changed(session, shop_id=example.shop_id, order_id=order.id)
    values = summary(session, example.shop_id).current

    assert values.orders == 7
    assert values.gross_revenue == Decimal("170.00")
    assert values.refunds == Decimal("0.00")


def test_other_shops_orders_never_count(
    session: Session, example: Example, make_shop: Callable[..., Shop]
) -> None:
    other = make_shop("beta.myshopify.com", access_token="shpat_beta", iana_timezone="UTC")
    add_order(session, other.id, at=local(2026, 2, 10), amount="500.00", email="x@example.com")
    session.commit()

    values = summary(session, example.shop_id).current

    assert values.orders == 8
    assert values.gross_revenue == Decimal("270.00")


def all_results(url: str) -> tuple[object, ...]:
    """Build the worked example in the database at *url* and return every KPI read."""
    database = Database(url)
    try:
        with database.session_scope() as session:
            shop = Shop(domain="alpha.myshopify.com", iana_timezone="America/New_York")
            session.add(shop)
            session.flush()
            build_example(session, shop.id)
            start, end = EXAMPLE_PERIOD
            reads = dict(shop_id=shop.id, period_start=start, period_end=end, now=EXAMPLE_NOW)
            return (
                kpis.load_summary(session, **reads),
                kpis.load_cohorts(session, **{**reads, "period_start": date(2025, 1, 1)}),
                kpis.load_weekly_series(session, **reads),
                kpis.load_top_repurchased_products(session, shop_id=shop.id),
                rebuild_rollups(session, shop_id=shop.id, now=EXAMPLE_NOW),
                kpis.load_summary(session, **reads),
            )
    finally:
        database.dispose()


def test_sqlite_and_postgresql_compute_identical_kpis(
    sqlite_template: Path, postgres_database: str, tmp_path: Path
) -> None:
    sqlite_url = test_db.fresh_sqlite_copy(sqlite_template, tmp_path / "compare.sqlite3")
    postgres = Database(postgres_database)
    test_db.truncate_postgres(postgres.engine)
    postgres.dispose()

    on_sqlite = all_results(sqlite_url)
    on_postgres = all_results(postgres_database)

    assert on_sqlite == on_postgres
    assert on_sqlite[0] == on_sqlite[-1]
