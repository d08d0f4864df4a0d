"""Read the products customers buy again most, with the share and timing of repurchases."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from shopify_app.analytics.kpis.gaps import histogram_median
from shopify_app.models import OrderLine
from shopify_app.models import RollupProduct
from shopify_app.models import RollupProductGap


@dataclass(frozen=True)
class RepurchasedProduct:
    product_id: int
    title: str | None
    buyers: int
    repurchasers: int
    repurchase_rate: float
    median_days_to_repurchase: float | None


def load_top_repurchased_products(
    session: Session, *, shop_id: int, limit: int = 10
) -> list[RepurchasedProduct]:
    """Return the products most customers bought again, with their repurchase share and timing."""
    product = RollupProduct
    top = session.execute(
        select(product.product_id, product.buyers, product.repurchasers)
        .where(product.shop_id == shop_id, product.repurchasers > 0)
        .order_by(product.repurchasers.desc(), product.buyers.desc(), product.product_id)
        .limit(limit)
    ).all()
    if not top:
        return []
    ids = [int(row.product_id) for row in top]
    gaps: dict[int, dict[int, int]] = {product_id: {} for product_id in ids}
    gap = RollupProductGap
    for product_id, days, count in session.execute(
        select(gap.product_id, gap.gap_days, gap.customers).where(
            gap.shop_id == shop_id, gap.product_id.in_(ids)
        )
    ):
        gaps[int(product_id)][int(days)] = int(count)
    return [
        RepurchasedProduct(
            product_id=int(product_id),
            title=_latest_title(session, shop_id=shop_id, product_id=product_id),
            buyers=int(buyers),
            repurchasers=int(again),
            repurchase_rate=int(again) / int(buyers),
            median_days_to_repurchase=histogram_median(gaps[int(product_id)]),
        )
        for product_id, buyers, again in top
    ]


def _latest_title(session: Session, *, shop_id: int, product_id: int) -> str | None:
    """Return the product's title as its most recent order line has it."""
    return session.scalar(
        select(OrderLine.title)
        .where(OrderLine.shop_id == shop_id, OrderLine.product_id == product_id)
        .order_by(OrderLine.id.desc())
        .limit(1)
    )
