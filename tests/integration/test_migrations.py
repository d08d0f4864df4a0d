"""The schema comes from Alembic alone, and it matches the models on every backend."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from shopify_app import migrations_runner
from shopify_app.models import Base


def test_upgrade_from_base_to_head_creates_every_model_table(empty_database_url: str) -> None:
    migrations_runner.upgrade(empty_database_url)

    engine = sa.create_engine(empty_database_url)
    with engine.connect() as connection:
        tables = set(sa.inspect(connection).get_table_names())
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    engine.dispose()
    assert set(Base.metadata.tables) <= tables
    assert differences == [], f"models and migrations disagree: {differences}"


def test_downgrade_to_base_removes_every_table(empty_database_url: str) -> None:
    migrations_runner.upgrade(empty_database_url)
    migrations_runner.downgrade(empty_database_url, "base")

    engine = sa.create_engine(empty_database_url)
    with engine.connect() as connection:
        tables = set(sa.inspect(connection).get_table_names())
    engine.dispose()
    assert tables <= {"alembic_version"}
