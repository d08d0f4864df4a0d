"""Predicted CLV and churn risk per customer, refreshed per shop from the orders table.

The calibration summary counts only orders that are neither test orders nor cancelled, that
belong to a known (not redacted) customer and were processed up to `now`. Orders are grouped
into calendar days in the shop's time zone: several orders on one day are one purchase, as in
the published BG/NBD work. Per customer, in days:

- frequency: purchase days after the first (repeat purchases);
- recency: days from the first to the last purchase day;
- T (`age_days`): days from the first purchase day to today;
- monetary value: mean value of the repeat purchase days (the first purchase is left out, as
  in Fader and Hardie's Gamma-Gamma note), in shop currency from `orders.total_price`.

The models (`clv_model`) work in floats; money is converted to `Decimal` rounded to cents here,
at the boundary, and nowhere else.
"""

from __future__ import annotations

import enum
import itertools
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from datetime import datetime
from datetime import timedelta
from decimal import ROUND_HALF_UP
from decimal import Decimal
from typing import cast
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import Table
from sqlalchemy import delete
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy.orm import Session

from shopify_app.errors import AppError
from shopify_app.errors import NotFound
from shopify_app.models import Customer
from shopify_app.models import CustomerPrediction
from shopify_app.models import Order
from shopify_app.models import PredictionModelFit
from shopify_app.models import Shop
from shopify_app.predictions import clv_model
from shopify_app.predictions.clv_model import BgNbdParams
from shopify_app.predictions.clv_model import GammaGammaParams

# A shop fits its own model only with at least this many repeat buyers. Below it the four
# BG/NBD parameters are poorly identified (a and b tend to run off together) and predictions
# swing from night to night; 50 is a conservative round number well under Klaviyo's 500 buyers.
MIN_REPEAT_BUYERS = 50
SHORT_HORIZON_DAYS = 90
HORIZON_DAYS = 365
ANNUAL_DISCOUNT_RATE = 0.10
# Beyond this the "next order date" would be a guess dressed up as a date, so it is left empty.
NEXT_ORDER_HORIZON_DAYS = 730
DEFAULT_P_ALIVE_THRESHOLD = 0.5
MAX_AT_RISK_LIMIT = 10_000

# The prior: the published CDNOW estimates (Fader, Hardie and Lee 2005; Fader and Hardie 2013).
# alpha is in weeks there and converted to days here; gamma is a money scale and is rescaled so
# that the prior's mean spend per purchase, p * gamma / (q - 1), equals the shop's own mean
# order value.
CDNOW_BGNBD_WEEKS = BgNbdParams(r=0.243, alpha=4.414, a=0.793, b=2.426)
PRIOR_BGNBD = BgNbdParams(r=0.243, alpha=4.414 * 7, a=0.793, b=2.426)
CDNOW_GAMMA_GAMMA = GammaGammaParams(p=6.25, q=3.74, gamma=15.44)

CENT = Decimal("0.01")


class ModelStatus(enum.StrEnum):
    FITTED = "fitted"  # both models fitted to this shop's customers
    PRIOR = "prior"  # at least one model uses the documented prior; the reason says which
    PENDING = "pending"  # no refresh has run for this shop yet


@dataclass(frozen=True)
class CustomerSummary:
    """One customer's calibration summary and history, time in days, money in shop currency."""

    customer_id: int
    frequency: int
    recency_days: int
    age_days: int
    monetary_value: Decimal
    orders_count: int
    historic_revenue: Decimal
    first_order_at: datetime
    last_order_at: datetime


@dataclass(frozen=True)
class PredictionRun:
    shop_id: int
    model_status: ModelStatus
    reason: str
    customers_scored: int
    repeat_buyers: int
    computed_at: datetime


@dataclass(frozen=True)
class PredictionsSummary:
    model_status: ModelStatus
    reason: str
    parameters: dict[str, float] | None
    customers_scored: int
    repeat_buyers: int
    mean_predicted_clv_365: Decimal | None
    expected_orders_next_90_days: float | None
    expected_orders_next_365_days: float | None
    currency: str
    annual_discount_rate: float
    high_value_threshold: Decimal | None
    computed_at: datetime | None


