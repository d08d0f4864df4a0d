"""The demo's simulated clock: it runs faster than real time once the history has been sent."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC
from datetime import datetime
from datetime import timedelta


class SimulatedClock:
    """A clock that stands at *start* until started, then runs *speed* times faster than real time.

    Thread-safe: the player waits on it while the scheduler reads `now()` from other threads.
    """

    def __init__(
        self,
        start: datetime,
        *,
        speed: float = 3600.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if start.tzinfo is None:
            raise ValueError("start must be an aware datetime")
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.start_at = start.astimezone(UTC)
        self.speed = speed
        self._monotonic = monotonic
        self._started_real: float | None = None
        self._lock = threading.Lock()

    @property
    def is_running(self) -> bool:
        return self._started_real is not None

    def start(self) -> None:
        """Start the clock from its start time; starting a running clock changes nothing."""
        with self._lock:
            if self._started_real is None:
                self._started_real = self._monotonic()

    def now(self) -> datetime:
        """Return the simulated time (aware UTC)."""
        started = self._started_real
        if started is None:
            return self.start_at
        elapsed = (self._monotonic() - started) * self.speed
        return self.start_at + timedelta(seconds=elapsed)

    def wait_until(self, moment: datetime, stop: threading.Event) -> bool:
        """Block until the simulated clock reaches *moment*; return False if *stop* was set."""
        self.start()
        while not stop.is_set():
            remaining = (moment - self.now()).total_seconds() / self.speed
            if remaining <= 0:
                return True
            stop.wait(min(remaining, 0.5))
        return False
