"""The parameters every flow takes, with their defaults and bounds: one schema per flow, by name.

They are declared apart from the flows so that `flow_settings` can validate and fill in any flow's
settings without importing the flows, which read their own settings through it. The pseudo-flow
"messaging" holds the rules all flows share.
"""

from __future__ import annotations

import re
from typing import Any

from marshmallow import Schema
from marshmallow import ValidationError
from marshmallow import fields
from marshmallow import validate
from marshmallow import validates
from marshmallow import validates_schema

MESSAGING = "messaging"
ABANDONED_CHECKOUT = "abandoned_checkout"
REPLENISHMENT = "replenishment"
REVIEW_REQUEST = "review_request"
WIN_BACK = "win_back"
_CLOCK = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


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


class AbandonedCheckoutParamsSchema(HoldoutParamsSchema, StepDelaysMixin):
    step_delays_hours = fields.List(
        fields.Float(),
        load_default=lambda: [1.0, 24.0, 72.0],
        validate=validate.Length(max=5, error="at most 5 steps"),
    )
    audience = fields.String(
        load_default="subscribers",
        validate=validate.OneOf(
            ["subscribers", "everyone"],
            error="choose 'subscribers' (email marketing consent) or 'everyone' who gave an email",
        ),
    )


class ReplenishmentParamsSchema(HoldoutParamsSchema):
    reminder_days_before = fields.Integer(
        load_default=5, validate=validate.Range(0, 60, error="must be between 0 and 60 days")
    )
    min_repeat_pairs = fields.Integer(
        load_default=5, validate=validate.Range(2, 1000, error="must be at least 2 repeat pairs")
    )
    use_learned_intervals = fields.Boolean(load_default=True)
    # Merchant-set days one unit lasts, keyed "<product_id>" or "<product_id>:<variant_id>".
    intervals = fields.Dict(keys=fields.String(), values=fields.Float(), load_default=dict)

    @validates("intervals")
    def check_intervals(self, value: dict[str, float], **_: Any) -> None:
        for key, days in value.items():
            parts = key.split(":")
            if len(parts) > 2 or not all(p.isdigit() for p in parts):
                raise ValidationError(f"{key!r} is not '<product id>[:<variant id>]'")
            if not 1 <= days <= 730:
                raise ValidationError(f"{key!r}: days must be between 1 and 730")


class ReviewRequestParamsSchema(HoldoutParamsSchema):
    days_after_delivery = fields.Integer(
        load_default=7, validate=validate.Range(0, 60, error="must be between 0 and 60 days")
    )
    days_after_fulfillment = fields.Integer(
        load_default=14, validate=validate.Range(1, 90, error="must be between 1 and 90 days")
    )

    @validates_schema
    def check_fallback_after_delivery(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("days_after_fulfillment", 14) < data.get("days_after_delivery", 7):
            raise ValidationError(
                "must be at least days_after_delivery: the fallback is for parcels with no "
                "delivery event, so it should not come before a delivered parcel's request",
                "days_after_fulfillment",
            )


class WinBackParamsSchema(HoldoutParamsSchema):
    margin_days = fields.Integer(
        load_default=14, validate=validate.Range(0, 180, error="must be between 0 and 180 days")
    )
    median_gap_factor = fields.Float(
        load_default=1.5,
        validate=validate.Range(1.0, 10.0, error="must be between 1.0 and 10.0 times the gap"),
    )
    resend_after_days = fields.Integer(
        load_default=90,
        validate=validate.Range(30, 730, error="must be between 30 and 730 days"),
    )


PARAMS_SCHEMAS: dict[str, type[Schema]] = {
    MESSAGING: MessagingParamsSchema,
    ABANDONED_CHECKOUT: AbandonedCheckoutParamsSchema,
    REPLENISHMENT: ReplenishmentParamsSchema,
    REVIEW_REQUEST: ReviewRequestParamsSchema,
    WIN_BACK: WinBackParamsSchema,
}
"""The parameter schema of every flow (and of the shared rules), by flow name."""

OFF_BY_DEFAULT: frozenset[str] = frozenset()
"""Flows a shop has to switch on itself; every other flow starts switched on."""
