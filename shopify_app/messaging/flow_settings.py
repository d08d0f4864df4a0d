"""Per-shop flow switches and parameters: defaults, validation and storage.

Every flow declares a marshmallow schema for its parameters (see `FlowDefinition`); the pseudo-flow
"messaging" holds the rules all flows share. A stored value that no longer validates (e.g. after an
upgrade changed a bound) falls back to the defaults rather than stopping the flow's sender.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from datetime import time
from typing import Any

from marshmallow import Schema
from marshmallow import ValidationError
from marshmallow import fields
from marshmallow import validate
from marshmallow import validates_schema
from sqlalchemy import select
from sqlalchemy.orm import Session

from shopify_app.errors import AppError
from shopify_app.messaging.rules import QuietHours
from shopify_app.models import FlowSettings

MESSAGING = "messaging"
_CLOCK = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


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


class MessagingParamsSchema(Schema):
    """Rules shared by every flow of a shop."""

    quiet_hours_start = fields.String(
        load_default="21:00", validate=validate.Regexp(_CLOCK, error="use HH:MM, e.g. 21:00")
    )
    quiet_hours_end = fields.String(
        load_default="08:00", validate=validate.Regexp(_CLOCK, error="use HH:MM, e.g. 08:00")
    )
    frequency_cap_hours = fields.Integer(
        load_default=16,
        validate=validate.Range(0, 24 * 7, error="must be between 0 and 168 hours"),
    )
    attribution_window_days = fields.Integer(
        load_default=5, validate=validate.Range(1, 60, error="must be between 1 and 60 days")
    )


class HoldoutParamsSchema(Schema):
    """Parameters every flow has: the share of eligible customers kept as a control group."""

    holdout_share = fields.Float(
        load_default=0.1,
        validate=validate.Range(0.0, 0.5, error="must be between 0 (no control group) and 0.5"),
    )


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


def _schemas() -> dict[str, type[Schema]]:
    from shopify_app.messaging.flows import FLOWS

    schemas: dict[str, type[Schema]] = {MESSAGING: MessagingParamsSchema}
    schemas.update({name: flow.params_schema for name, flow in FLOWS.items()})
    return schemas


def _enabled_by_default(flow: str) -> bool:
    from shopify_app.messaging.flows import FLOWS

    definition = FLOWS.get(flow)
    return True if definition is None else definition.enabled_by_default


def validate_params(flow: str, params: dict[str, Any]) -> dict[str, Any]:
    """Return *params* with defaults filled in, or raise InvalidFlowSettings saying why not."""
    schema_class = _schemas().get(flow)
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
    return FlowConfig(flow=flow, enabled=_enabled_by_default(flow), params=params)


def load_flow_config(session: Session, *, shop_id: int, flow: str) -> FlowConfig:
    """Return the shop's settings for *flow*, defaults filled in for anything not stored."""
    row = session.scalar(
        select(FlowSettings).where(FlowSettings.shop_id == shop_id, FlowSettings.flow == flow)
    )
    if row is None:
        return default_config(flow)
    try:
        params = validate_params(flow, dict(row.params or {}))
    except InvalidFlowSettings:
        params = validate_params(flow, {})
    return FlowConfig(flow=flow, enabled=row.enabled, params=params)


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
    row = session.scalar(
        select(FlowSettings).where(FlowSettings.shop_id == shop_id, FlowSettings.flow == flow)
    )
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
    for flow in _schemas():
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


class StepDelaysMixin(Schema):
    """Check that a series' delays are positive and increasing."""

    @validates_schema
    def check_step_delays(self, data: dict[str, Any], **_: Any) -> None:
        delays = data.get("step_delays_hours")
        if delays is None:
            return
        if not delays:
            raise ValidationError("needs at least one step", "step_delays_hours")
        pairs = zip(delays, delays[1:], strict=False)
        if any(d <= 0 for d in delays) or any(b <= a for a, b in pairs):
            raise ValidationError(
                "delays must be positive and increasing, e.g. [1, 24, 72]", "step_delays_hours"
            )
