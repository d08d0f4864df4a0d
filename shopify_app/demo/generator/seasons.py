"""When people buy: demand by hour, weekday and season, growing over the history, and arrivals.

Demand is relative: evenings and the start of the week sell most, nights almost nothing; winter
sells more than summer, Black Friday's weekend three times a normal day. Customers arrive in
proportion to it, and every later visit is placed at an hour drawn from the same daily curve.
"""

from __future__ import annotations

import functools
import math
import random
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from zoneinfo import ZoneInfo

# Relative demand by hour of the shop's day and by weekday (Monday first): evenings and the start
# of the week sell most, nights almost nothing.
_HOUR_WEIGHT = (
    0.25,
    0.15,
    0.1,
    0.08,
    0.08,
    0.12,
    0.3,
    0.55,
    0.8,
    0.95,
    1.0,
    1.05,
    1.1,
    1.05,
    1.0,
    1.0,
    1.05,
    1.15,
    1.3,
    1.5,
    1.6,
    1.45,
    1.05,
    0.55,
)
_WEEKDAY_WEIGHT = (1.15, 1.08, 1.0, 0.98, 0.9, 0.85, 1.05)
_MAX_DEMAND = max(_HOUR_WEIGHT) * max(_WEEKDAY_WEIGHT) * 1.2 * 3.0 * 1.3


@functools.cache
def _black_friday(year: int) -> date:
    """Return the day after the fourth Thursday of November."""
    november_first = date(year, 11, 1)
    first_thursday = 1 + (3 - november_first.weekday()) % 7
    return date(year, 11, first_thursday + 21 + 1)


@functools.lru_cache(maxsize=4096)
def season_factor(day: date) -> float:
    """Return the relative demand of *day*: a winter high, a summer low and a holiday peak."""
    factor = 1.0 + 0.2 * math.cos(2 * math.pi * (day.timetuple().tm_yday - 355) / 365.25)
    friday = _black_friday(day.year)
    if friday <= day <= friday + timedelta(days=3):
        return factor * 3.0
    if date(day.year, 12, 1) <= day <= date(day.year, 12, 20):
        return factor * 1.5
    if date(day.year, 12, 24) <= day <= date(day.year, 12, 26):
        return factor * 0.6
    return factor


class DemandCurve:
    """The shop's demand from *start* to *now* and after, in the shop's time zone *tz*.

    Demand grows from 0.7 to 1.3 times the seasonal level over the history, then stays there.
    """

    def __init__(self, *, start: datetime, now: datetime, tz: ZoneInfo, rng: random.Random) -> None:
        self.start = start
        self.now = now
        self.tz = tz
        self._rng = rng

    def demand(self, at: datetime) -> float:
        """Return the relative demand at the moment *at*."""
        local = at.astimezone(self.tz)
        progress = (at - self.start) / (self.now - self.start)
        growth = 0.7 + 0.6 * min(max(progress, 0.0), 1.0)
        return (
            _HOUR_WEIGHT[local.hour]
            * _WEEKDAY_WEIGHT[local.weekday()]
            * season_factor(local.date())
            * growth
        )

    def expected_demand(self) -> float:
        """Return the integral of demand over the history window, in demand-seconds."""
        # Day by day (a DST hour either way does not matter for a rate).
        days = max(1, round((self.now - self.start).total_seconds() / 86400))
        total = 0.0
        for offset in range(days):
            noon = self.start + timedelta(days=offset, hours=12)
            local_day = noon.astimezone(self.tz).date()
            progress = (noon - self.start) / (self.now - self.start)
            total += (
                _WEEKDAY_WEIGHT[local_day.weekday()]
                * season_factor(local_day)
                * (0.7 + 0.6 * min(progress, 1.0))
            )
        return total * sum(_HOUR_WEIGHT) * 3600

    def is_holiday_sale(self, at: datetime) -> bool:
        """Return whether *at* falls on Black Friday's weekend, shop time."""
        day = at.astimezone(self.tz).date()
        friday = _black_friday(day.year)
        return friday <= day <= friday + timedelta(days=3)

    def moment_on(self, day: date, *, not_before: datetime) -> datetime:
        """Return a moment on *day* (shop time) drawn from the daily demand curve."""
        hour = self._rng.choices(range(24), weights=_HOUR_WEIGHT)[0]
        local = datetime.combine(day, time(hour), tzinfo=self.tz) + timedelta(
            seconds=self._rng.randrange(3600)
        )
        at = local.astimezone(UTC)
        return at if at > not_before else not_before + timedelta(minutes=self._rng.uniform(5, 90))

    def in_days(self, at: datetime, days: float) -> datetime:
        """Return a moment about *days* after *at*, at an hour people shop."""
        target = at + timedelta(days=days)
        return self.moment_on(target.astimezone(self.tz).date(), not_before=at)


class Arrivals:
    """When new customers arrive: exactly *count* during the history, then at the same rate.

    The history's arrivals are drawn up front from their own *history_rng*; later ones from
    *live_rng*, one at a time as the stream reaches them.
    """

    def __init__(
        self,
        curve: DemandCurve,
        *,
        count: int,
        history_rng: random.Random,
        live_rng: random.Random,
    ) -> None:
        self._curve = curve
        self._live_rng = live_rng
        self._history = self._sample(history_rng, count)
        self._rate = count / curve.expected_demand()

    @property
    def first(self) -> datetime:
        return self._history[0]

    def arrival(self, index: int, *, after: datetime) -> datetime:
        """Return when customer number *index* arrives, the one before having come at *after*."""
        if index < len(self._history):
            return self._history[index]
        return self._next_live(max(after, self._curve.now))

    def _sample(self, rng: random.Random, count: int) -> list[datetime]:
        curve = self._curve
        span = (curve.now - curve.start).total_seconds()
        arrivals: list[datetime] = []
        while len(arrivals) < count:
            at = curve.start + timedelta(seconds=rng.uniform(span * 0.001, span))
            if rng.random() * _MAX_DEMAND < curve.demand(at):
                arrivals.append(at.replace(microsecond=0))
        arrivals.sort()
        return arrivals

    def _next_live(self, after: datetime) -> datetime:
        rng = self._live_rng
        at = after
        while True:
            at += timedelta(seconds=rng.expovariate(self._rate * _MAX_DEMAND))
            if rng.random() * _MAX_DEMAND < self._curve.demand(at):
                return at.replace(microsecond=0)
