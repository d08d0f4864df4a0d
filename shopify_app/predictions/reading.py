"""What the dashboard reads of the predictions: the shop's model summary and its at-risk list.

Both read the rows the latest refresh stored; nothing here fits or scores.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from shopify_app.errors import AppError
from shopify_app.models import Customer
from shopify_app.models import CustomerPrediction
from shopify_app.models import PredictionModelFit
from shopify_app.predictions.calibration import get_shop
from shopify_app.predictions.fitting import ANNUAL_DISCOUNT_RATE
from shopify_app.predictions.fitting import ModelStatus

DEFAULT_P_ALIVE_THRESHOLD = 0.5
MAX_AT_RISK_LIMIT = 10_000


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


def load_predictions_summary(session: Session, *, shop_id: int) -> PredictionsSummary:
    """Return the shop's model status, parameters and totals from its latest refresh."""
    shop = get_shop(session, shop_id=shop_id)
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
    zone = ZoneInfo(get_shop(session, shop_id=shop_id).iana_timezone)
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


def _display_name(customer: Customer) -> str | None:
    name = " ".join(part for part in (customer.first_name, customer.last_name) if part).strip()
    return name or None
