"""Fixtures shared by every test: an app per database backend, clients, installed shops."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from collections.abc import Iterator
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask.testing import FlaskCliRunner
from sqlalchemy.orm import Session

from shopify_app import create_app
from shopify_app.db import Database
from shopify_app.db import get_database
from shopify_app.gateway.oauth import TokenGrant
from shopify_app.models import Shop
from shopify_app.store.credentials import install_shop
from shopify_app.store.token_cipher import TokenCipher
from tests.support import database as test_db
from tests.support.shopify import API_KEY
from tests.support.shopify import API_SECRET

BACKENDS = [b.strip() for b in os.environ.get("TEST_BACKENDS", "sqlite,postgresql").split(",")]
TOKEN_KEY = "Xq3x0Yx4mHtGkVrvV7oQy8iS9yZ4pI6n6yqN8C3Yp0s="

TEST_SETTINGS: dict[str, Any] = {
    "TESTING": True,
    "SHOPIFY_API_KEY": API_KEY,
    "SHOPIFY_API_SECRET": API_SECRET,
    "APP_URL": "https://retention.example.com",
    "SECRET_KEY": "test-secret-key-that-is-long-enough-000",
    "TOKEN_ENCRYPTION_KEY": TOKEN_KEY,
    "SMTP_URL": "smtp://127.0.0.1:1025",
    "MAIL_FROM": "retention@example.com",
    "BACKGROUND_WORKER": False,
}


APP_LOGGERS = ("shopify_app", "webhooks", "jobs")
SECRET_MARKERS = (API_SECRET, TOKEN_KEY, "shpat_", "shprt_", "PRIVATE KEY")


class SecretScanner(logging.Handler):
    """Remember every app log record that carries a secret or a Shopify token."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.leaks: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage() + repr(record.__dict__)
        for marker in SECRET_MARKERS:
            if marker in text:
                self.leaks.append(f"{record.name}: {marker[:6]}... in {record.msg!r}")


@pytest.fixture(scope="session", autouse=True)
def no_secrets_in_logs() -> Iterator[None]:
    """Fail the run if any app log record, at any level, in any test, carried a secret."""
    scanner = SecretScanner()
    loggers = [logging.getLogger(name) for name in APP_LOGGERS]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(scanner)
        logger.setLevel(logging.DEBUG)
    yield
    for logger, level in zip(loggers, levels, strict=True):
        logger.removeHandler(scanner)
        logger.setLevel(level)
    assert scanner.leaks == [], "secrets reached the logs:\n" + "\n".join(scanner.leaks[:20])


def _is_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return test_db.migrated_sqlite_template(tmp_path_factory.mktemp("sqlite-template"))


@pytest.fixture(scope="session")
def postgres_database() -> str:
    url = test_db.postgres_url()
    problem = test_db.postgres_problem(url)
    if problem:
        if _is_ci():
            pytest.fail(f"PostgreSQL is required under CI and is unreachable: {problem}")
        pytest.skip(f"PostgreSQL unreachable ({problem}); set TEST_BACKENDS=sqlite to silence")
    test_db.reset_postgres_schema(url)
    return url


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    """Return an empty, migrated database: a fresh SQLite file, or the truncated PostgreSQL one."""
    if request.param == "sqlite":
        return test_db.fresh_sqlite_copy(sqlite_template, tmp_path / "app.sqlite3")
    if request.param == "postgresql":
        url: str = request.getfixturevalue("postgres_database")
        database = Database(url)
        test_db.truncate_postgres(database.engine)
        database.dispose()
        return url
    raise ValueError(f"unknown backend {request.param!r} in TEST_BACKENDS")


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    """Override to change settings for the tests of one module."""
    return {}


@pytest.fixture
def app(database_url: str, settings_overrides: dict[str, Any]) -> Iterator[Flask]:
    app = create_app({**TEST_SETTINGS, "DATABASE_URL": database_url, **settings_overrides})
    yield app
    get_database(app).dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


@pytest.fixture
def database(app: Flask) -> Database:
    return get_database(app)


@pytest.fixture
def session(database: Database) -> Iterator[Session]:
    """A session for arranging and asserting; commit explicitly to make data visible to the app."""
    with database.session_factory() as session:
        yield session


@pytest.fixture
def now() -> datetime:
    return datetime(2026, 3, 10, 15, 0, tzinfo=UTC)


@pytest.fixture
def cipher() -> TokenCipher:
    return TokenCipher([TOKEN_KEY])


@pytest.fixture
def make_shop(database: Database, cipher: TokenCipher) -> Callable[..., Shop]:
    """Install a shop with an offline token pair, as a finished install would leave it."""

    def make(
        domain: str = "alpha.myshopify.com",
        *,
        access_token: str = "shpat_alpha",
        expires_at: datetime | None = None,
        refresh_token: str | None = "shprt_alpha",
        **fields: Any,
    ) -> Shop:
        installed = datetime.now(UTC)
        grant = TokenGrant(
            access_token=access_token,
            scope="read_orders,read_customers,read_fulfillments,write_customers",
            expires_at=expires_at or installed + timedelta(hours=1),
            refresh_token=refresh_token,
            refresh_token_expires_at=installed + timedelta(days=90),
        )
        with database.session_scope() as session:
            shop = install_shop(
                session, shop_domain=domain, grant=grant, cipher=cipher, now=installed
            )
            for name, value in fields.items():
                setattr(shop, name, value)
        return shop

    return make
