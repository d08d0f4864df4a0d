"""Engine and sessions: a request-scoped session for views, `session_scope()` for jobs and CLI.

The code that owns the unit of work (a view, a job, a CLI command) commits; services never do.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from flask import Flask
from flask import current_app
from flask import g
from sqlalchemy import Engine
from sqlalchemy import create_engine
from sqlalchemy import event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.orm import sessionmaker

from shopify_app import sqlite_locks


class Database:
    """Own one engine and its session factory."""

    def __init__(
        self, url: str, *, echo: bool = False, pool_size: int = 10, max_overflow: int = 10
    ) -> None:
        self.url = url
        self.engine: Engine = make_engine(
            url, echo=echo, pool_size=pool_size, max_overflow=max_overflow
        )
        self.session_factory = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @property
    def sqlite_path(self) -> Path | None:
        """The database file on SQLite; None on PostgreSQL and for an in-memory database."""
        return sqlite_locks.database_path(self.url)

    @contextmanager
    def session_scope(self) -> Iterator[Session]:
        """Yield a session that commits on success and rolls back on any error."""
        session = self.session_factory()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def dispose(self) -> None:
        self.engine.dispose()


def make_engine(
    url: str, *, echo: bool = False, pool_size: int = 10, max_overflow: int = 10
) -> Engine:
    """Create an engine with settings that make SQLite behave under concurrent writers."""
    if url.startswith("sqlite"):
        path = sqlite_locks.database_path(url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, echo=echo, connect_args={"timeout": 30})
        event.listen(engine, "connect", _configure_sqlite_connection)
        if path is not None:
            sqlite_locks.queue_writers(engine, path)
        else:
            event.listen(engine, "begin", _begin_sqlite_transaction)
        return engine
    return create_engine(
        url, echo=echo, pool_pre_ping=True, pool_size=pool_size, max_overflow=max_overflow
    )


def _configure_sqlite_connection(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy emit BEGIN itself (see _begin_sqlite_transaction) so a transaction that
    # starts with a read still takes its locks in a predictable order.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _begin_sqlite_transaction(connection: Any) -> None:
    # An in-memory database has one connection and no file to lock (see sqlite_locks).
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def describe_database_error(error: DBAPIError) -> str:
    """Return the driver's error type and first line, without the statement or its parameters.

    The parameters of a failed statement may hold webhook payloads or tokens: logs and the inbox
    get this instead of `str(error)`.
    """
    original = error.orig if error.orig is not None else error
    first_line = (str(original).strip().splitlines() or [""])[0]
    return f"{type(original).__name__}: {first_line}"


def init_app(app: Flask, database: Database) -> None:
    """Attach *database* to *app* and close the request session after each request."""
    app.extensions["database"] = database

    @app.teardown_appcontext
    def close_request_session(exc: BaseException | None) -> None:
        session: Session | None = g.pop("db_session", None)
        if session is None:
            return
        if exc is not None:
            session.rollback()
        session.close()


def get_database(app: Flask | None = None) -> Database:
    database: Database = (app or current_app).extensions["database"]
    return database


def get_session() -> Session:
    """Return the session of the current request, opening it on first use."""
    if "db_session" not in g:
        g.db_session = get_database().session_factory()
    session: Session = g.db_session
    return session
