"""Serve KPI summaries from snapshots kept per period (docs/kpis.md, "Freshness").

Computing a summary reads every customer-day of a period and of the one before it: at a million
orders a year-long period takes seconds. A snapshot keeps the computed summary with the aggregate
version and the local day it was computed for. A request reuses it while nothing has changed;
the `kpis.refresh` job recomputes the day's snapshots (the dashboard's presets ahead of any
request) within a minute of a change, and until it has, a request is answered from the previous
snapshot, labelled with the time it was computed, rather than made to wait.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date
from datetime import datetime
from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import delete
from sqlalchemy import select
from sqlalchemy.orm import Session

from shopify_app.analytics import kpis
from shopify_app.analytics.kpis.periods import load_shop
from shopify_app.analytics.rollups.tables import current_version
from shopify_app.models import KpiSnapshot
from shopify_app.models.upsert import conflict_insert

# The periods the dashboard offers (last N days up to the shop's today): kept fresh by the job.
PRESET_PERIOD_DAYS = (30, 90, 365)


@dataclass(frozen=True)
class SummaryReading:
    summary: kpis.KpiSummary
    computed_at: datetime
    # False when orders or refunds changed the aggregates after the summary was computed.
    is_current: bool
    # True when this reading computed the summary (and stored it) rather than reusing one.
    was_computed: bool = False


def preset_periods(today: date) -> list[kpis.Period]:
    return [
        kpis.Period(start=today - timedelta(days=days - 1), end=today)
        for days in PRESET_PERIOD_DAYS
    ]


def read_summary(
    session: Session,
    *,
    shop_id: int,
    period: kpis.Period,
    now: datetime,
    active_days: int,
    max_stale: timedelta,
) -> SummaryReading:
    """Return the period's summary from its snapshot when usable, else compute and keep it.

    A snapshot is usable when it was computed for the shop's current local day and either no
    aggregate changed since, or it is at most *max_stale* old (the job is recomputing it). The
    caller commits, so a computed snapshot is kept.
    """
    today = _local_today(session, shop_id, now)
    version = current_version(session, shop_id=shop_id)
    snapshot = session.get(KpiSnapshot, (shop_id, period.start, period.end, active_days))
    if snapshot is not None and snapshot.local_day == today:
        is_current = snapshot.rollup_version == version
        may_lag = max_stale > timedelta(0) and now - snapshot.computed_at <= max_stale
        if is_current or may_lag:
            return SummaryReading(
                summary=decode_summary(snapshot.summary),
                computed_at=snapshot.computed_at,
                is_current=is_current,
            )
    return _compute(
        session,
        shop_id=shop_id,
        period=period,
        now=now,
        active_days=active_days,
        today=today,
        version=version,
    )


def refresh_snapshot(
    session: Session, *, shop_id: int, period: kpis.Period, now: datetime, active_days: int
) -> bool:
    """Recompute the period's snapshot unless it is current; return whether it was recomputed."""
    reading = read_summary(
        session,
        shop_id=shop_id,
        period=period,
        now=now,
        active_days=active_days,
        max_stale=timedelta(0),
    )
    return reading.was_computed


def refresh_snapshots(
    sessions: Callable[[], AbstractContextManager[Session]],
    *,
    shop_id: int,
    now: datetime,
    active_days: int,
) -> int:
    """Bring the shop's snapshots of today up to date, one transaction each; return how many.

    That is the presets, computed ahead of the first request, and every other period some
    request asked for today. *sessions* returns a session context manager
    (Database.session_scope), so a long computation never holds one transaction across all of
    them. Snapshots of earlier local days can no longer be served and are deleted.
    """
    with sessions() as session:
        today = _local_today(session, shop_id, now)
        session.execute(
            delete(KpiSnapshot).where(KpiSnapshot.shop_id == shop_id, KpiSnapshot.local_day < today)
        )
        requested = [
            kpis.Period(start=start, end=end)
            for start, end in session.execute(
                select(KpiSnapshot.period_start, KpiSnapshot.period_end).where(
                    KpiSnapshot.shop_id == shop_id, KpiSnapshot.active_days == active_days
                )
            )
        ]
    presets = preset_periods(today)
    refreshed = 0
    for period in [*presets, *sorted(set(requested) - set(presets), key=lambda p: p.start)]:
        with sessions() as session:
            refreshed += refresh_snapshot(
                session, shop_id=shop_id, period=period, now=now, active_days=active_days
            )
    return refreshed


