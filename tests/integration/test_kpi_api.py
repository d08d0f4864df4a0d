"""GET /api/kpis, /api/kpis/timeseries, /api/cohorts, /api/products/repurchase over HTTP."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from shopify_app.models import Shop
from shopify_app.web.dashboard import kpi_api
from tests.support.kpi_example import EXAMPLE_NOW
from tests.support.kpi_example import add_order
from tests.support.kpi_example import build_example
from tests.support.kpi_example import local
from tests.support.shopify import make_session_token

PERIOD = {"from": "2026-02-01", "to": "2026-02-28"}
PATHS_WITH_RANGE = ("/api/kpis", "/api/cohorts", "/api/kpis/timeseries")


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kpi_api, "_now", lambda: EXAMPLE_NOW)


@pytest.fixture
def shops(session: Session, make_shop: Callable[..., Shop]) -> tuple[Shop, Shop]:
    """Shop A with the worked example; shop B with a big order of its own."""
    alpha = make_shop("alpha.myshopify.com", iana_timezone="America/New_York")
    beta = make_shop("beta.myshopify.com", access_token="shpat_beta", currency="EUR")
    build_example(session, alpha.id)
    add_order(
        session,
        beta.id,
        at=local(2026, 2, 10),
        amount="999.00",
        currency="EUR",
        email="b@example.com",
        products=(501,),
    )
    add_order(
        session,
        beta.id,
        at=local(2026, 2, 11),
        amount="1.00",
        currency="EUR",
        email="b@example.com",
        products=(501,),
    )
    session.commit()
    return alpha, beta


def get(client: FlaskClient, path: str, shop: Shop, **query: str) -> Any:
    token = make_session_token(shop.domain)
    return client.get(path, query_string=query, headers={"Authorization": f"Bearer {token}"})


def test_kpis_return_documented_keys_with_money_as_strings_and_rates_as_numbers(
    client: FlaskClient, shops: tuple[Shop, Shop]
) -> None:
    response = get(client, "/api/kpis", shops[0], **PERIOD)

    assert response.status_code == 200
    body = response.get_json()
    assert body["currency"] == "USD"
    assert (body["customers"], body["orders"]) == (5, 8)
    assert body["gross_revenue"] == "270.00"
    assert body["net_revenue"] == "240.00"
    assert body["average_order_value"] == "38.57"
    assert body["historic_clv"] == "54.00"
    assert body["purchase_frequency"] == pytest.approx(1.6)
    assert body["repeat_purchase_rate"] == pytest.approx(0.4)
    assert body["returning_customer_rate"] == pytest.approx(0.6)
    assert body["customer_retention_rate"] == pytest.approx(2 / 3)
    assert body["median_days_between_orders"] == 7
    assert body["repeat_within_90_days_rate"] == pytest.approx(2 / 3)
    assert (body["from"], body["to"]) == ("2026-02-01", "2026-02-28")


def test_kpis_include_the_previous_period_and_the_change(
    client: FlaskClient, shops: tuple[Shop, Shop]
) -> None:
    body = get(client, "/api/kpis", shops[0], **PERIOD).get_json()

    previous = body["previous"]
    assert (previous["from"], previous["to"]) == ("2026-01-04", "2026-01-31")
    assert previous["gross_revenue"] == "10.00"
    assert previous["repeat_purchase_rate"] == 0
    assert body["change"]["gross_revenue"] == pytest.approx(26.0)
    assert body["change"]["repeat_purchase_rate"] is None


def test_a_token_for_one_shop_never_sees_another_shops_numbers(
    client: FlaskClient, shops: tuple[Shop, Shop]
) -> None:
    alpha, beta = shops

    alpha_body = get(client, "/api/kpis", alpha, **PERIOD).get_json()
    beta_body = get(client, "/api/kpis", beta, **PERIOD).get_json()
    beta_products = get(client, "/api/products/repurchase", beta).get_json()

    assert alpha_body["gross_revenue"] == "270.00"
    assert (beta_body["orders"], beta_body["gross_revenue"], beta_body["currency"]) == (
        2,
        "1000.00",
        "EUR",
    )
    assert beta_products["products"][0]["buyers"] == 1


def test_an_empty_period_returns_nulls_not_zeros(
    client: FlaskClient, shops: tuple[Shop, Shop]
) -> None:
    body = get(client, "/api/kpis", shops[0], **{"from": "2024-01-01", "to": "2024-01-31"})

    data = body.get_json()
    assert data["customers"] == 0
    assert data["average_order_value"] is None
    assert data["repeat_purchase_rate"] is None
    assert data["historic_clv"] is None


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"from": "2026-02-31", "to": "2026-03-01"}, "from must be a date"),
        ({"from": "2026-03-02", "to": "2026-03-01"}, "on or before"),
        ({"from": "2020-01-01", "to": "2026-01-01"}, "at most 5 years"),
        ({"to": "2026-03-01"}, "required"),
    ],
)
def test_bad_ranges_are_refused_as_json_with_a_message(
    client: FlaskClient,
    make_shop: Callable[..., Shop],
    query: dict[str, str],
    message: str,
) -> None:
    shop = make_shop()

    responses = [get(client, path, shop, **query) for path in PATHS_WITH_RANGE]

    assert [r.status_code for r in responses] == [400, 400, 400]
    assert all(message in r.get_json()["error"]["message"] for r in responses)


def test_kpis_without_a_session_token_are_refused(client: FlaskClient) -> None:
    response = client.get("/api/kpis", query_string=PERIOD)

    assert response.status_code == 401


def test_cohorts_mark_incomplete_offsets_instead_of_zero(
    client: FlaskClient, shops: tuple[Shop, Shop]
) -> None:
    body = get(client, "/api/cohorts", shops[0], **{"from": "2025-11-01", "to": "2026-02-28"})

    data = body.get_json()
    assert data["offsets"] == list(range(1, 13))
    february = data["cohorts"][-1]
    assert (february["month"], february["size"]) == ("2026-02", 3)
    assert february["cells"][0]["share"] == pytest.approx(1 / 3)
    assert february["cells"][0]["cumulative_share"] == pytest.approx(2 / 3)
    assert february["cells"][3] == {
        "offset": 4,
        "customers": None,
        "share": None,
        "cumulative_share": None,
        "is_complete": False,
    }


def test_timeseries_returns_weekly_repeat_rate_and_revenue_split(
    client: FlaskClient, shops: tuple[Shop, Shop]
) -> None:
    body = get(
        client, "/api/kpis/timeseries", shops[0], **{"from": "2026-02-03", "to": "2026-02-10"}
    )

    weeks = body.get_json()["weeks"]
    assert [w["week_start"] for w in weeks] == ["2026-02-02", "2026-02-09"]
    assert weeks[0]["repeat_rate"] == 0.5
    assert weeks[0]["new_customer_revenue"] == "30.00"
    assert weeks[0]["returning_customer_revenue"] == "100.00"


def test_top_repurchased_products_list_share_and_median_days(
    client: FlaskClient, shops: tuple[Shop, Shop]
) -> None:
    body = get(client, "/api/products/repurchase", shops[0]).get_json()

    assert body["products"] == [
        {
            "product_id": 501,
            "title": "Product 501",
            "buyers": 3,
            "repurchasers": 2,
            "repurchase_rate": pytest.approx(2 / 3),
            "median_days_to_repurchase": 7,
        }
    ]


def test_a_product_limit_out_of_range_is_refused(
    client: FlaskClient, make_shop: Callable[..., Shop]
) -> None:
    response = get(client, "/api/products/repurchase", make_shop(), limit="500")

    assert response.status_code == 400
    assert "limit" in response.get_json()["error"]["message"]
