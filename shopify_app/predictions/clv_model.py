"""BG/NBD and Gamma-Gamma models: how often a customer buys, whether they are still around, and
what they spend.

Written from the published formulas, not from any library:

- BG/NBD: Fader, Hardie and Lee (2005), "Counting Your Customers the Easy Way: An Alternative to
  the Pareto/NBD Model", Marketing Science 24(2): likelihood (eq. 6), conditional expectation
  (eq. 10) and P(alive) (Fader, Hardie and Lee, "Computing P(alive) using the BG/NBD model", 2008).
- Gamma-Gamma: Fader and Hardie (2013), "The Gamma-Gamma Model of Monetary Value": marginal
  likelihood of a customer's mean spend and the posterior mean spend (eq. 5).

Inputs per customer, in one time unit chosen by the caller (this app uses days):
*frequency* x is the number of repeat purchases (purchases after the first), *recency* t_x the
age of the customer at the last purchase, *T* the age of the customer now, and *monetary_value*
the mean value of the repeat purchases. Everything here is float arithmetic on numpy arrays;
callers convert money from and to `Decimal` at their boundary.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import optimize
from scipy import special

FloatArray = npt.NDArray[np.float64]
ArrayLike = npt.ArrayLike

# Parameters are fitted on a log scale, scale parameters (alpha, gamma) relative to the data's
# own scale, inside these bounds; an optimum on a bound means the data cannot pin the parameter
# down (e.g. a and b running off to infinity), so the fit is refused.
_LOG_BOUND = math.log(1e4)
_BOUND_SLACK = 0.05


@dataclass(frozen=True)
class BgNbdParams:
    """Purchase rate ~ Gamma(r, alpha); dropout probability after each purchase ~ Beta(a, b)."""

    r: float
    alpha: float
    a: float
    b: float


@dataclass(frozen=True)
class GammaGammaParams:
    """Spend per purchase ~ Gamma(p, nu) with nu ~ Gamma(q, gamma) across customers."""

    p: float
    q: float
    gamma: float

    @property
    def population_mean(self) -> float:
        """Return the mean spend per purchase of the population (infinite when q <= 1)."""
        if self.q <= 1:
            return math.inf
        return self.p * self.gamma / (self.q - 1)


@dataclass(frozen=True)
class BgNbdFit:
    params: BgNbdParams
    log_likelihood: float
    converged: bool
    message: str


@dataclass(frozen=True)
class GammaGammaFit:
    params: GammaGammaParams
    log_likelihood: float
    converged: bool
    message: str


def _as_arrays(*values: ArrayLike) -> list[FloatArray]:
    arrays = [np.asarray(v, dtype=np.float64) for v in values]
    shapes = {a.shape for a in arrays}
    if len(shapes) > 1:
        raise ValueError(f"customer arrays differ in shape: {sorted(shapes)}")
    return arrays


def _check_summary(frequency: FloatArray, recency: FloatArray, T: FloatArray) -> None:
    if np.any(frequency < 0) or np.any(recency < 0) or np.any(recency > T):
        raise ValueError("need frequency >= 0 and 0 <= recency <= T for every customer")
    if np.any((frequency == 0) & (recency != 0)):
        raise ValueError("a customer with no repeat purchase must have recency 0")


def bgnbd_log_likelihood(
    params: BgNbdParams, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
) -> FloatArray:
    """Return each customer's BG/NBD log-likelihood (FHL 2005, eq. 6)."""
    x, t_x, big_t = _as_arrays(frequency, recency, T)
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    shared = (
        special.gammaln(r + x)
        - special.gammaln(r)
        + r * math.log(alpha)
        + special.gammaln(a + b)
        + special.gammaln(b + x)
        - special.gammaln(b)
        - special.gammaln(a + b + x)
    )
    still_active = -(r + x) * np.log(alpha + big_t)
    has_repeat = x > 0
    # The second term only exists for repeat buyers: they may have dropped out after the last one.
    dropped = np.full_like(x, -np.inf)
    xr = x[has_repeat]
    dropped[has_repeat] = (
        math.log(a) - np.log(b + xr - 1) - (r + xr) * np.log(alpha + t_x[has_repeat])
    )
    result: FloatArray = shared + np.logaddexp(still_active, dropped)
    return result


