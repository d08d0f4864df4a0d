"""Predicted CLV and churn risk: calibration from orders, prior or fitted model, at-risk API."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask.testing import FlaskCliRunner
from sqlalchemy import func
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy.orm import Session

from jobs.predictions import refresh_all_predictions
from shopify_app import predictions
from shopify_app.models import Customer
from shopify_app.models import CustomerPrediction
from shopify_app.models import Order
from shopify_app.models import Shop
from shopify_app.predictions import ModelStatus
from shopify_app.web.dashboard.predictions_api import escape_csv_cell
from tests.support.shopify import make_session_token

ALPHA = "alpha.myshopify.com"
BETA = "beta.myshopify.com"


class Store:
    """Write customers and orders for one shop straight into the tables the model reads."""

    def __init__(self, session: Session, shop: Shop) -> None:
        self.session = session
        self.shop_id = shop.id
        self._next_id = 1000 * shop.id

    def customer(self, **fields: Any) -> Customer:
        self._next_id += 1
        customer = Customer(shop_id=self.shop_id, shopify_id=self._next_id, **fields)
        self.session.add(customer)
        self.session.flush()
        return customer

    def orders(
        self, customer: Customer | None, *placed: tuple[datetime, str], **fields: Any
    ) -> None:
        rows = []
        for processed_at, total in placed:
            self._next_id += 1
            rows.append(
                {
                    "shop_id": self.shop_id,
                    "shopify_id": self._next_id,
                    "customer_id": customer.id if customer else None,
                    "processed_at": processed_at,
                    "currency": "USD",
                    "total_price": Decimal(total),
                    **fields,
                }
            )
        self.session.execute(insert(Order), rows)


def at(day: str, hour: int = 12) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


def auth(domain: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_session_token(domain)}"}


def simulate_bgnbd_store(
    store: Store, *, customers: int, now: datetime, seed: int
) -> dict[str, float]:
    """Write a seeded BG/NBD population (rates per day) with Gamma-Gamma order values."""
    truth = {"r": 0.6, "alpha": 40.0, "a": 0.7, "b": 3.0, "p": 6.0, "q": 4.0, "gamma": 50.0}
    rng = np.random.default_rng(seed)
    people = [Customer(shop_id=store.shop_id, shopify_id=900_000 + i) for i in range(customers)]
    store.session.add_all(people)
    store.session.flush()
    rows = []
    for person in people:
        rate = rng.gamma(truth["r"], 1 / truth["alpha"])
        dropout = rng.beta(truth["a"], truth["b"])
        spend_scale = rng.gamma(truth["q"], 1 / truth["gamma"])
        age = int(rng.integers(120, 540))
        times = [0.0]
        while True:
            elapsed = times[-1] + rng.exponential(1 / rate)
            if elapsed > age:
                break
            times.append(elapsed)
            if rng.random() < dropout:
                break
        first = now - timedelta(days=age)
        for elapsed in times:
            value = max(rng.gamma(truth["p"], 1 / spend_scale), 0.01)
            rows.append(
                {
                    "shop_id": store.shop_id,
                    "shopify_id": 5_000_000 + len(rows),
                    "customer_id": person.id,
                    "processed_at": first + timedelta(days=elapsed),
                    "currency": "USD",
                    "total_price": Decimal(f"{value:.2f}"),
                }
            )
    store.session.execute(insert(Order), rows)
    return truth


@pytest.fixture
def alpha_shop(make_shop: Callable[..., Shop]) -> Shop:
    return make_shop(ALPHA)


@pytest.fixture
def alpha_store(session: Session, alpha_shop: Shop) -> Store:
    return Store(session, alpha_shop)


def test_calibration_counts_purchase_days_in_shop_time_and_skips_test_and_cancelled_orders(
    session: Session, make_shop: Callable[..., Shop], now: datetime
) -> None:
    shop = make_shop(ALPHA, iana_timezone="America/New_York")
    store = Store(session, shop)
    buyer = store.customer(email="buyer@example.com")
    store.orders(
        buyer,
        (at("2026-01-01", 3), "10.00"),  # 22:00 on Dec 31 in New York: its own purchase day
        (at("2026-01-01", 15), "20.00"),
        (at("2026-01-01", 20), "5.00"),  # same local day as the one before: one purchase of 25
        (at("2026-01-21"), "40.00"),
        (at("2026-03-11"), "99.00"),  # after `now`
    )
    store.orders(buyer, (at("2026-01-11"), "100.00"), is_test=True)
    store.orders(buyer, (at("2026-02-01"), "50.00"), cancelled_at=at("2026-02-02"))
    store.orders(None, (at("2026-01-05"), "70.00"))  # a guest checkout
    only_test = store.customer()
    store.orders(only_test, (at("2026-01-05"), "70.00"), is_test=True)
    session.commit()

    summaries = predictions.build_calibration_summary(session, shop_id=shop.id, now=now)

    assert len(summaries) == 1
    summary = summaries[0]
    assert summary.customer_id == buyer.id
    assert summary.frequency == 2
    assert summary.recency_days == 21  # Dec 31 -> Jan 21
    assert summary.age_days == 69  # Dec 31 -> Mar 10
    assert summary.monetary_value == Decimal("32.50")  # (25 + 40) / 2: repeat purchases only
    assert summary.orders_count == 4
    assert summary.historic_revenue == Decimal("75.00")
    assert summary.first_order_at == at("2026-01-01", 3)
    assert summary.last_order_at == at("2026-01-21")


def test_small_shop_gets_the_prior_and_says_why(
    client: FlaskClient, session: Session, alpha_store: Store, now: datetime
) -> None:
    repeat = alpha_store.customer()
    alpha_store.orders(repeat, (at("2025-12-01"), "30.00"), (at("2026-01-15"), "50.00"))
    once = alpha_store.customer()
    alpha_store.orders(once, (at("2026-02-01"), "40.00"))
    session.commit()

    run = predictions.refresh_predictions(session, shop_id=alpha_store.shop_id, now=now)
    session.commit()
    again = predictions.refresh_predictions(session, shop_id=alpha_store.shop_id, now=now)
    session.commit()

    assert run.model_status is ModelStatus.PRIOR
    assert "Only 1 customer has ordered on more than one day" in run.reason
    assert "at least 50" in run.reason
    assert again.customers_scored == run.customers_scored == 2
    stored = session.scalars(
        select(CustomerPrediction).where(CustomerPrediction.shop_id == alpha_store.shop_id)
    ).all()
    assert len(stored) == 2
    assert all(p.expected_orders_365 > 0 and p.predicted_clv_365 > 0 for p in stored)
    session.rollback()  # end the read so the app can take SQLite's write lock
    body = client.get("/api/predictions/summary", headers=auth(ALPHA)).get_json()
    assert body["model_status"] == "prior"
    assert body["reason"] == run.reason
    assert body["parameters"]["r"] == pytest.approx(0.243)
    assert body["parameters"]["alpha"] == pytest.approx(4.414 * 7)
    # The prior's mean spend is scaled to this shop's average order: (30 + 50 + 40) / 3.
    p, q, gamma = (body["parameters"][k] for k in ("p", "q", "gamma"))
    assert p * gamma / (q - 1) == pytest.approx(40.0)
    assert body["customers_scored"] == 2
    assert body["repeat_buyers"] == 1
    assert body["time_unit"] == "days"
    assert Decimal(body["mean_predicted_clv_365"]) > 0
    assert body["expected_orders_next_90_days"] < body["expected_orders_next_365_days"]
    assert body["computed_at"] == now.isoformat()


def test_summary_before_the_first_refresh_is_pending_not_blank(
    client: FlaskClient, alpha_shop: Shop
) -> None:
    response = client.get("/api/predictions/summary", headers=auth(ALPHA))

    body = response.get_json()
    assert response.status_code == 200
    assert body["model_status"] == "pending"
    assert "not been computed" in body["reason"]
    assert body["customers_scored"] == 0


def test_shop_with_enough_simulated_repeat_buyers_gets_a_fitted_model_near_the_truth(
    client: FlaskClient, session: Session, alpha_store: Store, now: datetime
) -> None:
    truth = simulate_bgnbd_store(alpha_store, customers=800, now=now, seed=11)
    session.commit()

    run = predictions.refresh_predictions(session, shop_id=alpha_store.shop_id, now=now)
    session.commit()

    assert run.model_status is ModelStatus.FITTED, run.reason
    assert run.repeat_buyers >= predictions.MIN_REPEAT_BUYERS
    params = client.get("/api/predictions/summary", headers=auth(ALPHA)).get_json()["parameters"]
    assert params["r"] == pytest.approx(truth["r"], rel=0.15)
    assert params["alpha"] == pytest.approx(truth["alpha"], rel=0.15)
    dropout = params["a"] / (params["a"] + params["b"])
    assert dropout == pytest.approx(truth["a"] / (truth["a"] + truth["b"]), abs=0.05)
    mean_spend = params["p"] * params["gamma"] / (params["q"] - 1)
    assert mean_spend == pytest.approx(truth["p"] * truth["gamma"] / (truth["q"] - 1), rel=0.15)


def _arrange_at_risk_shop(store: Store) -> dict[str, Customer]:
    """Eight customers: one valuable and gone, one valuable and active, the rest small."""
    gone = store.customer(
        first_name='=HYPERLINK("http://evil.example","x")',
        last_name="Gone",
        email="@gone.example.com",
    )
    store.orders(
        gone,
        (at("2025-01-05"), "100.00"),
        (at("2025-01-20"), "100.00"),
        (at("2025-02-01"), "100.00"),
        (at("2025-02-14"), "100.00"),
    )
    active = store.customer(first_name="Ada", last_name="Active", email="ada@example.com")
    store.orders(
        active,
        (at("2026-01-05"), "150.00"),
        (at("2026-01-25"), "100.00"),
        (at("2026-02-10"), "100.00"),
        (at("2026-03-01"), "100.00"),
    )
    small_gone = store.customer(first_name="Sam", email="sam@example.com")
    store.orders(small_gone, (at("2025-01-05"), "10.00"), (at("2025-01-20"), "10.00"))
    for i in range(5):
        once = store.customer(first_name=f"Once {i}")
        store.orders(once, (at("2026-02-01"), "20.00"))
    return {"gone": gone, "active": active, "small_gone": small_gone}


def test_at_risk_lists_valuable_customers_who_are_probably_gone(
    client: FlaskClient, session: Session, alpha_store: Store, now: datetime
) -> None:
    people = _arrange_at_risk_shop(alpha_store)
    session.commit()
    predictions.refresh_predictions(session, shop_id=alpha_store.shop_id, now=now)
    session.commit()

    response = client.get("/api/customers/at-risk", headers=auth(ALPHA))

    body = response.get_json()
    assert response.status_code == 200
    assert body["p_alive_threshold"] == 0.5
    assert body["historic_revenue_at_least"] == "400.00"  # rank ceil(8 / 4) = 2 from the top
    assert [c["customer_id"] for c in body["customers"]] == [people["gone"].id]
    listed = body["customers"][0]
    assert listed["shopify_customer_id"] == people["gone"].shopify_id
    assert listed["name"] == '=HYPERLINK("http://evil.example","x") Gone'
    assert listed["email"] == "@gone.example.com"
    assert listed["last_order_date"] == "2025-02-14"
    assert listed["orders"] == 4
    assert listed["historic_revenue"] == "400.00"
    assert 0 <= listed["p_alive"] < 0.5
    assert Decimal(listed["predicted_clv_365"]) >= 0
    assert "expected_next_order_date" in listed


def test_a_higher_threshold_also_lists_the_less_likely_gone(
    client: FlaskClient, session: Session, alpha_store: Store, now: datetime
) -> None:
    people = _arrange_at_risk_shop(alpha_store)
    session.commit()
    predictions.refresh_predictions(session, shop_id=alpha_store.shop_id, now=now)
    session.commit()

    body = client.get("/api/customers/at-risk?p_alive_threshold=1", headers=auth(ALPHA)).get_json()

    assert [c["customer_id"] for c in body["customers"]] == [
        people["active"].id,
        people["gone"].id,
    ]


def test_at_risk_csv_is_an_attachment_with_formula_cells_defused(
    client: FlaskClient, session: Session, alpha_store: Store, now: datetime
) -> None:
    people = _arrange_at_risk_shop(alpha_store)
    session.commit()
    predictions.refresh_predictions(session, shop_id=alpha_store.shop_id, now=now)
    session.commit()

    response = client.get("/api/customers/at-risk?format=csv", headers=auth(ALPHA))

    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert len(rows) == 1
    row = rows[0]
    assert row["customer_id"] == str(people["gone"].id)
    assert row["name"] == '\'=HYPERLINK("http://evil.example","x") Gone'
    assert row["email"] == "'@gone.example.com"
    assert row["last_order_date"] == "2025-02-14"
    assert row["historic_revenue"] == "400.00"


@pytest.mark.parametrize(
    ("raw", "safe"),
    [
        ("=1+2", "'=1+2"),
        ("+1 555", "'+1 555"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("Ada Lovelace", "Ada Lovelace"),
        ("ada+shop@example.com", "ada+shop@example.com"),
    ],
)
def test_csv_cells_that_a_spreadsheet_would_run_are_prefixed(raw: str, safe: str) -> None:
    assert escape_csv_cell(raw) == safe


def test_a_shops_token_never_sees_another_shops_customers(
    client: FlaskClient,
    session: Session,
    make_shop: Callable[..., Shop],
    alpha_store: Store,
    now: datetime,
) -> None:
    beta_store = Store(session, make_shop(BETA, access_token="shpat_beta"))
    alpha_people = _arrange_at_risk_shop(alpha_store)
    beta_people = _arrange_at_risk_shop(beta_store)
    session.commit()
    predictions.refresh_predictions(session, shop_id=alpha_store.shop_id, now=now)
    predictions.refresh_predictions(session, shop_id=beta_store.shop_id, now=now)
    session.commit()

    alpha = client.get("/api/customers/at-risk?p_alive_threshold=1", headers=auth(ALPHA))
    beta_csv = client.get("/api/customers/at-risk?format=csv", headers=auth(BETA))
    alpha_summary = client.get("/api/predictions/summary", headers=auth(ALPHA)).get_json()

    alpha_ids = {c["customer_id"] for c in alpha.get_json()["customers"]}
    assert alpha_ids == {alpha_people["gone"].id, alpha_people["active"].id}
    beta_ids = {row["customer_id"] for row in csv.DictReader(io.StringIO(beta_csv.get_data(True)))}
    assert beta_ids == {str(beta_people["gone"].id)}
    assert alpha_summary["customers_scored"] == 8


@pytest.mark.parametrize(
    "query",
    [
        "p_alive_threshold=abc",
        "p_alive_threshold=0",
        "p_alive_threshold=nan",
        "limit=0",
        "format=xml",
    ],
)
def test_bad_at_risk_queries_are_refused_with_a_json_message(
    client: FlaskClient, alpha_shop: Shop, query: str
) -> None:
    response = client.get(f"/api/customers/at-risk?{query}", headers=auth(ALPHA))

    assert response.status_code == 400
    assert response.get_json()["error"]["message"]


def test_prediction_routes_need_a_session_token(client: FlaskClient, alpha_shop: Shop) -> None:
    assert client.get("/api/predictions/summary").status_code == 401
    assert client.get("/api/customers/at-risk?format=csv").status_code == 401


def test_cli_refreshes_one_shop_by_domain(
    runner: FlaskCliRunner, session: Session, alpha_store: Store
) -> None:
    customer = alpha_store.customer()
    alpha_store.orders(customer, (at("2026-01-01"), "10.00"))
    session.commit()

    result = runner.invoke(args=["predictions", "refresh", ALPHA])

    assert result.exit_code == 0, result.output
    assert "prior, 1 customers scored" in result.output
    count = session.scalar(select(func.count()).select_from(CustomerPrediction))
    assert count == 1


def test_cli_names_an_unknown_shop(runner: FlaskCliRunner, alpha_shop: Shop) -> None:
    result = runner.invoke(args=["predictions", "refresh", "nobody.myshopify.com"])

    assert result.exit_code != 0
    assert "No shop nobody.myshopify.com" in result.output


def test_nightly_job_refreshes_every_installed_shop(
    app: Flask, session: Session, make_shop: Callable[..., Shop], alpha_store: Store, now: datetime
) -> None:
    make_shop(BETA, access_token="shpat_beta")
    make_shop("gone.myshopify.com", access_token="shpat_gone", uninstalled_at=now)
    customer = alpha_store.customer()
    alpha_store.orders(customer, (at("2026-01-01"), "10.00"))
    session.commit()

    runs = refresh_all_predictions(app, now=now)

    assert sorted(run.customers_scored for run in runs) == [0, 1]
    assert {run.model_status for run in runs} == {ModelStatus.PRIOR}