@dataclass(frozen=True)
class AtRiskCustomer:
    customer_id: int
    shopify_customer_id: int
    name: str | None
    email: str | None
    last_order_at: datetime
    last_order_date: date  # in the shop's time zone
    orders_count: int
    historic_revenue: Decimal
    p_alive: float
    predicted_clv_365: Decimal
    expected_next_order_date: date | None


@dataclass(frozen=True)
class _Models:
    purchases: BgNbdParams
    spend: GammaGammaParams
    status: ModelStatus
    reason: str
    log_likelihood: float | None


def build_calibration_summary(
    session: Session, *, shop_id: int, now: datetime
) -> list[CustomerSummary]:
    """Return the per-customer summary the models are fitted to, ordered by customer id."""
    shop = _get_shop(session, shop_id)
    zone = ZoneInfo(shop.iana_timezone)
    today = now.astimezone(zone).date()
    rows = session.execute(
        select(Order.customer_id, Order.processed_at, Order.total_price)
        .join(Customer, Customer.id == Order.customer_id)
        .where(
            Order.shop_id == shop_id,
            Order.is_test.is_(False),
            Order.cancelled_at.is_(None),
            Order.processed_at <= now,
            Customer.redacted_at.is_(None),
        )
        .order_by(Order.customer_id, Order.processed_at, Order.id)
        .execution_options(yield_per=5000)
    )
    return [
        _summarise(
            customer_id,
            [(processed_at, Decimal(total)) for _, processed_at, total in orders],
            zone=zone,
            today=today,
        )
        for customer_id, orders in itertools.groupby(rows, key=lambda row: row[0])
    ]


def refresh_predictions(session: Session, *, shop_id: int, now: datetime) -> PredictionRun:
    """Fit the shop's models (or fall back to the prior) and rescore every customer."""
    shop = _get_shop(session, shop_id)
    summaries = build_calibration_summary(session, shop_id=shop_id, now=now)
    repeat_buyers = sum(1 for s in summaries if s.frequency > 0)
    models = _choose_models(summaries, repeat_buyers=repeat_buyers)
    scored = _score(summaries, models, shop=shop)
    if scored is None and models.status is ModelStatus.FITTED:
        models = _prior_models(
            summaries,
            "The model fitted to this shop gave unusable predictions, so the prior is used.",
        )
        scored = _score(summaries, models, shop=shop)
    if scored is None:
        raise AppError("The prior model gave non-finite predictions", status_code=500)
    _store(session, shop=shop, summaries=summaries, scored=scored, models=models, now=now)
    return PredictionRun(
        shop_id=shop_id,
        model_status=models.status,
        reason=models.reason,
        customers_scored=len(summaries),
        repeat_buyers=repeat_buyers,
        computed_at=now,
    )


def load_predictions_summary(session: Session, *, shop_id: int) -> PredictionsSummary:
    """Return the shop's model status, parameters and totals from its latest refresh."""
    shop = _get_shop(session, shop_id)
    fit = session.get(PredictionModelFit, shop_id)
    if fit is None:
        return PredictionsSummary(
            model_status=ModelStatus.PENDING,
            reason="Predictions have not been computed for this shop yet; they refresh nightly.",
            parameters=None,
            customers_scored=0,
            repeat_buyers=0,
            mean_predicted_clv_365=None,
            expected_orders_next_90_days=None,
            expected_orders_next_365_days=None,
            currency=shop.currency,
            annual_discount_rate=ANNUAL_DISCOUNT_RATE,
            high_value_threshold=None,
            computed_at=None,
        )
    return PredictionsSummary(
        model_status=ModelStatus(fit.status),
        reason=fit.status_reason,
        parameters={
            "r": fit.r,
            "alpha": fit.alpha,
            "a": fit.a,
            "b": fit.b,
            "p": fit.p,
            "q": fit.q,
            "gamma": fit.gamma,
        },
        customers_scored=fit.customers_used,
        repeat_buyers=fit.repeat_buyers,
        mean_predicted_clv_365=fit.mean_predicted_clv_365,
        expected_orders_next_90_days=fit.expected_orders_90_total,
        expected_orders_next_365_days=fit.expected_orders_365_total,
        currency=fit.currency,
        annual_discount_rate=fit.annual_discount_rate,
        high_value_threshold=fit.high_value_threshold,
        computed_at=fit.computed_at,
    )