def fit_bgnbd(
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,
    *,
    weights: ArrayLike | None = None,
) -> BgNbdFit:
    """Fit r, alpha, a, b by maximum likelihood; *weights* count identical customers."""
    x, t_x, big_t = _as_arrays(frequency, recency, T)
    _check_summary(x, t_x, big_t)
    x, t_x, big_t, w = _collapse_duplicates([x, t_x, big_t], weights)
    scale = float(np.mean(big_t)) or 1.0
    total = float(np.sum(w))

    scales = np.array([1.0, scale, 1.0, 1.0])

    def objective(log_params: FloatArray) -> float:
        r, alpha, a, b = np.exp(log_params) * scales
        ll = bgnbd_log_likelihood(BgNbdParams(r, alpha, a, b), x, t_x, big_t)
        value = -float(np.dot(w, ll)) / total
        return value if math.isfinite(value) else 1e300

    log_params, log_likelihood, converged, message = _maximise(objective, np.zeros(4), total)
    r, alpha, a, b = (float(v) for v in np.exp(log_params) * scales)
    return BgNbdFit(BgNbdParams(r, alpha, a, b), log_likelihood, converged, message)


def gamma_gamma_log_likelihood(
    params: GammaGammaParams, frequency: ArrayLike, monetary_value: ArrayLike
) -> FloatArray:
    """Return each repeat buyer's Gamma-Gamma log-likelihood of their mean spend (FH 2013)."""
    x, m = _as_arrays(frequency, monetary_value)
    p, q, gamma = params.p, params.q, params.gamma
    result: FloatArray = (
        special.gammaln(p * x + q)
        - special.gammaln(p * x)
        - special.gammaln(q)
        + q * math.log(gamma)
        + (p * x - 1) * np.log(m)
        + p * x * np.log(x)
        - (p * x + q) * np.log(gamma + m * x)
    )
    return result


def fit_gamma_gamma(
    frequency: ArrayLike,
    monetary_value: ArrayLike,
    *,
    weights: ArrayLike | None = None,
) -> GammaGammaFit:
    """Fit p, q, gamma by maximum likelihood on repeat buyers whose mean spend is positive."""
    x, m = _as_arrays(frequency, monetary_value)
    if np.any(x <= 0) or np.any(m <= 0):
        raise ValueError("Gamma-Gamma needs frequency > 0 and monetary_value > 0 for everyone")
    x, m, w = _collapse_duplicates([x, m], weights)
    scale = float(np.mean(m))
    total = float(np.sum(w))

    scales = np.array([1.0, 1.0, scale])

    def objective(log_params: FloatArray) -> float:
        p, q, gamma = np.exp(log_params) * scales
        ll = gamma_gamma_log_likelihood(GammaGammaParams(p, q, gamma), x, m)
        value = -float(np.dot(w, ll)) / total
        return value if math.isfinite(value) else 1e300

    start = np.array([0.0, math.log(2.0), 0.0])
    log_params, log_likelihood, converged, message = _maximise(objective, start, total)
    p, q, gamma = (float(v) for v in np.exp(log_params) * scales)
    if converged and q <= 1:
        converged, message = False, "q <= 1: the fitted population mean spend is infinite"
    return GammaGammaFit(GammaGammaParams(p, q, gamma), log_likelihood, converged, message)


def probability_alive(
    params: BgNbdParams, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
) -> FloatArray:
    """Return P(still a customer) given the history (FHL 2008; 1 for zero repeat purchases).

    BG/NBD lets customers drop out only right after a purchase, so a customer who never bought
    again is by construction still "alive"; their expected purchases still fall as T grows.
    """
    x, t_x, big_t = _as_arrays(frequency, recency, T)
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    with np.errstate(divide="ignore", invalid="ignore"):
        log_odds = (
            math.log(a)
            - np.log(b + x - 1)
            + (r + x) * (np.log(alpha + big_t) - np.log(alpha + t_x))
        )
    result: FloatArray = np.where(x > 0, special.expit(-log_odds), 1.0)
    return result


def expected_purchases(
    params: BgNbdParams, t: float, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
) -> FloatArray:
    """Return the expected number of purchases in the next *t* time units (FHL 2005, eq. 10)."""
    x, t_x, big_t = _as_arrays(frequency, recency, T)
    if t <= 0:
        return np.zeros_like(x)
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    if math.isclose(a, 1.0):
        # Eq. 10 divides by a - 1; nudging a keeps the (continuous) expectation well defined.
        a = 1.0 + 1e-9
    z = t / (alpha + big_t + t)
    # hyp2f1 dominates the cost; customers summarised in whole days repeat a lot, so evaluate it
    # once per distinct (x, T).
    pairs, inverse = np.unique(np.column_stack([x, z]), axis=0, return_inverse=True)
    ux, uz = pairs[:, 0], pairs[:, 1]
    hyp = special.hyp2f1(r + ux, b + ux, a + b + ux - 1, uz)[inverse.ravel()]
    numerator = 1.0 - np.exp((r + x) * np.log((alpha + big_t) / (alpha + big_t + t))) * hyp
    alive = probability_alive(params, x, t_x, big_t)
    result: FloatArray = (a + b + x - 1) / (a - 1) * numerator * alive
    return np.maximum(result, 0.0)


