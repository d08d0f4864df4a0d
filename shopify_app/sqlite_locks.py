"""File locks beside a SQLite database: a queue for its writers, and one drainer per file.

SQLite lets one writer in at a time, and a writer that finds the lock taken does not queue: its
busy handler sleeps (1, 2, 5 ... then 100 ms between tries) and gets the lock only if a try lands
while it is free. A worker that commits a batch and begins the next within microseconds therefore
starves every acknowledgement waiting beside it. A blocking `flock` on a file beside the
database, taken before `BEGIN IMMEDIATE` and released once the transaction ends, makes a waiter
wake as soon as the lock is free instead.

The drainer lock keeps one background worker per database file: each web process starts one,
and five of them would take the write lock in turn, back to back.

A transaction that never ends makes the others wait for it rather than fail after SQLite's
busy timeout; a stuck transaction blocks every writer of the file either way.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy import event

_FD = "write_lock_fd"
_HELD = "write_lock_held"


def database_path(url: str) -> Path | None:
    """Return the file of a SQLite URL, or None for PostgreSQL and in-memory databases."""
    if not url.startswith("sqlite"):
        return None
    path = url.split("///", 1)[-1]
    return Path(path) if path and path != ":memory:" else None


def queue_writers(engine: Engine, path: Path) -> None:
    """Make *engine*'s transactions on the database at *path* queue on a blocking file lock."""
    lock_path = f"{path}.write-lock"

    def open_lock(_dbapi_connection: Any, record: Any) -> None:
        record.info[_FD] = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)

    def close_lock(_dbapi_connection: Any, record: Any) -> None:
        fd = record.info.pop(_FD, None)
        if fd is not None:
            os.close(fd)

    event.listen(engine, "connect", open_lock)
    event.listen(engine, "close", close_lock)
    event.listen(engine, "begin", _begin)
    event.listen(engine, "commit", _commit)
    event.listen(engine, "rollback", _rollback)
    event.listen(engine, "reset", lambda _dbapi, record, *_: _release(record.info))


def _begin(connection: Any) -> None:
    info = connection.connection.info
    if not info.get(_HELD):
        fcntl.flock(info[_FD], fcntl.LOCK_EX)
        info[_HELD] = True
    try:
        # BEGIN IMMEDIATE takes SQLite's write lock up front: a transaction that starts with a
        # read cannot fail later with "database is locked" when it upgrades.
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    except BaseException:
        _release(info)
        raise


def _commit(connection: Any) -> None:
    # Commit here, then release: the next writer must not wake before the commit is done.
    # SQLAlchemy's own commit that follows finds no transaction open and does nothing.
    try:
        connection.connection.dbapi_connection.commit()
    finally:
        _release(connection.connection.info)


def _rollback(connection: Any) -> None:
    try:
        connection.connection.dbapi_connection.rollback()
    finally:
        _release(connection.connection.info)


def _release(info: dict[str, Any]) -> None:
    if info.pop(_HELD, False):
        fcntl.flock(info[_FD], fcntl.LOCK_UN)


class DrainerLock:
    """Held by the one background worker that drains a database file's inbox."""

    def __init__(self, path: Path) -> None:
        self.path = Path(f"{path}.drainer-lock")
        self._fd: int | None = None

    def acquire(self) -> bool:
        """Take the lock if no other process holds it; True while this one holds it."""
        if self._fd is not None:
            return True
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
