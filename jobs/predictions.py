"""Nightly refresh of predicted CLV and churn risk, and `flask predictions refresh [SHOP]`."""

from __future__ import annotations

import logging
from datetime import datetime

import click
from flask import Flask
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from shopify_app import predictions
from shopify_app.db import get_database
from shopify_app.models import Shop
from shopify_app.models.base import utcnow
from shopify_app.predictions import PredictionRun

logger = logging.getLogger(__name__)


def refresh_all_predictions(app: Flask, *, now: datetime | None = None) -> list[PredictionRun]:
    """Refresh every installed shop, each in its own transaction; a failing shop stays alone."""
    now = now or utcnow()
    database = get_database(app)
    with database.session_scope() as session:
        shop_ids = list(
            session.scalars(
                select(Shop.id)
                .where(Shop.installed_at.is_not(None), Shop.uninstalled_at.is_(None))
                .order_by(Shop.id)
            )
        )
    runs: list[PredictionRun] = []
    for shop_id in shop_ids:
        try:
            runs.append(refresh_shop_predictions(app, shop_id, now=now))
        except Exception:
            logger.exception("Prediction refresh failed", extra={"shop_id": shop_id})
    logger.info("Refreshed predictions for %d of %d shops", len(runs), len(shop_ids))
    return runs


def refresh_shop_predictions(
    app: Flask, shop_id: int, *, now: datetime | None = None
) -> PredictionRun:
    """Refresh one shop's predictions now and commit them."""
    with get_database(app).session_scope() as session:
        run = predictions.refresh_predictions(session, shop_id=shop_id, now=now or utcnow())
    logger.info(
        "Scored %d customers (%s)",
        run.customers_scored,
        run.model_status.value,
        extra={"shop_id": shop_id},
    )
    return run


@click.group("predictions", cls=AppGroup)
def predictions_group() -> None:
    """Predicted CLV and churn risk (BG/NBD and Gamma-Gamma per shop)."""


@predictions_group.command("refresh")
@click.argument("shop", required=False)
def refresh_command(shop: str | None) -> None:
    """Refit and rescore SHOP (a myshopify.com domain), or every installed shop."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if shop is None:
        runs = refresh_all_predictions(app)
    else:
        with get_database(app).session_scope() as session:
            shop_id = session.scalar(select(Shop.id).where(Shop.domain == shop.lower()))
        if shop_id is None:
            raise click.ClickException(f"No shop {shop} is stored.")
        runs = [refresh_shop_predictions(app, shop_id)]
    for run in runs:
        click.echo(
            f"shop {run.shop_id}: {run.model_status.value}, {run.customers_scored} customers "
            f"scored, {run.repeat_buyers} repeat buyers. {run.reason}"
        )
