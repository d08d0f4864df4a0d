"""Per-shop flow switches and parameters: defaults, validation and storage.

Every flow's parameters are declared in `flow_params` (a schema per flow, and one for the rules all
flows share). A stored value that no longer validates (e.g. after an upgrade changed a bound) falls
back to the defaults rather than stopping the flow's sender.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from datetime import time
from typing import Any

from marshmallow import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from shopify_app.errors import AppError
from shopify_app.messaging.flow_params import MESSAGING
from shopify_app.messaging.flow_params import OFF_BY_DEFAULT
from shopify_app.messaging.flow_params import PARAMS_SCHEMAS
from shopify_app.messaging.rules import QuietHours
from shopify_app.models import FlowSettings


class InvalidFlowSettings(AppError):
    """Raise when a merchant's flow settings do not validate; `errors` says why, per field."""

    status_code = 422

    def __init__(self, errors: dict[str, Any]) -> None:
        super().__init__(_describe(errors))
        self.errors = errors


def _describe(errors: dict[str, Any]) -> str:
    parts = []
    for name, problem in sorted(errors.items()):
        text = "; ".join(str(p) for p in problem) if isinstance(problem, list) else str(problem)
        parts.append(f"{name}: {text}")
    return "Invalid settings: " + ", ".join(parts)


@dataclass(frozen=True)
class FlowConfig:
    flow: str
    enabled: bool
    params: dict[str, Any]


@dataclass(frozen=True)
class MessagingRules:
    quiet_hours: QuietHours | None
    frequency_cap_hours: int
    attribution_window_days: int


def validate_params(flow: str, params: dict[str, Any]) -> dict[str, Any]:
    """Return *params* with defaults filled in, or raise InvalidFlowSettings saying why not."""
    schema_class = PARAMS_SCHEMAS.get(flow)
    if schema_class is None:
        raise InvalidFlowSettings({"flow": [f"unknown flow {flow!r}"]})
    try:
        loaded: dict[str, Any] = schema_class().load(params)
    except ValidationError as exc:
        messages = exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}
        raise InvalidFlowSettings(messages) from exc
    return loaded


def default_config(flow: str) -> FlowConfig:
    params = validate_params(flow, {})
    return FlowConfig(flow=flow, enabled=flow not in OFF_BY_DEFAULT, params=params)


def load_flow_config(session: Session, *, shop_id: int, flow: str) -> FlowConfig:
    """Return the shop's settings for *flow*, defaults filled in for anything not stored."""
    row = _row(session, shop_id=shop_id, flow=flow)
    if row is None:
        return default_config(flow)
    try:
        params = validate_params(flow, dict(row.params or {}))
    except InvalidFlowSettings:
        params = validate_params(flow, {})
    return FlowConfig(flow=flow, enabled=row.enabled, params=params)


def _row(session: Session, *, shop_id: int, flow: str) -> FlowSettings | None:
    return session.scalar(
        select(FlowSettings).where(FlowSettings.shop_id == shop_id, FlowSettings.flow == flow)
    )


def save_flow_config(
    session: Session,
    *,
    shop_id: int,
    flow: str,
    enabled: bool,
    params: dict[str, Any],
    now: datetime,
) -> FlowConfig:
    """Validate and store the shop's settings for *flow*; a bad value is refused, not clamped."""
    loaded = validate_params(flow, params)
    row = _row(session, shop_id=shop_id, flow=flow)
    if row is None:
        row = FlowSettings(shop_id=shop_id, flow=flow)
        session.add(row)
    row.enabled = enabled
    row.params = loaded
    row.updated_at = now
    session.flush()
    return FlowConfig(flow=flow, enabled=enabled, params=loaded)


def ensure_default_settings(session: Session, *, shop_id: int, now: datetime) -> int:
    """Store the default settings of every flow the shop has no row for; return how many."""
    existing = set(
        session.scalars(select(FlowSettings.flow).where(FlowSettings.shop_id == shop_id))
    )
    created = 0
    for flow in PARAMS_SCHEMAS:
        if flow in existing:
            continue
        config = default_config(flow)
        session.add(
            FlowSettings(
                shop_id=shop_id,
                flow=flow,
                enabled=config.enabled,
                params=config.params,
                updated_at=now,
            )
        )
        created += 1
    session.flush()
    return created


def load_messaging_rules(session: Session, *, shop_id: int) -> MessagingRules:
    params = load_flow_config(session, shop_id=shop_id, flow=MESSAGING).params
    start = _parse_clock(params["quiet_hours_start"])
    end = _parse_clock(params["quiet_hours_end"])
    return MessagingRules(
        quiet_hours=None if start == end else QuietHours(start=start, end=end),
        frequency_cap_hours=int(params["frequency_cap_hours"]),
        attribution_window_days=int(params["attribution_window_days"]),
    )


def _parse_clock(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))
