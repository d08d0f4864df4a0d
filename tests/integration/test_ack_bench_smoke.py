"""The acknowledgement-while-processing benchmark runs end to end at a tiny size (so it cannot
rot): wrk against both servers, the open-loop load, the lock trace and the docs section."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bench import ack_under_processing


@pytest.mark.slow
@pytest.mark.skipif(
    shutil.which("wrk") is None, reason="needs wrk (apt-get install -y wrk; .ci/run installs it)"
)
def test_the_benchmark_acknowledges_while_the_worker_drains_and_writes_its_section(
    tmp_path: Path,
) -> None:
    docs = tmp_path / "benchmarks.md"
    docs.write_text("# Benchmarks\n\n## Another section\n\nkept\n")

    outcome = ack_under_processing.main(
        [
            "--backlog=300",
            "--bodies=10",
            "--seconds=1",
            "--warmup=1",
            "--workers=1",
            "--threads=2",
            "--connections=2",
            "--open-loop-connections=2",
            "--write-docs",
            f"--docs-path={docs}",
        ]
    )

    bare, ours, steady = outcome.phases
    # wrk counts the answers within its second (ours may have none while the worker holds the
    # write lock); the open-loop load waits for every answer.
    assert bare.acknowledged > 0
    assert steady.acknowledged == steady.stored > 0
    for phase in outcome.phases:
        assert phase.requests == phase.acknowledged  # nothing refused
        assert phase.stored >= phase.acknowledged
    assert outcome.locks["ours worker"]["hold_ms"]["count"] > 0  # the worker ran
    text = docs.read_text()
    assert "## Another section\n\nkept" in text
    assert text.count(ack_under_processing.SECTION_HEADING) == 1
    assert "| ours, inbox worker |" in text