def list_at_risk_customers(
    session: Session,
    *,
    shop_id: int,
    limit: int = 100,
    p_alive_threshold: float = DEFAULT_P_ALIVE_THRESHOLD,
) -> list[AtRiskCustomer]:
    """Return high-value customers who have probably stopped buying, most valuable first.

    High value means lifetime revenue in the shop's top quartile (at or above the revenue of the
    customer at rank ceil(n / 4) from the top, ties included); at risk means P(alive) below
    *p_alive_threshold*.
    """
    if not 1 <= limit <= MAX_AT_RISK_LIMIT:
        raise AppError(f"limit must be between 1 and {MAX_AT_RISK_LIMIT}")
    if not 0 < p_alive_threshold <= 1:
        raise AppError("p_alive_threshold must be above 0 and at most 1")
    zone = ZoneInfo(_get_shop(session, shop_id).iana_timezone)
    fit = session.get(PredictionModelFit, shop_id)
    if fit is None or fit.high_value_threshold is None:
        return []
    rows = session.execute(
        select(CustomerPrediction, Customer)
        .join(Customer, Customer.id == CustomerPrediction.customer_id)
        .where(
            CustomerPrediction.shop_id == shop_id,
            Customer.shop_id == shop_id,
            CustomerPrediction.historic_revenue >= fit.high_value_threshold,
            CustomerPrediction.p_alive < p_alive_threshold,
        )
        .order_by(
            CustomerPrediction.historic_revenue.desc(),
            CustomerPrediction.p_alive,
            CustomerPrediction.customer_id,
        )
        .limit(limit)
    )
    return [
        AtRiskCustomer(
            customer_id=customer.id,
            shopify_customer_id=customer.shopify_id,
            name=_display_name(customer),
            email=customer.email,
            last_order_at=prediction.last_order_at,
            last_order_date=prediction.last_order_at.astimezone(zone).date(),
            orders_count=prediction.orders_count,
            historic_revenue=prediction.historic_revenue,
            p_alive=prediction.p_alive,
            predicted_clv_365=prediction.predicted_clv_365,
            expected_next_order_date=prediction.expected_next_order_date,
        )
        for prediction, customer in rows
    ]


def high_value_threshold(revenues: Iterable[Decimal]) -> Decimal | None:
    """Return the lifetime revenue at rank ceil(n / 4) from the top: the top quartile's floor."""
    ordered = sorted(revenues, reverse=True)
    if not ordered:
        return None
    return ordered[math.ceil(len(ordered) / 4) - 1]


def _get_shop(session: Session, shop_id: int) -> Shop:
    shop = session.get(Shop, shop_id)
    if shop is None:
        raise NotFound(f"No shop with id {shop_id}")
    return shop


def _summarise(
    customer_id: int,
    orders: list[tuple[datetime, Decimal]],
    *,
    zone: ZoneInfo,
    today: date,
) -> CustomerSummary:
    day_totals: dict[date, Decimal] = {}
    for processed_at, total in orders:
        day = processed_at.astimezone(zone).date()
        day_totals[day] = day_totals.get(day, Decimal("0")) + total
    days = sorted(day_totals)
    repeat_totals = [day_totals[day] for day in days[1:]]
    monetary = (
        (sum(repeat_totals, Decimal("0")) / len(repeat_totals)).quantize(CENT, ROUND_HALF_UP)
        if repeat_totals
        else Decimal("0.00")
    )
    return CustomerSummary(
        customer_id=customer_id,
        frequency=len(days) - 1,
        recency_days=(days[-1] - days[0]).days,
        age_days=max((today - days[0]).days, 0),
        monetary_value=monetary,
        orders_count=len(orders),
        historic_revenue=sum((total for _, total in orders), Decimal("0")),
        first_order_at=orders[0][0],
        last_order_at=orders[-1][0],
    )


