"""Read a shop's rollup tables as plain rows, to prove incremental upkeep equals a rebuild."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shopify_app.analytics.rollups.rebuild import rebuild_rollups
from shopify_app.analytics.rollups.tables import ROLLUP_MODELS
from tests.support.kpi_example import EXAMPLE_NOW

RollupRows = dict[str, list[tuple[Any, ...]]]


def rollup_rows(session: Session, shop_id: int) -> RollupRows:
    """Return every rollup row of the shop, sorted, as plain tuples, by table name."""
    session.expire_all()
    tables: RollupRows = {}
    for model in ROLLUP_MODELS:
        table = model.__table__
        rows = session.execute(select(table).where(table.c.shop_id == shop_id)).all()
        tables[table.name] = sorted(tuple(row) for row in rows)
    return tables


def incremental_and_rebuilt(session: Session, shop_id: int) -> tuple[RollupRows, RollupRows]:
    """Return the shop's rows as incremental upkeep left them, and after a rebuild from scratch."""
    session.commit()
    incremental = rollup_rows(session, shop_id)
    rebuild_rollups(session, shop_id=shop_id, now=EXAMPLE_NOW)
    session.commit()
    rebuilt = rollup_rows(session, shop_id)
    session.commit()  # SQLite holds its write lock until the reading transaction ends
    return incremental, rebuilt
