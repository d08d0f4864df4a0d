"""Multi-row writes behind the ORM's back, shared by the set-based order writes.

One INSERT ... ON CONFLICT executed for many rows, which the drivers send as one batch, and the
version rule (`payloads.is_stale`) in SQL, so a newer version a concurrent transaction stored in the
meantime is kept.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterator
from collections.abc import Mapping
from collections.abc import Sequence
from typing import Any
from typing import TypeVar

from sqlalchemy import ColumnElement
from sqlalchemy import Table
from sqlalchemy import and_
from sqlalchemy import case
from sqlalchemy import true
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import ColumnCollection

from shopify_app.models.upsert import conflict_insert

# Ids per IN list: far below the bind-parameter limits of SQLite (32766) and PostgreSQL (65535).
CHUNK = 1000

T = TypeVar("T")


def upsert_rows(
    session: Session,
    model: Any,
    rows: Sequence[Mapping[str, Any]],
    *,
    key: Sequence[str],
    keep: Sequence[str] = (),
    where: Callable[[ColumnCollection[str, Any], ColumnCollection[str, Any]], Any] | None = None,
) -> None:
    """Insert *rows*, or update the stored row of the same *key* but for the columns in *keep*.

    Faster than one multi-row statement with RETURNING, whose SQL psycopg parses in Python.
    *where* (given the incoming and the stored columns) decides which stored rows are updated.
    """
    if not rows:
        return
    insert = conflict_insert(session, table_of(model))
    statement = insert.on_conflict_do_update(
        index_elements=list(key),
        set_={name: insert.excluded[name] for name in rows[0] if name not in (*key, *keep)},
        where=where(insert.excluded, columns_of(model)) if where is not None else None,
    )
    session.execute(statement, list(rows))


def not_older(
    incoming: ColumnCollection[str, Any], stored: ColumnCollection[str, Any]
) -> ColumnElement[bool]:
    """`payloads.is_stale`, negated, in SQL: the stored version is replaced unless it is newer."""
    return case(
        (
            and_(
                incoming.shopify_updated_at.is_not(None),
                stored.shopify_updated_at.is_not(None),
                incoming.shopify_updated_at != stored.shopify_updated_at,
            ),
            incoming.shopify_updated_at > stored.shopify_updated_at,
        ),
        (
            and_(incoming.last_event_at.is_not(None), stored.last_event_at.is_not(None)),
            incoming.last_event_at >= stored.last_event_at,
        ),
        else_=true(),
    )


def table_of(model: Any) -> Table:
    table: Table = model.__table__
    return table


def columns_of(model: Any) -> ColumnCollection[str, Any]:
    return table_of(model).c


def chunks(items: Sequence[T]) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]