def _choose_models(summaries: list[CustomerSummary], *, repeat_buyers: int) -> _Models:
    if not summaries:
        return _prior_models(summaries, "No customer has a counted order yet; the prior is used.")
    if repeat_buyers < MIN_REPEAT_BUYERS:
        return _prior_models(
            summaries,
            f"Only {_customers_have(repeat_buyers)} ordered on more than one day; at least "
            f"{MIN_REPEAT_BUYERS} are needed to fit this shop's own model, so a generic prior "
            "(published CDNOW estimates, spend scaled to this shop's average order) is used.",
        )
    frequency = np.array([s.frequency for s in summaries], dtype=np.float64)
    recency = np.array([s.recency_days for s in summaries], dtype=np.float64)
    age = np.array([s.age_days for s in summaries], dtype=np.float64)
    purchases = clv_model.fit_bgnbd(frequency, recency, age)
    if not purchases.converged:
        return _prior_models(
            summaries,
            f"The purchase model did not converge on this shop's {repeat_buyers} repeat buyers "
            f"({purchases.message}), so a generic prior is used.",
        )
    spenders = [s for s in summaries if s.frequency > 0 and s.monetary_value > 0]
    if len(spenders) < MIN_REPEAT_BUYERS:
        return _Models(
            purchases.params,
            _prior_spend(summaries),
            ModelStatus.PRIOR,
            f"The purchase model is fitted to this shop, but only {len(spenders)} repeat buyers "
            f"spent more than zero (at least {MIN_REPEAT_BUYERS} are needed), so spend uses the "
            "prior scaled to this shop's average order.",
            purchases.log_likelihood,
        )
    spend = clv_model.fit_gamma_gamma(
        np.array([s.frequency for s in spenders], dtype=np.float64),
        np.array([float(s.monetary_value) for s in spenders], dtype=np.float64),
    )
    if not spend.converged:
        return _Models(
            purchases.params,
            _prior_spend(summaries),
            ModelStatus.PRIOR,
            f"The purchase model is fitted to this shop, but the spend model did not converge "
            f"({spend.message}), so spend uses the prior scaled to this shop's average order.",
            purchases.log_likelihood,
        )
    return _Models(
        purchases.params,
        spend.params,
        ModelStatus.FITTED,
        f"Fitted to this shop's {len(summaries)} customers, {repeat_buyers} of them repeat buyers.",
        purchases.log_likelihood,
    )


def _customers_have(count: int) -> str:
    return f"{count} customer has" if count == 1 else f"{count} customers have"


def _prior_models(summaries: list[CustomerSummary], reason: str) -> _Models:
    return _Models(PRIOR_BGNBD, _prior_spend(summaries), ModelStatus.PRIOR, reason, None)


def _prior_spend(summaries: list[CustomerSummary]) -> GammaGammaParams:
    orders = sum(s.orders_count for s in summaries)
    revenue = sum((s.historic_revenue for s in summaries), Decimal("0"))
    mean_order = float(revenue / orders) if orders and revenue > 0 else None
    if mean_order is None:
        return CDNOW_GAMMA_GAMMA
    p, q = CDNOW_GAMMA_GAMMA.p, CDNOW_GAMMA_GAMMA.q
    return GammaGammaParams(p=p, q=q, gamma=mean_order * (q - 1) / p)


@dataclass(frozen=True)
class _Scores:
    p_alive: np.ndarray
    orders_90: np.ndarray
    orders_365: np.ndarray
    order_value: np.ndarray
    clv_365: np.ndarray
    next_order_days: np.ndarray