def _local_today(session: Session, shop_id: int, now: datetime) -> date:
    return kpis.local_today(load_shop(session, shop_id), now)


def _compute(
    session: Session,
    *,
    shop_id: int,
    period: kpis.Period,
    now: datetime,
    active_days: int,
    today: date,
    version: int,
) -> SummaryReading:
    # The version was read before the aggregates: a change landing meanwhile leaves the snapshot
    # looking older than it is (recomputed once more), never newer.
    started = time.perf_counter()
    summary = kpis.load_summary(
        session,
        shop_id=shop_id,
        period_start=period.start,
        period_end=period.end,
        now=now,
        active_days=active_days,
    )
    values = {
        "shop_id": shop_id,
        "period_start": period.start,
        "period_end": period.end,
        "active_days": active_days,
        "rollup_version": version,
        "local_day": today,
        "computed_at": now,
        "compute_ms": round((time.perf_counter() - started) * 1000),
        "summary": encode_summary(summary),
    }
    _upsert(session, values)
    return SummaryReading(summary=summary, computed_at=now, is_current=True, was_computed=True)


def _upsert(session: Session, values: dict[str, Any]) -> None:
    """Insert or replace the snapshot, unless one computed at a later version got there first."""
    insert = conflict_insert(session, KpiSnapshot).values(**values)
    key = ("shop_id", "period_start", "period_end", "active_days")
    table = KpiSnapshot.__table__.c
    session.execute(
        insert.on_conflict_do_update(
            index_elements=list(key),
            set_={name: insert.excluded[name] for name in values if name not in key},
            where=(insert.excluded.rollup_version >= table.rollup_version)
            | (insert.excluded.local_day > table.local_day),
        ),
        execution_options={"synchronize_session": False},
    )
    # The identity map may hold the row as read before: let the next read see the new one.
    stale = session.get(KpiSnapshot, tuple(values[name] for name in key))
    if stale is not None:
        session.expire(stale)


_VALUE_FIELDS = dataclasses.fields(kpis.KpiValues)
_MONEY_FIELDS = frozenset(f.name for f in _VALUE_FIELDS if "Decimal" in str(f.type))


def encode_summary(summary: kpis.KpiSummary) -> dict[str, Any]:
    """Return the summary as JSON-ready data: money as decimal strings, dates as ISO strings."""
    return {
        "currency": summary.currency,
        "iana_timezone": summary.iana_timezone,
        "active_days": summary.active_days,
        "current": _encode_values(summary.current),
        "previous": _encode_values(summary.previous),
    }


def decode_summary(data: dict[str, Any]) -> kpis.KpiSummary:
    return kpis.KpiSummary(
        currency=data["currency"],
        iana_timezone=data["iana_timezone"],
        active_days=int(data["active_days"]),
        current=_decode_values(data["current"]),
        previous=_decode_values(data["previous"]),
    )


def _encode_values(values: kpis.KpiValues) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for field in _VALUE_FIELDS:
        value = getattr(values, field.name)
        if isinstance(value, kpis.Period):
            value = {"start": value.start.isoformat(), "end": value.end.isoformat()}
        elif isinstance(value, Decimal):
            value = str(value)
        data[field.name] = value
    return data


def _decode_values(data: dict[str, Any]) -> kpis.KpiValues:
    decoded: dict[str, Any] = {}
    for field in _VALUE_FIELDS:
        value = data[field.name]
        if field.name == "period":
            value = kpis.Period(
                start=date.fromisoformat(value["start"]), end=date.fromisoformat(value["end"])
            )
        elif field.name in _MONEY_FIELDS and value is not None:
            value = Decimal(value)
        decoded[field.name] = value
    return kpis.KpiValues(**decoded)
