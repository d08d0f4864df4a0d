"""INSERT ... ON CONFLICT in the session's dialect: idempotent writes by constraint, not check."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session


def conflict_insert(session: Session, model: Any) -> postgresql.Insert | sqlite.Insert:
    """Return an INSERT for *model* in the session's dialect, which has ON CONFLICT clauses.

    Both supported backends spell ON CONFLICT the same way; only the construct's module differs.
    """
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(model)
    return sqlite.insert(model)
