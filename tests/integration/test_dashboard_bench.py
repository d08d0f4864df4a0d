"""The dashboard benchmark runs end to end at a tiny size on both backends and checks itself."""

from __future__ import annotations

import pytest

from bench import dashboard
from tests.support import database as test_db


@pytest.mark.slow
def test_dashboard_benchmark_runs_at_a_tiny_size_and_agrees_with_the_full_scan(
    postgres_database: str,
) -> None:
    results = dashboard.main(
        [
            "--orders",
            "400",
            "--customers",
            "80",
            "--repeat",
            "2",
            "--postgres-url",
            test_db.postgres_url(),
            "--schema",
            "bench_dashboard_smoke",
        ]
    )

    assert [r.backend for r in results] == ["sqlite", "postgresql"]
    for result in results:
        assert result.shop.orders == 400
        # Test and cancelled orders are generated too, and the scan leaves them out as the API does.
        assert 0 < result.orders_checked < 400
        assert result.kpis_30_days.p50_ms > 0
        assert result.kpis_365_days_after_order.p50_ms > 0
        assert result.compute_365_days.p50_ms > 0
        assert set(result.page_requests) == set(dashboard.PAGE_REQUESTS)
        assert result.cohorts_12_months.p95_ms >= result.cohorts_12_months.p50_ms
