"""Shared helpers for the scale benchmarks: machine line, docs section replacement, timing."""

from __future__ import annotations

import os
import platform
import textwrap
from datetime import UTC
from datetime import datetime
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DOCS_PATH = REPO_ROOT / "docs" / "benchmarks.md"


def machine_description(versions: dict[str, str] | None = None) -> str:
    """Return cores, CPU model (from /proc/cpuinfo), Python and database versions, date, load."""
    model = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    parts = [
        f"{os.cpu_count()} cores, {model}",
        f"Python {platform.python_version()}",
        *(f"{name} {version}" for name, version in (versions or {}).items()),
        datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    ]
    if hasattr(os, "getloadavg"):
        parts.append(f"1-minute load average {os.getloadavg()[0]:.1f} at the end of the run")
    return "; ".join(parts)


def section_footer(*, command: str, machine: str) -> list[str]:
    """Return the lines every benchmark section ends with: how to rerun it, and where it ran."""
    return [f"Command: `{command}`", "", textwrap.fill(f"Machine: {machine}.", width=100), ""]


def replace_section(path: Path, heading: str, section: str) -> None:
    """Replace (or append) the section starting at *heading*, leaving other sections alone."""
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.strip() == heading), None)
    if start is None:
        updated = text.rstrip("\n") + "\n\n" + section.rstrip("\n") + "\n"
    else:
        end = next(
            (i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines)
        )
        before = "\n".join(lines[:start]).rstrip("\n")
        after = "\n".join(lines[end:])
        updated = before + "\n\n" + section.rstrip("\n") + "\n"
        if after:
            updated += "\n" + after.rstrip("\n") + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(updated)


def normalise_postgres_url(url: str) -> str:
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url[len("postgresql://") :]
    return url
