"""The acknowledgement benchmark still runs end to end (at a tiny size, so it cannot rot)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import webhook_ack

OTHER_SECTIONS = """# Benchmarks

## KPI rollups

Someone else's figures.

## Webhook acknowledgement

Stale figures.

## Scheduler

More of someone else's figures.
"""


@pytest.mark.slow
def test_benchmark_acknowledges_every_request_on_both_endpoints_and_writes_its_section(
    database_url: str, tmp_path: Path
) -> None:
    backend = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    docs = tmp_path / "benchmarks.md"
    docs.write_text(OTHER_SECTIONS)

    results = webhook_ack.main(
        [
            "--requests=6",
            "--concurrency=2",
            f"--backends={backend}",
            f"--postgres-url={database_url}",
            "--write-docs",
            f"--docs-path={docs}",
        ]
    )

    assert [(r.backend, r.endpoint) for r in results] == [
        (backend, webhook_ack.CEILING),
        (backend, webhook_ack.OURS),
    ]
    for result in results:
        assert (result.failures, len(result.latencies_ms), result.stored) == (0, 6, 6)
    text = docs.read_text()
    assert "Stale figures." not in text
    assert "Someone else's figures." in text
    assert "More of someone else's figures." in text
    assert text.count(webhook_ack.SECTION_HEADING) == 1
    assert f"| {backend} | ours (`POST /webhooks`) | 6 | 2 |" in text


def test_payloads_are_distinct_signed_orders_of_3_to_15_kb() -> None:
    payloads = webhook_ack.build_payloads(60)

    assert len(set(payloads)) == 60
    assert all(3 * 1024 <= len(p) <= 15 * 1024 for p in payloads)
    assert max(len(p) for p in payloads) - min(len(p) for p in payloads) > 6 * 1024


def test_docs_section_is_appended_when_missing(tmp_path: Path) -> None:
    docs = tmp_path / "benchmarks.md"
    docs.write_text("# Benchmarks\n\n## KPI rollups\n\nTheirs.\n")

    webhook_ack.update_docs_section(docs, f"{webhook_ack.SECTION_HEADING}\n\nOurs.\n")

    assert docs.read_text() == (
        f"# Benchmarks\n\n## KPI rollups\n\nTheirs.\n\n{webhook_ack.SECTION_HEADING}\n\nOurs.\n"
    )
