"""KPI snapshots: reused while nothing changed, recomputed after orders, presets kept fresh."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from datetime import timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.orm import Session

from shopify_app.analytics import kpi_snapshots
from shopify_app.analytics import kpis
from shopify_app.analytics.rollups.incremental import note_order_changed
from shopify_app.analytics.rollups.rebuild import rebuild_rollups
from shopify_app.analytics.rollups.tables import current_version
from shopify_app.db import Database
from shopify_app.models import KpiSnapshot
from shopify_app.models import Shop
from shopify_app.web.dashboard import kpi_api
from tests.support.kpi_example import EXAMPLE_NOW
from tests.support.kpi_example import Example
from tests.support.kpi_example import add_order
from tests.support.kpi_example import add_refund
from tests.support.kpi_example import local
from tests.support.shopify import make_session_token

TODAY = date(2026, 6, 15)  # EXAMPLE_NOW in New York
LAST_30_DAYS = kpis.Period(start=TODAY - timedelta(days=29), end=TODAY)
CUSTOM = kpis.Period(start=date(2026, 2, 1), end=date(2026, 2, 28))
MAX_STALE = timedelta(minutes=10)


@pytest.fixture
def shop(example_shop: Shop) -> Shop:
    """The shop of the worked example: these tests read its KPIs."""
    return example_shop


def read(session: Session, shop: Shop, period: kpis.Period, **changes: Any) -> Any:
    arguments: dict[str, Any] = {
        "shop_id": shop.id,
        "period": period,
        "now": EXAMPLE_NOW,
        "active_days": 365,
        "max_stale": MAX_STALE,
        **changes,
    }
    reading = kpi_snapshots.read_summary(session, **arguments)
    session.commit()
    return reading


def forbid_computing(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the summary was computed, not read from its snapshot")

    monkeypatch.setattr(kpis, "load_summary", fail)


def test_a_snapshot_holds_exactly_what_computing_gives(
    session: Session, shop: Shop, example: Example
) -> None:
    live = kpis.load_summary(
        session,
        shop_id=shop.id,
        period_start=CUSTOM.start,
        period_end=CUSTOM.end,
        now=EXAMPLE_NOW,
        active_days=365,
    )
    first = read(session, shop, CUSTOM)
    stored = session.get(KpiSnapshot, (shop.id, CUSTOM.start, CUSTOM.end, 365))

    assert first.summary == live
    assert stored is not None
    assert kpi_snapshots.decode_summary(stored.summary) == live
    version = current_version(session, shop_id=shop.id)
    assert (stored.local_day, stored.rollup_version) == (TODAY, version)
    assert first.is_current is True
    assert first.computed_at == EXAMPLE_NOW


def test_an_unchanged_shop_is_answered_from_the_snapshot(
    session: Session, shop: Shop, example: Example, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = read(session, shop, CUSTOM)
    forbid_computing(monkeypatch)

    again = read(session, shop, CUSTOM, now=EXAMPLE_NOW + timedelta(hours=3))

    assert again.summary == first.summary
    assert again.is_current is True
    assert again.computed_at == EXAMPLE_NOW


@pytest.mark.parametrize("period", [LAST_30_DAYS, CUSTOM], ids=["preset", "custom"])
def test_a_snapshot_lags_behind_a_new_order_only_up_to_the_staleness_limit(
    session: Session, shop: Shop, example: Example, period: kpis.Period
) -> None:
    before = read(session, shop, period).summary.current
    at = local(2026, 6, 14) if period == LAST_30_DAYS else local(2026, 2, 20)
    add_order(session, shop.id, at=at, amount="25.00", email="late@example.com")
    session.commit()

    lagging = read(session, shop, period, now=EXAMPLE_NOW + timedelta(minutes=9))
    recomputed = read(session, shop, period, now=EXAMPLE_NOW + timedelta(minutes=11))

    assert lagging.is_current is False
    assert lagging.computed_at == EXAMPLE_NOW
    assert lagging.summary.current.orders == before.orders
    assert recomputed.is_current is True
    assert recomputed.summary.current.orders == before.orders + 1
    assert recomputed.summary.current.customers == before.customers + 1


def test_no_staleness_allowed_means_every_change_recomputes(
    session: Session, shop: Shop, example: Example
) -> None:
    before = read(session, shop, LAST_30_DAYS, max_stale=timedelta(0)).summary.current
    add_order(session, shop.id, at=local(2026, 6, 14), amount="25.00", email="late@example.com")
    session.commit()

    after = read(
        session, shop, LAST_30_DAYS, now=EXAMPLE_NOW + timedelta(seconds=1), max_stale=timedelta(0)
    )

    assert after.is_current is True
    assert after.summary.current.orders == before.orders + 1


def test_a_snapshot_from_an_earlier_local_day_is_never_served(
    session: Session, shop: Shop, example: Example
) -> None:
    read(session, shop, CUSTOM)
    # 04:30 UTC on the 16th is 00:30 in New York: a new local day.
    next_morning = EXAMPLE_NOW + timedelta(hours=12, minutes=30)

    again = read(session, shop, CUSTOM, now=next_morning)

    assert again.computed_at == next_morning
    stored = session.get(KpiSnapshot, (shop.id, CUSTOM.start, CUSTOM.end, 365))
    assert stored is not None
    assert stored.local_day == date(2026, 6, 16)


def test_a_snapshot_is_kept_per_activity_window(
    session: Session, shop: Shop, example: Example
) -> None:
    year = read(session, shop, CUSTOM).summary
    quarter = read(session, shop, CUSTOM, active_days=90).summary

    assert (year.active_days, quarter.active_days) == (365, 90)
    assert session.scalar(select(func.count()).select_from(KpiSnapshot)) == 2


def test_the_refresh_job_computes_presets_and_requested_periods_once_per_change(
    database: Database, session: Session, shop: Shop, example: Example
) -> None:
    presets = len(kpi_snapshots.PRESET_PERIOD_DAYS)

    def refresh(now: Any = EXAMPLE_NOW) -> int:
        return kpi_snapshots.refresh_snapshots(
            database.session_scope, shop_id=shop.id, now=now, active_days=365
        )

    assert refresh() == presets
    assert refresh(EXAMPLE_NOW + timedelta(minutes=1)) == 0
    read(session, shop, CUSTOM, now=EXAMPLE_NOW + timedelta(minutes=1))

    add_order(session, shop.id, at=local(2026, 2, 15, 9), amount="25.00", email="n@example.com")
    session.commit()
    assert refresh(EXAMPLE_NOW + timedelta(minutes=2)) == presets + 1
    for period in (LAST_30_DAYS, CUSTOM):
        fresh = read(session, shop, period, now=EXAMPLE_NOW + timedelta(minutes=2))
        assert fresh.is_current is True
        assert fresh.computed_at == EXAMPLE_NOW + timedelta(minutes=2)

    # A new local day: yesterday's snapshots go and today's presets are computed.
    assert refresh(EXAMPLE_NOW + timedelta(days=1)) == len(kpi_snapshots.PRESET_PERIOD_DAYS)
    days = set(session.scalars(select(KpiSnapshot.local_day)))
    assert days == {TODAY + timedelta(days=1)}


def test_an_order_update_that_changes_nothing_keeps_snapshots_current(
    session: Session, shop: Shop, example: Example
) -> None:
    version = current_version(session, shop_id=shop.id)
    order = example.orders["a1"]

    note_order_changed(session, shop_id=shop.id, order_id=order.id)
    assert current_version(session, shop_id=shop.id) == version

    add_refund(session, order, at=local(2026, 2, 3), amount="1.00")
    assert current_version(session, shop_id=shop.id) == version + 1
    rebuild_rollups(session, shop_id=shop.id, now=EXAMPLE_NOW)
    assert current_version(session, shop_id=shop.id) == version + 2


def test_an_older_computation_never_overwrites_a_newer_snapshot(
    session: Session, shop: Shop, example: Example
) -> None:
    read(session, shop, CUSTOM)
    add_order(session, shop.id, at=local(2026, 2, 20), amount="40.00", email="new@example.com")
    session.commit()
    newer = read(
        session, shop, CUSTOM, now=EXAMPLE_NOW + timedelta(seconds=5), max_stale=timedelta(0)
    )
    assert newer.is_current is True

    kpi_snapshots._compute(
        session,
        shop_id=shop.id,
        period=CUSTOM,
        now=EXAMPLE_NOW + timedelta(seconds=9),
        active_days=365,
        today=TODAY,
        version=0,
    )
    session.commit()

    stored = session.get(KpiSnapshot, (shop.id, CUSTOM.start, CUSTOM.end, 365))
    assert stored is not None
    assert stored.computed_at == newer.computed_at
    assert stored.rollup_version == current_version(session, shop_id=shop.id)


def test_the_api_says_when_its_figures_were_computed(
    client: FlaskClient,
    session: Session,
    shop: Shop,
    example: Example,
    make_shop: Callable[..., Shop],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(kpi_api, "_now", lambda: EXAMPLE_NOW)
    other = make_shop("beta.myshopify.com", access_token="shpat_beta")
    add_order(session, other.id, at=local(2026, 2, 10), amount="999.00", email="b@example.com")
    session.commit()
    query = {"from": CUSTOM.start.isoformat(), "to": CUSTOM.end.isoformat()}

    def get(target: Shop) -> Any:
        headers = {"Authorization": f"Bearer {make_session_token(target.domain)}"}
        return client.get("/api/kpis", query_string=query, headers=headers).get_json()

    alpha, beta = get(shop), get(other)

    assert alpha["computed_at"] == "2026-06-15T16:00:00+00:00"
    assert alpha["is_current"] is True
    # Each shop has its own snapshot of the same period.
    assert (alpha["orders"], beta["orders"]) == (8, 1)
    assert session.scalar(select(func.count()).select_from(KpiSnapshot)) == 2
