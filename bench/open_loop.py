"""An open-loop, constant-rate HTTP/1.1 load generator: latency measured from the scheduled send.

A closed-loop client (wrk, `bench.webhook_ack.fire`) sends the next request only when the last one
is answered, so while the server stalls it stops sending, and the stall shows up as one slow
request instead of the hundreds that would have waited behind it (coordinated omission). Shopify
does not wait: webhooks arrive at their own rate. Here request *i* is due at ``start + i / rate``
whatever happened before, and its latency runs from that due time to the end of its response; a
request that waits for a free connection is late by that wait, and the wait is counted.

Raw HTTP/1.1 over keep-alive connections with asyncio, in a process of its own (`run` is what the
benchmark submits to a spawned process), so the client's own work stays out of the servers' way
and out of the measuring process.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

RESPONSE_TIMEOUT = 30.0
Stream = tuple[asyncio.StreamReader, asyncio.StreamWriter]


@dataclass(frozen=True)
class SignedBody:
    """A webhook body and its HMAC: signed once, sent under many webhook ids."""

    body: bytes
    hmac: str


@dataclass(frozen=True)
class LoadPlan:
    host: str
    port: int
    path: str
    headers: dict[str, str]
    """Headers every request carries (topic, shop, API version...), besides HMAC and ids."""
    bodies: tuple[SignedBody, ...]
    id_prefix: str
    rate: float
    seconds: float
    connections: int
    start_at: float
    """Wall-clock time (time.time()) of the first send, so the caller can sample around it."""


@dataclass(frozen=True)
class LoadResult:
    rate: float
    started_at: float
    ended_at: float
    latencies_ms: tuple[float, ...]
    failures: int

    @property
    def seconds(self) -> float:
        """From the first send to the last answer, or the schedule's length if that is longer."""
        sent = len(self.latencies_ms) + self.failures
        return max(self.ended_at - self.started_at, sent / self.rate)

    @property
    def acknowledged_per_second(self) -> float:
        return len(self.latencies_ms) / self.seconds if self.seconds else 0.0

    def percentile(self, share: float) -> float:
        """Nearest-rank percentile in milliseconds (share in 0..1), NaN when nothing succeeded."""
        ordered = sorted(self.latencies_ms)
        if not ordered:
            return float("nan")
        rank = min(len(ordered), max(1, int(share * len(ordered) + 0.9999)))
        return ordered[rank - 1]


def render_request(plan: LoadPlan, index: int) -> bytes:
    """Return request *index* of *plan* as raw HTTP/1.1 bytes: body index % n, its own id."""
    signed = plan.bodies[index % len(plan.bodies)]
    webhook_id = f"{plan.id_prefix}{index}"
    headers = {
        **plan.headers,
        "Host": plan.host,
        "Content-Length": str(len(signed.body)),
        "X-Shopify-Hmac-Sha256": signed.hmac,
        "X-Shopify-Webhook-Id": webhook_id,
        "X-Shopify-Event-Id": webhook_id,
    }
    head = f"POST {plan.path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return (head + "\r\n").encode() + signed.body


def run(plan: LoadPlan) -> LoadResult:
    """Send ``rate * seconds`` requests on schedule from *plan.start_at*; return their latencies."""
    return asyncio.run(_run(plan))


async def _run(plan: LoadPlan) -> LoadResult:
    loop = asyncio.get_running_loop()
    total = max(1, int(plan.rate * plan.seconds))
    due: asyncio.Queue[float | None] = asyncio.Queue()
    latencies: list[float] = []
    failures = [0]
    streams = [await asyncio.open_connection(plan.host, plan.port) for _ in range(plan.connections)]
    await asyncio.sleep(max(0.0, plan.start_at - time.time()))
    started_at, start = time.time(), loop.time()

    async def schedule() -> None:
        for index in range(total):
            await asyncio.sleep(max(0.0, start + index / plan.rate - loop.time()))
            due.put_nowait(start + index / plan.rate)
        for _ in streams:
            due.put_nowait(None)

    counter = iter(range(total))

    async def connection(stream: Stream) -> None:
        while (when := await due.get()) is not None:
            status, stream = await _exchange(plan, stream, render_request(plan, next(counter)))
            if status == 200:
                latencies.append((loop.time() - when) * 1000)
            else:
                failures[0] += 1
        stream[1].close()

    await asyncio.gather(schedule(), *(connection(stream) for stream in streams))
    return LoadResult(plan.rate, started_at, time.time(), tuple(latencies), failures[0])


async def _exchange(plan: LoadPlan, stream: Stream, request: bytes) -> tuple[int, Stream]:
    """Send *request* and return its status (0 on failure) and the connection to go on with.

    Gunicorn closes a keep-alive connection idle for its `keepalive` seconds, which at a low
    rate spread over many connections is most of them: a send that finds its connection closed
    is sent once more on a new one, as HTTP clients do, its latency still counted from its due
    time. (If the server had stored it, the resend is acknowledged as a repeat.)
    """
    for attempt in range(2):
        reader, writer = stream
        try:
            writer.write(request)
            return await asyncio.wait_for(_response_status(reader), RESPONSE_TIMEOUT), stream
        except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError):
            writer.close()
            stream = await asyncio.open_connection(plan.host, plan.port)
            if attempt:
                break
    return 0, stream


async def _response_status(reader: asyncio.StreamReader) -> int:
    """Read one response (status line, headers, Content-Length body); return its status."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
    await reader.readexactly(length)
    return int(lines[0].split()[1])
