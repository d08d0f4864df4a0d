"""Operator commands on `flask --app shopify_app ...` that belong to the app as a whole."""

from __future__ import annotations

import click
from flask import Flask
from flask import current_app
from flask.cli import AppGroup

from jobs import cli as jobs_cli
from jobs import predictions as predictions_cli
from jobs import worker_cli
from shopify_app import migrations_runner
from shopify_app.cli import privacy as privacy_cli
from shopify_app.cli import shops as shops_cli
from shopify_app.cli import token_rotation
from shopify_app.context import get_settings
from shopify_app.demo import commands as demo_cli
from shopify_app.store.token_cipher import generate_key
from webhooks import cli as webhooks_cli


@click.group("db", cls=AppGroup)
def db_group() -> None:
    """Manage the database schema (Alembic migrations in migrations/)."""


@db_group.command("upgrade")
@click.argument("revision", default="heads")
def db_upgrade(revision: str) -> None:
    """Upgrade the database to REVISION (default: the newest)."""
    migrations_runner.upgrade(get_settings(current_app).database_url, revision)
    click.echo(f"Database upgraded to {revision}.")


@db_group.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Downgrade the database to REVISION (e.g. base)."""
    migrations_runner.downgrade(get_settings(current_app).database_url, revision)
    click.echo(f"Database downgraded to {revision}.")


@click.group("keys", cls=AppGroup)
def keys_group() -> None:
    """Generate secrets for the settings."""


@keys_group.command("new")
def keys_new() -> None:
    """Print a new TOKEN_ENCRYPTION_KEY."""
    click.echo(generate_key())


def init_app(app: Flask) -> None:
    app.cli.add_command(db_group)
    app.cli.add_command(keys_group)
    app.cli.add_command(predictions_cli.predictions_group)
    app.cli.add_command(webhooks_cli.webhooks_group)
    app.cli.add_command(shops_cli.shops_group)
    app.cli.add_command(privacy_cli.privacy_group)
    app.cli.add_command(jobs_cli.jobs_group)
    app.cli.add_command(jobs_cli.scheduler_command)
    app.cli.add_command(worker_cli.worker_command)
    app.cli.add_command(demo_cli.demo_group)
    app.cli.add_command(token_rotation.rotate_token_key_command)