def time_to_next_purchase(
    params: BgNbdParams,
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,
    *,
    probability: float = 0.5,
) -> FloatArray:
    """Return the time until the chance of another purchase reaches *probability* (inf: never).

    A customer alive now buys next after an exponential wait whose rate has the posterior
    Gamma(r + x, alpha + T), so P(a purchase within t) = P(alive) * (1 - ((alpha + T) /
    (alpha + T + t)) ** (r + x)). With probability 0.5 this is the median wait; we use the median
    because the mean wait is infinite whenever r + x <= 1.
    """
    if not 0 < probability < 1:
        raise ValueError("probability must be strictly between 0 and 1")
    x, t_x, big_t = _as_arrays(frequency, recency, T)
    alive = probability_alive(params, x, t_x, big_t)
    reachable = alive > probability
    with np.errstate(divide="ignore", invalid="ignore"):
        remaining = np.where(reachable, 1.0 - probability / alive, 1.0)
        growth = np.expm1(-np.log(remaining) / (params.r + x))
    result: FloatArray = np.where(reachable, (params.alpha + big_t) * growth, np.inf)
    return result


def expected_average_order_value(
    params: GammaGammaParams, frequency: ArrayLike, monetary_value: ArrayLike
) -> FloatArray:
    """Return each customer's expected spend per purchase (FH 2013, eq. 5).

    A weighted mean of the population mean and the customer's own mean: the more repeat
    purchases, the more the customer's own mean counts. With no repeat purchase it is the
    population mean.
    """
    x, m = _as_arrays(frequency, monetary_value)
    p, q, gamma = params.p, params.q, params.gamma
    result: FloatArray = p * (gamma + x * m) / (p * x + q - 1)
    return result


def predicted_clv(
    purchase_params: BgNbdParams,
    spend_params: GammaGammaParams,
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,
    monetary_value: ArrayLike,
    *,
    horizon: float,
    annual_discount_rate: float = 0.10,
    units_per_year: float = 365.0,
    steps: int = 12,
) -> FloatArray:
    """Return the discounted expected revenue of each customer over the next *horizon*.

    The horizon is cut into *steps* equal slices (12: monthly over a year); each slice's expected
    purchases times the expected order value is discounted from the end of the slice at
    *annual_discount_rate* (default 10% a year, a common cost of capital for small merchants,
    which lowers a 365-day CLV by about 5%). It is revenue, not profit: the app knows no margins.
    """
    x, t_x, big_t, m = _as_arrays(frequency, recency, T, monetary_value)
    value = expected_average_order_value(spend_params, x, m)
    total = np.zeros_like(x)
    previous = np.zeros_like(x)
    for step in range(1, steps + 1):
        until = horizon * step / steps
        cumulative = expected_purchases(purchase_params, until, x, t_x, big_t)
        discount = (1.0 + annual_discount_rate) ** (until / units_per_year)
        total += (cumulative - previous) * value / discount
        previous = cumulative
    return total


def _collapse_duplicates(columns: list[FloatArray], weights: ArrayLike | None) -> list[FloatArray]:
    """Merge identical customers into one weighted row: integer-day data repeats a lot."""
    stacked = np.column_stack(columns)
    base = np.ones(len(stacked)) if weights is None else np.asarray(weights, dtype=np.float64)
    if base.shape != (len(stacked),):
        raise ValueError("weights must have one entry per customer")
    if len(stacked) == 0:
        raise ValueError("cannot fit a model to no customers")
    unique, inverse = np.unique(stacked, axis=0, return_inverse=True)
    merged = np.bincount(inverse.ravel(), weights=base, minlength=len(unique)).astype(np.float64)
    return [*(unique[:, i] for i in range(unique.shape[1])), merged]


def _maximise(
    objective: Callable[[FloatArray], float], start: FloatArray, total: float
) -> tuple[FloatArray, float, bool, str]:
    bounds = [(-_LOG_BOUND, _LOG_BOUND)] * len(start)
    result = optimize.minimize(
        objective,
        start,
        method="L-BFGS-B",
        bounds=bounds,
        options={"maxiter": 2000, "ftol": 1e-12, "gtol": 1e-8},
    )
    log_params: FloatArray = np.asarray(result.x, dtype=np.float64)
    log_likelihood = -float(result.fun) * total
    on_bound = bool(np.any(np.abs(log_params) > _LOG_BOUND - _BOUND_SLACK))
    converged = bool(result.success) and math.isfinite(log_likelihood) and not on_bound
    if on_bound:
        message = "a parameter ran to the edge of its range: the data cannot identify the model"
    else:
        message = str(result.message)
    return log_params, log_likelihood, converged, message
