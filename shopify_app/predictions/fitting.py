"""Fit the shop's models (or fall back to a published prior), rescore its customers, store both.

The models (`clv_model`) work in floats; money is converted to `Decimal` rounded to cents here,
at the boundary, and nowhere else.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from datetime import datetime
from datetime import timedelta
from decimal import Decimal
from typing import cast
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import Table
from sqlalchemy import delete
from sqlalchemy import insert
from sqlalchemy.orm import Session

from shopify_app.errors import AppError
from shopify_app.models import CustomerPrediction
from shopify_app.models import PredictionModelFit
from shopify_app.models import Shop
from shopify_app.money import to_cents
from shopify_app.predictions import clv_model
from shopify_app.predictions.calibration import CustomerSummary
from shopify_app.predictions.calibration import build_calibration_summary
from shopify_app.predictions.calibration import get_shop
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
INSERT_BATCH = 5000

# The prior: the published CDNOW estimates (Fader, Hardie and Lee 2005; Fader and Hardie 2013).
# alpha is in weeks there and converted to days here; gamma is a money scale and is rescaled so
# that the prior's mean spend per purchase, p * gamma / (q - 1), equals the shop's own mean
# order value.
CDNOW_BGNBD_WEEKS = BgNbdParams(r=0.243, alpha=4.414, a=0.793, b=2.426)
PRIOR_BGNBD = BgNbdParams(r=0.243, alpha=4.414 * 7, a=0.793, b=2.426)
CDNOW_GAMMA_GAMMA = GammaGammaParams(p=6.25, q=3.74, gamma=15.44)


class ModelStatus(enum.StrEnum):
    FITTED = "fitted"  # both models fitted to this shop's customers
    PRIOR = "prior"  # at least one model uses the documented prior; the reason says which
    PENDING = "pending"  # no refresh has run for this shop yet


@dataclass(frozen=True)
class PredictionRun:
    shop_id: int
    model_status: ModelStatus
    reason: str
    customers_scored: int
    repeat_buyers: int
    computed_at: datetime


@dataclass(frozen=True)
class _Models:
    purchases: BgNbdParams
    spend: GammaGammaParams
    status: ModelStatus
    reason: str
    log_likelihood: float | None


@dataclass(frozen=True)
class _Scores:
    p_alive: np.ndarray
    orders_90: np.ndarray
    orders_365: np.ndarray
    order_value: np.ndarray
    clv_365: np.ndarray
    next_order_days: np.ndarray


def refresh_predictions(session: Session, *, shop_id: int, now: datetime) -> PredictionRun:
    """Fit the shop's models (or fall back to the prior) and rescore every customer."""
    shop = get_shop(session, shop_id=shop_id)
    summaries = build_calibration_summary(session, shop_id=shop_id, now=now)
    repeat_buyers = sum(1 for s in summaries if s.frequency > 0)
    models = _choose_models(summaries, repeat_buyers=repeat_buyers)
    scored = _score(summaries, models)
    if scored is None and models.status is ModelStatus.FITTED:
        models = _prior_models(
            summaries,
            "The model fitted to this shop gave unusable predictions, so the prior is used.",
        )
        scored = _score(summaries, models)
    if scored is None:
        raise AppError("The prior model gave non-finite predictions", status_code=500)
    _store_customer_predictions(session, shop=shop, summaries=summaries, scored=scored, now=now)
    _store_fit(session, shop=shop, summaries=summaries, scored=scored, models=models, now=now)
    return PredictionRun(
        shop_id=shop_id,
        model_status=models.status,
        reason=models.reason,
        customers_scored=len(summaries),
        repeat_buyers=repeat_buyers,
        computed_at=now,
    )


def high_value_threshold(revenues: Iterable[Decimal]) -> Decimal | None:
    """Return the lifetime revenue at rank ceil(n / 4) from the top: the top quartile's floor."""
    ordered = sorted(revenues, reverse=True)
    if not ordered:
        return None
    return ordered[math.ceil(len(ordered) / 4) - 1]


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


def _score(summaries: list[CustomerSummary], models: _Models) -> _Scores | None:
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


def _store_customer_predictions(
    session: Session,
    *,
    shop: Shop,
    summaries: list[CustomerSummary],
    scored: _Scores,
    now: datetime,
) -> None:
    """Replace the shop's customer predictions with this refresh's, one row per customer."""
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
            "expected_order_value": to_cents(float(scored.order_value[i])),
            "predicted_clv_365": to_cents(float(scored.clv_365[i])),
            "expected_next_order_date": _next_order_date(scored.next_order_days[i], today),
            "computed_at": now,
        }
        for i, s in enumerate(summaries)
    ]
    # Core executemany: the ORM bulk path splits batches wherever a nullable value is None.
    table = cast(Table, CustomerPrediction.__table__)
    for start in range(0, len(rows), INSERT_BATCH):
        session.execute(insert(table), rows[start : start + INSERT_BATCH])


def _store_fit(
    session: Session,
    *,
    shop: Shop,
    summaries: list[CustomerSummary],
    scored: _Scores,
    models: _Models,
    now: datetime,
) -> None:
    """Keep the shop's model, its status and the totals the dashboard reads."""
    clv_values = [to_cents(float(value)) for value in scored.clv_365]
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
        to_cents(sum(clv_values, Decimal("0")) / len(clv_values)) if clv_values else Decimal("0.00")
    )
    fit.expected_orders_90_total = float(np.sum(scored.orders_90))
    fit.expected_orders_365_total = float(np.sum(scored.orders_365))
    fit.computed_at = now
    session.add(fit)
    session.flush()


def _next_order_date(days: float, today: date) -> date | None:
    if not math.isfinite(days) or days > NEXT_ORDER_HORIZON_DAYS:
        return None
    return today + timedelta(days=math.ceil(days))
