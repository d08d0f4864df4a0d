"""Compare a shop's aggregates as plain rows, whichever path wrote them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shopify_app.analytics.rollups.tables import ROLLUP_MODELS


def snapshot(session: Session, shop_id: int) -> dict[str, list[tuple[Any, ...]]]:
    """Return every rollup row of the shop, sorted, as plain tuples."""
    session.expire_all()
    tables: dict[str, list[tuple[Any, ...]]] = {}
    for model in ROLLUP_MODELS:
        table = model.__table__
        rows = session.execute(select(table).where(table.c.shop_id == shop_id)).all()
        tables[table.name] = sorted(tuple(row) for row in rows)
    return tables
