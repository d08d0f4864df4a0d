"""The scheduler lease, the job registry, and `flask jobs` as operators use them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC
from datetime import datetime
from datetime import timedelta

from flask import Flask
from flask.testing import FlaskCliRunner

from jobs import scheduler
from jobs.registry import Job
from shopify_app.db import Database
from shopify_app.models import Shop

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def test_a_second_scheduler_stays_idle_while_the_lease_is_held(database: Database) -> None:
    factory = database.session_factory

    def take(holder: str, after: timedelta) -> bool:
        return scheduler.acquire_lease(factory, holder=holder, now=NOW + after)

    assert take("first", timedelta(0)) is True
    assert take("second", timedelta(seconds=30)) is False
    assert take("first", timedelta(seconds=60)) is True
    # The first scheduler died: once its lease expires the second one takes over.
    assert take("second", timedelta(minutes=5)) is True
    assert take("first", timedelta(minutes=5)) is False


def test_jobs_list_names_the_flow_jobs(runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["jobs", "list"])

    assert result.exit_code == 0, result.output
    for name in (
        "flows.abandoned_checkout.plan",
        "flows.replenishment.plan",
        "messages.send",
        "flows.attribution",
    ):
        assert name in result.output


def test_one_shops_failure_stays_with_that_shop(app: Flask, make_shop: Callable[..., Shop]) -> None:
    broken = make_shop("broken.myshopify.com")
    make_shop("fine.myshopify.com")

    def job(_app: Flask, shop_id: int, now: datetime) -> int:
        if shop_id == broken.id:
            raise RuntimeError("boom")
        return 1

    [run] = scheduler.run_once(
        app, now=NOW, jobs={"test.job": Job(job, timedelta(minutes=1), in_run_once=True)}
    )

    assert run.results == {"fine.myshopify.com": 1}
    assert list(run.failures) == ["broken.myshopify.com"]


def test_run_once_refuses_a_malformed_now(runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["jobs", "run-once", "--now", "yesterday"])

    assert result.exit_code == 2
    assert "ISO 8601" in result.output
