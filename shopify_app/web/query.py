"""Read the /api routes' query parameters (dates, periods, limits) with one error type.

Every route that takes `from`/`to`, a limit or an option reads it here, so a bad parameter gets
the same 400 and the same wording wherever it is sent. The read models take typed values only.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date
from datetime import timedelta

from flask import request

from shopify_app.analytics.kpis.periods import EARLIEST_DAY
from shopify_app.analytics.kpis.periods import LATEST_DAY
from shopify_app.analytics.kpis.periods import MAX_PERIOD_YEARS
from shopify_app.analytics.kpis.periods import Period
from shopify_app.errors import AppError


class InvalidQuery(AppError):
    """Raise when a request's query parameters are malformed; the message says which and why."""

    status_code = 400


def parse_day(name: str, raw: str) -> date:
    """Return the YYYY-MM-DD day *raw*, refusing dates too far out to shift between time zones."""
    try:
        if len(raw) != 10:
            raise ValueError(raw)
        day = date.fromisoformat(raw)
    except ValueError:
        raise InvalidQuery(f"{name} must be a date as YYYY-MM-DD, got {raw[:20]!r}") from None
    # Far dates overflow when shifted between time zones or extended by years: refuse them.
    if not EARLIEST_DAY <= day <= LATEST_DAY:
        raise InvalidQuery(f"{name} must lie between {EARLIEST_DAY} and {LATEST_DAY}")
    return day


def parse_period(
    raw_start: str | None, raw_end: str | None, *, max_years: int = MAX_PERIOD_YEARS
) -> Period:
    """Return the period named by two YYYY-MM-DD strings, or raise InvalidQuery saying why."""
    if not raw_start or not raw_end:
        raise InvalidQuery("Both from and to are required, as YYYY-MM-DD")
    start = parse_day("from", raw_start)
    end = parse_day("to", raw_end)
    if start > end:
        raise InvalidQuery("from must be on or before to")
    if end >= _years_later(start, max_years):
        raise InvalidQuery(f"The range may cover at most {max_years} years")
    return Period(start=start, end=end)


def period_arg(*, today: date | None = None, default_days: int | None = None) -> Period:
    """Return the request's `from`/`to` period; with *default_days*, the days up to *today*.

    Without *default_days* both parameters are required. A missing `from` or `to` falls back
    to the last *default_days* days ending *today*, which the route knows in the shop's zone.
    """
    raw_start, raw_end = request.args.get("from"), request.args.get("to")
    if default_days is not None and today is not None:
        raw_start = raw_start or (today - timedelta(days=default_days - 1)).isoformat()
        raw_end = raw_end or today.isoformat()
    return parse_period(raw_start, raw_end)


def whole_number_arg(name: str, *, default: int, minimum: int, maximum: int) -> int:
    """Return the whole-number parameter *name* within [minimum, maximum], or *default*."""
    raw = request.args.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not minimum <= int(raw) <= maximum:
        raise InvalidQuery(f"{name} must be a whole number from {minimum} to {maximum}")
    return int(raw)


def number_arg(name: str, *, default: float, minimum: float, maximum: float) -> float:
    """Return the number parameter *name* within [minimum, maximum], or *default*."""
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise InvalidQuery(f"{name} must be a number from {minimum:g} to {maximum:g}") from None
    if not minimum <= value <= maximum:
        raise InvalidQuery(f"{name} must be a number from {minimum:g} to {maximum:g}")
    return value


def choice_arg(name: str, choices: Collection[str], *, default: str) -> str:
    """Return the parameter *name* if it is one of *choices*, or *default* when absent."""
    value = request.args.get(name, default)
    if value not in choices:
        raise InvalidQuery(f"{name} must be one of {', '.join(sorted(choices))}")
    return value


def _years_later(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a year that has none
        return day.replace(year=day.year + years, day=28) + timedelta(days=1)
