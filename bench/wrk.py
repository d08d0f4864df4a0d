"""Drive an endpoint at its maximum rate with wrk and `bench/signed_webhooks.lua`.

wrk (Debian: `apt-get install -y wrk`) is a closed-loop client in C: a handful of connections,
each sending its next request as soon as the last is answered, which finds the highest rate a
server sustains without the client being the limit. The Lua script cycles through bodies signed
once each (the file `write_signed_file` writes) and gives every request a webhook id of its own.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.open_loop import SignedBody

SCRIPT = Path(__file__).with_name("signed_webhooks.lua")


def require_wrk() -> str:
    """Return wrk's path, or stop with how to install it."""
    path = shutil.which("wrk")
    if path is None:
        raise SystemExit(
            "this benchmark needs wrk to find the maximum rate; "
            "install it (Debian/Ubuntu: apt-get install -y wrk) and run again"
        )
    return path


def write_signed_file(path: Path, headers: dict[str, str], bodies: Sequence[SignedBody]) -> None:
    """Write the file `bench/signed_webhooks.lua` loads (its format is described there)."""
    with path.open("wb") as out:
        out.write(f"{len(headers)}\n".encode())
        out.write("".join(f"{k}: {v}\n" for k, v in headers.items()).encode())
        out.write(f"{len(bodies)}\n".encode())
        for signed in bodies:
            out.write(f"{signed.hmac}\n{len(signed.body)}\n".encode() + signed.body)


@dataclass(frozen=True)
class WrkRun:
    seconds: float
    requests: int
    failed: int
    p50_ms: float
    p99_ms: float
    max_ms: float


def run_wrk(
    url: str, signed_file: Path, *, prefix: str, seconds: float, connections: int
) -> WrkRun:
    """Drive *url* with wrk for *seconds*; failed counts non-2xx answers and socket errors."""
    command = [require_wrk(), "-t", str(min(2, connections)), "-c", str(connections)]
    command += ["-d", f"{max(1, round(seconds))}s", "--timeout", "30s", "-s", str(SCRIPT), url]
    finished = subprocess.run(
        [*command, "--", str(signed_file), prefix], capture_output=True, text=True, check=False
    )
    output = finished.stdout
    if finished.returncode:
        raise RuntimeError(f"wrk failed ({finished.returncode}): {finished.stderr}{output}")
    line = next((ln for ln in output.splitlines() if ln.startswith("BENCH_RESULT ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no result:\n{output}")
    requests, duration_us, status, *socket_errors, p50, p99, peak = map(int, line.split()[1:])
    return WrkRun(
        seconds=duration_us / 1e6,
        requests=requests,
        failed=status + sum(socket_errors),
        p50_ms=p50 / 1000,
        p99_ms=p99 / 1000,
        max_ms=peak / 1000,
    )
