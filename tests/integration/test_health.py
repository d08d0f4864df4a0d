"""Liveness never touches the database; readiness names what is down."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from shopify_app import create_app
from shopify_app.db import get_database
from tests.support.mail import free_port
from tests.support.redis_server import redis_test_url
from tests.support.redis_server import require_redis
from tests.support.settings import TEST_SETTINGS


@pytest.fixture
def make_app() -> Iterator[Any]:
    apps: list[Flask] = []

    def make(**settings: Any) -> Flask:
        app = create_app({**TEST_SETTINGS, **settings})
        apps.append(app)
        return app

    yield make
    for app in apps:
        get_database(app).dispose()


def closed_postgres_url() -> str:
    return f"postgresql://postgres@127.0.0.1:{free_port()}/nothing"


def test_healthz_answers_ok_while_the_database_is_unreachable(make_app: Any) -> None:
    app = make_app(DATABASE_URL=closed_postgres_url())

    response = app.test_client().get("/healthz")

    assert (response.status_code, response.json) == (200, {"status": "ok"})


def test_readyz_answers_503_naming_the_database_when_it_is_unreachable(make_app: Any) -> None:
    app = make_app(DATABASE_URL=closed_postgres_url())

    response = app.test_client().get("/readyz")

    assert response.status_code == 503
    assert response.json["down"] == ["database"]
    assert "redis" not in response.json["checks"]


def test_readyz_answers_ok_with_the_database_and_no_redis_configured(
    client: Any,
) -> None:
    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json == {"status": "ok", "down": [], "checks": {"database": "ok"}}


def test_readyz_checks_redis_when_configured_and_names_it_when_down(
    make_app: Any, database_url: str
) -> None:
    url = redis_test_url()
    require_redis(url)
    up = make_app(DATABASE_URL=database_url, REDIS_URL=url)
    down = make_app(DATABASE_URL=database_url, REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")

    ok = up.test_client().get("/readyz")
    broken = down.test_client().get("/readyz")

    assert (ok.status_code, ok.json["checks"]) == (200, {"database": "ok", "redis": "ok"})
    assert (broken.status_code, broken.json["down"]) == (503, ["redis"])
