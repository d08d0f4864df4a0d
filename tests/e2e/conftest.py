"""Run the browser tests on SQLite only: they are about the pages, not the database."""

from __future__ import annotations

import pytest


@pytest.fixture
def database_backend() -> str:
    return "sqlite"