def _score(summaries: list[CustomerSummary], models: _Models, *, shop: Shop) -> _Scores | None:
    """Return the predictions, or None when the models give a non-finite number."""
    x = np.array([s.frequency for s in summaries], dtype=np.float64)
    t_x = np.array([s.recency_days for s in summaries], dtype=np.float64)
    age = np.array([s.age_days for s in summaries], dtype=np.float64)
    m = np.array([float(s.monetary_value) for s in summaries], dtype=np.float64)
    scores = _Scores(
        p_alive=clv_model.probability_alive(models.purchases, x, t_x, age),
        orders_90=clv_model.expected_purchases(models.purchases, SHORT_HORIZON_DAYS, x, t_x, age),
        orders_365=clv_model.expected_purchases(models.purchases, HORIZON_DAYS, x, t_x, age),
        order_value=clv_model.expected_average_order_value(models.spend, x, m),
        clv_365=clv_model.predicted_clv(
            models.purchases,
            models.spend,
            x,
            t_x,
            age,
            m,
            horizon=HORIZON_DAYS,
            annual_discount_rate=ANNUAL_DISCOUNT_RATE,
        ),
        next_order_days=clv_model.time_to_next_purchase(models.purchases, x, t_x, age),
    )
    finite = all(
        bool(np.all(np.isfinite(values)))
        for values in (
            scores.p_alive,
            scores.orders_90,
            scores.orders_365,
            scores.order_value,
            scores.clv_365,
        )
    )
    return scores if finite else None


def _store(
    session: Session,
    *,
    shop: Shop,
    summaries: list[CustomerSummary],
    scored: _Scores,
    models: _Models,
    now: datetime,
) -> None:
    today = now.astimezone(ZoneInfo(shop.iana_timezone)).date()
    session.execute(delete(CustomerPrediction).where(CustomerPrediction.shop_id == shop.id))
    rows = [
        {
            "shop_id": shop.id,
            "customer_id": s.customer_id,
            "frequency": s.frequency,
            "recency_days": s.recency_days,
            "age_days": s.age_days,
            "monetary_value": s.monetary_value,
            "orders_count": s.orders_count,
            "historic_revenue": s.historic_revenue,
            "first_order_at": s.first_order_at,
            "last_order_at": s.last_order_at,
            "p_alive": float(scored.p_alive[i]),
            "expected_orders_90": float(scored.orders_90[i]),
            "expected_orders_365": float(scored.orders_365[i]),
            "expected_order_value": _money(scored.order_value[i]),
            "predicted_clv_365": _money(scored.clv_365[i]),
            "expected_next_order_date": _next_order_date(scored.next_order_days[i], today),
            "computed_at": now,
        }
        for i, s in enumerate(summaries)
    ]
    # Core executemany: the ORM bulk path splits batches wherever a nullable value is None.
    table = cast(Table, CustomerPrediction.__table__)
    for start in range(0, len(rows), 5000):
        session.execute(insert(table), rows[start : start + 5000])
    clv_values = [_money(value) for value in scored.clv_365]
    fit = session.get(PredictionModelFit, shop.id) or PredictionModelFit(shop_id=shop.id)
    fit.status = models.status.value
    fit.status_reason = models.reason
    fit.r, fit.alpha, fit.a, fit.b = (
        models.purchases.r,
        models.purchases.alpha,
        models.purchases.a,
        models.purchases.b,
    )
    fit.p, fit.q, fit.gamma = models.spend.p, models.spend.q, models.spend.gamma
    fit.bgnbd_log_likelihood = models.log_likelihood
    fit.customers_used = len(summaries)
    fit.repeat_buyers = sum(1 for s in summaries if s.frequency > 0)
    fit.currency = shop.currency
    fit.annual_discount_rate = ANNUAL_DISCOUNT_RATE
    fit.high_value_threshold = high_value_threshold(s.historic_revenue for s in summaries)
    fit.mean_predicted_clv_365 = (
        (sum(clv_values, Decimal("0")) / len(clv_values)).quantize(CENT, ROUND_HALF_UP)
        if clv_values
        else Decimal("0.00")
    )
    fit.expected_orders_90_total = float(np.sum(scored.orders_90))
    fit.expected_orders_365_total = float(np.sum(scored.orders_365))
    fit.computed_at = now
    session.add(fit)
    session.flush()


def _money(value: float) -> Decimal:
    return Decimal(repr(float(value))).quantize(CENT, ROUND_HALF_UP)


def _next_order_date(days: float, today: date) -> date | None:
    if not math.isfinite(days) or days > NEXT_ORDER_HORIZON_DAYS:
        return None
    return today + timedelta(days=math.ceil(days))


def _display_name(customer: Customer) -> str | None:
    name = " ".join(part for part in (customer.first_name, customer.last_name) if part).strip()
    return name or None
