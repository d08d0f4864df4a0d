"""The simulation's clock: actions run in (time, sequence) order, each yielding its webhooks.

An action may schedule more actions; two scheduled for the same moment run in the order they were
scheduled, so a run never depends on anything but the order of its own calls.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from collections.abc import Iterator
from datetime import datetime
from datetime import timedelta

from shopify_app.demo.generator.events import DemoEvent

Action = Callable[[datetime], Iterator[DemoEvent]]
"""Something that happens at a moment: it yields the webhooks it causes."""


class Timeline:
    """A queue of scheduled actions, run earliest first."""

    def __init__(self) -> None:
        self._heap: list[tuple[datetime, int, Action]] = []
        self._sequence = itertools.count()

    def at(self, moment: datetime, action: Action) -> None:
        """Schedule *action* to run at *moment*."""
        heapq.heappush(self._heap, (moment, next(self._sequence), action))

    def later(self, moment: datetime, action: Action, **delay: float) -> None:
        """Schedule *action* a `timedelta(**delay)` after *moment*."""
        self.at(moment + timedelta(**delay), action)

    def run(self) -> Iterator[DemoEvent]:
        """Run the actions in order until none is left, yielding their webhooks."""
        while self._heap:
            moment, _, action = heapq.heappop(self._heap)
            yield from action(moment)
