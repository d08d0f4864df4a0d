"""Time SQLite write-lock waits and holds in a server process, per kind of thread (diagnostics).

On SQLite every write transaction starts with BEGIN IMMEDIATE (`shopify_app.db`), which takes
the database's one write lock or waits for it in SQLite's busy handler. How long that statement
takes is how long the transaction waited for the lock; from then to its COMMIT or ROLLBACK is how
long it held it. Both are recorded for the inbox worker's thread ("worker") and for request
threads ("request"), and written as JSON to a file per process when it exits; `summarise` reads
them back. Installed by `bench.webhook_ack.gunicorn_app` when BENCH_TRACE_DIR is set.
"""

from __future__ import annotations

import atexit
import json
import os
import threading
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event

WORKER_THREAD = "webhook-worker"
_local = threading.local()


def install(directory: Path, *, label: str) -> None:
    """Record every transaction's lock wait and hold in this process; dump them at exit."""
    samples: dict[str, dict[str, list[float]]] = {}
    lock = threading.Lock()

    def record(kind: str, seconds: float) -> None:
        role = "worker" if threading.current_thread().name == WORKER_THREAD else "request"
        with lock:
            samples.setdefault(role, {"wait_ms": [], "hold_ms": []})[kind].append(seconds * 1000)

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement == "BEGIN IMMEDIATE":
            _local.asked = time.perf_counter()

    def after(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement == "BEGIN IMMEDIATE":
            _local.held = time.perf_counter()
            record("wait_ms", _local.held - _local.asked)

    def end(conn: Any) -> None:
        held = getattr(_local, "held", None)
        if held is not None:
            record("hold_ms", time.perf_counter() - held)
            _local.held = None

    event.listen(sa.Engine, "before_cursor_execute", before)
    event.listen(sa.Engine, "after_cursor_execute", after)
    event.listen(sa.Engine, "commit", end)
    event.listen(sa.Engine, "rollback", end)

    def dump() -> None:
        with lock:
            text = json.dumps(samples)
        (directory / f"{label}-{os.getpid()}.json").write_text(text)

    atexit.register(dump)


def summarise(directory: Path) -> dict[str, dict[str, dict[str, float]]]:
    """Return, per "<label> <role>", count, p50, p99 and max of waits and holds, in ms."""
    merged: dict[str, dict[str, list[float]]] = {}
    for path in sorted(directory.glob("*.json")):
        label = path.stem.rsplit("-", 1)[0]
        for role, kinds in json.loads(path.read_text()).items():
            target = merged.setdefault(f"{label} {role}", {"wait_ms": [], "hold_ms": []})
            for kind, values in kinds.items():
                target[kind] += values
    return {
        key: {kind: _stats(values) for kind, values in kinds.items()}
        for key, kinds in merged.items()
    }


def _stats(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    if not ordered:
        return {"count": 0}

    def at(share: float) -> float:
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))]

    return {
        "count": len(ordered),
        "p50": at(0.5),
        "p99": at(0.99),
        "max": ordered[-1],
        "total": sum(ordered),
    }
