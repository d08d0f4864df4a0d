"""The scale benchmarks run end to end at a tiny size, so they cannot rot."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import processing


def test_the_processing_benchmark_processes_every_event_and_writes_its_section(
    postgres_database: str, tmp_path: Path
) -> None:
    docs = tmp_path / "benchmarks.md"
    docs.write_text("# Benchmarks\n\n## Another section\n\nkept\n")

    results = processing.main(
        [
            "--database-url",
            postgres_database,
            "--database-url",
            f"sqlite:///{tmp_path / 'bench.db'}",
            "--events",
            "6",
            "--workers",
            "1,2",
            "--write-docs",
            "--docs-path",
            str(docs),
        ]
    )

    assert [(backend, [run.events for run in runs]) for backend, runs in results] == [
        ("PostgreSQL", [6, 6, 6]),
        ("SQLite", [6, 6, 6]),
    ]
    text = docs.read_text()
    assert "## Another section\n\nkept" in text
    assert processing.SECTION_HEADING in text
    assert text.count("| 2 worker processes | 6 |") == 2


@pytest.fixture(autouse=True)
def _reset_schema_afterwards(postgres_database: str) -> object:
    """The benchmark rebuilds the schema; rebuild it again for the tests that follow."""
    yield None
    from tests.support import database as test_db

    test_db.reset_postgres_schema(postgres_database)


def test_the_backfill_benchmark_imports_every_order_and_writes_its_section(
    postgres_database: str, tmp_path: Path
) -> None:
    from bench import backfill

    docs = tmp_path / "benchmarks.md"

    runs = backfill.main(
        [
            "--database-url",
            postgres_database,
            "--orders",
            "5",
            "--write-docs",
            "--docs-path",
            str(docs),
        ]
    )

    assert [run.orders for run in runs] == [5, 5]
    assert backfill.SECTION_HEADING in docs.read_text()


def test_the_planner_benchmark_plans_the_due_checkouts_and_nothing_when_none_is_due(
    postgres_database: str, tmp_path: Path
) -> None:
    from bench import planners

    docs = tmp_path / "benchmarks.md"

    ticks = planners.main(
        [
            "--database-url",
            postgres_database,
            "--shops",
            "4",
            "--sizes",
            "10,20,40",
            "--due",
            "3",
            "--write-docs",
            "--docs-path",
            str(docs),
        ]
    )

    assert [(tick.checkouts, tick.planned) for tick in ticks] == [(10, 3), (20, 3), (40, 3)]
    assert planners.SECTION_HEADING in docs.read_text()
