"""`flask --app shopify_app privacy ...`: answer a customer's data request by hand."""

from __future__ import annotations

import json

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from shopify_app.db import get_database
from shopify_app.models import Shop
from shopify_app.privacy import export_customer_data


@click.group("privacy", cls=AppGroup)
def privacy_group() -> None:
    """Export customer data (GDPR/CCPA requests)."""


@privacy_group.command("export")
@click.argument("shop_domain", metavar="SHOP")
@click.argument("customer_id", metavar="CUSTOMER_ID", type=int)
def export_command(shop_domain: str, customer_id: int) -> None:
    """Print everything stored about Shopify customer CUSTOMER_ID of SHOP as JSON."""
    database = get_database(current_app)
    with database.session_scope() as session:
        shop = session.scalar(select(Shop).where(Shop.domain == shop_domain))
        if shop is None:
            raise click.ClickException(f"No shop {shop_domain} is stored.")
        export = export_customer_data(
            session, shop=shop, customer_shopify_id=customer_id, email=None
        )
    click.echo(json.dumps(export, indent=2, default=str))
