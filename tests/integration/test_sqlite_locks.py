"""SQLite's writers queue on a file lock, and one background worker drains a database file."""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from shopify_app.db import Database
from shopify_app.sqlite_locks import DrainerLock
from webhooks import worker


@pytest.fixture
def database_backend() -> str:
    return "sqlite"


@pytest.fixture
def sqlite_database(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    yield database
    database.dispose()


def write_lock_is_free(database: Database) -> bool:
    path = database.sqlite_path
    assert path is not None
    fd = os.open(f"{path}.write-lock", os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)
    return True


def test_a_transaction_holds_the_write_lock_until_it_commits_or_rolls_back(
    sqlite_database: Database,
) -> None:
    with sqlite_database.session_scope() as session:
        session.execute(text("SELECT 1"))
        assert not write_lock_is_free(sqlite_database)
    assert write_lock_is_free(sqlite_database)

    def fail_in_a_transaction() -> None:
        with sqlite_database.session_scope() as session:
            session.execute(text("SELECT 1"))
            raise RuntimeError("roll back")

    with pytest.raises(RuntimeError):
        fail_in_a_transaction()
    assert write_lock_is_free(sqlite_database)

    session = sqlite_database.session_factory()
    session.execute(text("SELECT 1"))
    session.close()  # neither committed nor rolled back: the pool's reset ends it
    assert write_lock_is_free(sqlite_database)


def test_one_background_worker_drains_a_database_file_and_another_takes_over(
    sqlite_database: Database, tmp_path: Path
) -> None:
    path = sqlite_database.sqlite_path
    assert path is not None
    first, second = DrainerLock(path), DrainerLock(path)

    assert first.acquire()
    assert first.acquire()  # held already
    assert not second.acquire()
    first.release()
    assert second.acquire()
    second.release()


def test_the_background_worker_releases_the_drainer_lock_when_it_stops(
    sqlite_database: Database,
) -> None:
    path = sqlite_database.sqlite_path
    assert path is not None
    background = worker.BackgroundWorker(sqlite_database, poll_interval=0.05)
    background.start()
    other = DrainerLock(path)
    for _ in range(100):
        if not other.acquire():
            break
        other.release()
        threading.Event().wait(0.01)
    assert not other.acquire(), "the running worker holds the drainer lock"

    background.stop()

    assert other.acquire()
    other.release()
