"""BG/NBD and Gamma-Gamma: the published CDNOW estimates, and sensible answers at the edges."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest

from shopify_app.predictions import clv_model
from shopify_app.predictions.clv_model import BgNbdParams
from shopify_app.predictions.clv_model import GammaGammaParams

CDNOW = (
    Path(__file__).resolve().parent.parent
    / "fixtures"
    / ("cdnow_customers_summary_with_transactions.csv")
)
# Fader, Hardie and Lee (2005), table 1 and section 5 (time in weeks).
PUBLISHED_BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
PUBLISHED_LOG_LIKELIHOOD = -9582.4
# Fader and Hardie (2013), "The Gamma-Gamma Model of Monetary Value".
PUBLISHED_GAMMA_GAMMA = {"p": 6.25, "q": 3.74, "gamma": 15.44}
CDNOW_PARAMS = BgNbdParams(r=0.243, alpha=4.414, a=0.793, b=2.426)
SPEND_PARAMS = GammaGammaParams(p=6.25, q=3.74, gamma=15.44)


@pytest.fixture(scope="module")
def cdnow() -> dict[str, np.ndarray]:
    with CDNOW.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    return {
        column: np.array([float(row[column]) for row in rows])
        for column in ("x", "t_x", "T", "zbar")
    }


def test_bgnbd_fit_on_cdnow_matches_the_published_parameters(
    cdnow: dict[str, np.ndarray],
) -> None:
    fit = clv_model.fit_bgnbd(cdnow["x"], cdnow["t_x"], cdnow["T"])

    assert fit.converged
    assert len(cdnow["x"]) == 2357
    for name, published in PUBLISHED_BGNBD.items():
        assert getattr(fit.params, name) == pytest.approx(published, rel=0.01), name
    assert fit.log_likelihood == pytest.approx(PUBLISHED_LOG_LIKELIHOOD, abs=0.1)


def test_gamma_gamma_fit_on_cdnow_repeat_buyers_matches_the_published_parameters(
    cdnow: dict[str, np.ndarray],
) -> None:
    repeat = cdnow["x"] > 0

    fit = clv_model.fit_gamma_gamma(cdnow["x"][repeat], cdnow["zbar"][repeat])

    assert fit.converged
    assert int(repeat.sum()) == 946
    for name, published in PUBLISHED_GAMMA_GAMMA.items():
        assert getattr(fit.params, name) == pytest.approx(published, rel=0.02), name


def test_conditional_expectation_matches_the_papers_worked_example() -> None:
    # FHL (2005): a customer with x=2, t_x=30.43, T=38.86 is expected to make 1.226 purchases in
    # the next 39 weeks.
    expected = clv_model.expected_purchases(CDNOW_PARAMS, 39, [2], [30.43], [38.86])

    assert expected[0] == pytest.approx(1.226, abs=0.002)


def test_a_customer_with_one_order_is_alive_by_construction() -> None:
    alive = clv_model.probability_alive(CDNOW_PARAMS, [0, 0], [0, 0], [1, 300])

    assert alive.tolist() == [1.0, 1.0]


def test_expected_purchases_of_a_one_order_customer_fall_the_longer_they_stay_silent() -> None:
    expected = clv_model.expected_purchases(CDNOW_PARAMS, 52, [0, 0, 0], [0, 0, 0], [1, 39, 150])

    assert np.all(expected > 0)
    assert expected[0] > expected[1] > expected[2]


def test_a_repeat_buyer_silent_for_long_is_less_likely_alive_than_a_recent_one() -> None:
    alive = clv_model.probability_alive(CDNOW_PARAMS, [3, 3], [36, 5], [38, 38])

    assert 0 < alive[1] < alive[0] < 1


def test_expected_purchases_are_zero_for_no_time_and_grow_with_the_horizon() -> None:
    horizons = [0, 13, 26, 52, 104]

    expected = [
        float(clv_model.expected_purchases(CDNOW_PARAMS, t, [2], [30.43], [38.86])[0])
        for t in horizons
    ]

    assert expected[0] == 0
    assert expected == sorted(expected)
    assert len(set(expected)) == len(expected)


def test_time_to_next_purchase_is_the_point_where_the_chance_of_an_order_reaches_one_half() -> None:
    params = CDNOW_PARAMS
    x, t_x, big_t = 4.0, 30.0, 32.0
    alive = float(clv_model.probability_alive(params, [x], [t_x], [big_t])[0])

    wait = float(clv_model.time_to_next_purchase(params, [x], [t_x], [big_t])[0])

    survive = ((params.alpha + big_t) / (params.alpha + big_t + wait)) ** (params.r + x)
    chance = alive * (1 - survive)
    assert chance == pytest.approx(0.5, abs=1e-9)


def test_time_to_next_purchase_is_infinite_when_the_customer_is_probably_gone() -> None:
    alive = clv_model.probability_alive(CDNOW_PARAMS, [5], [2], [38])
    assert alive[0] < 0.5

    wait = clv_model.time_to_next_purchase(CDNOW_PARAMS, [5], [2], [38])

    assert math.isinf(wait[0])


def test_expected_order_value_of_a_one_order_customer_is_the_population_mean() -> None:
    value = clv_model.expected_average_order_value(SPEND_PARAMS, [0], [0])

    assert value[0] == pytest.approx(SPEND_PARAMS.population_mean)


def test_expected_order_value_moves_towards_the_customers_own_mean_with_more_purchases() -> None:
    own_mean = 100.0

    values = clv_model.expected_average_order_value(SPEND_PARAMS, [1, 5, 50], [own_mean] * 3)

    distances = np.abs(values - own_mean)
    assert distances[0] > distances[1] > distances[2]
    assert np.all(values > SPEND_PARAMS.population_mean)


def test_undiscounted_clv_is_expected_purchases_times_expected_order_value() -> None:
    args = ([2], [30.43], [38.86], [22.35])

    clv = clv_model.predicted_clv(
        CDNOW_PARAMS, SPEND_PARAMS, *args, horizon=52, annual_discount_rate=0.0, units_per_year=52
    )

    purchases = clv_model.expected_purchases(CDNOW_PARAMS, 52, *args[:3])
    value = clv_model.expected_average_order_value(SPEND_PARAMS, [2], [22.35])
    assert clv[0] == pytest.approx(purchases[0] * value[0])


def test_discounting_lowers_clv_by_at_most_the_rate_over_one_year() -> None:
    args = ([2], [30.43], [38.86], [22.35])
    kwargs = {"horizon": 52.0, "units_per_year": 52.0}

    plain = clv_model.predicted_clv(
        CDNOW_PARAMS, SPEND_PARAMS, *args, annual_discount_rate=0.0, **kwargs
    )
    discounted = clv_model.predicted_clv(
        CDNOW_PARAMS, SPEND_PARAMS, *args, annual_discount_rate=0.10, **kwargs
    )

    assert plain[0] / 1.10 < discounted[0] < plain[0]


def test_a_fit_to_customers_who_never_bought_again_is_refused() -> None:
    fit = clv_model.fit_bgnbd([0, 0, 0, 0], [0, 0, 0, 0], [10, 20, 30, 40])

    assert not fit.converged


def test_a_spend_fit_to_identical_spends_is_refused() -> None:
    fit = clv_model.fit_gamma_gamma([1, 2, 1], [10.0, 10.0, 10.0])

    assert not fit.converged


def test_recency_after_the_end_of_the_period_is_rejected() -> None:
    with pytest.raises(ValueError, match="recency"):
        clv_model.fit_bgnbd([1], [50], [40])


def test_weighted_customers_fit_like_repeated_rows(cdnow: dict[str, np.ndarray]) -> None:
    sample = slice(0, 600)
    x, t_x, big_t = cdnow["x"][sample], cdnow["t_x"][sample], cdnow["T"][sample]

    doubled = clv_model.fit_bgnbd(np.tile(x, 2), np.tile(t_x, 2), np.tile(big_t, 2))
    weighted = clv_model.fit_bgnbd(x, t_x, big_t, weights=np.full(len(x), 2.0))

    assert weighted.params.r == pytest.approx(doubled.params.r, rel=1e-4)
    assert weighted.params.b == pytest.approx(doubled.params.b, rel=1e-4)
