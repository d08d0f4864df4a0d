"""Flow settings: defaults on install, bad values refused with a reason, shared rules applied."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC
from datetime import datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from shopify_app.db import Database
from shopify_app.messaging.flow_settings import InvalidFlowSettings
from shopify_app.messaging.flow_settings import ensure_default_settings
from shopify_app.messaging.flow_settings import load_flow_config
from shopify_app.messaging.flow_settings import load_messaging_rules
from shopify_app.messaging.flow_settings import save_flow_config
from shopify_app.models import FlowSettings
from shopify_app.models import Shop

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def test_defaults_are_stored_once_for_every_flow_and_the_shared_rules(
    make_shop: Callable[..., Shop], database: Database, session: Session
) -> None:
    shop = make_shop()
    with database.session_scope() as work:
        created = ensure_default_settings(work, shop_id=shop.id, now=NOW)
    with database.session_scope() as work:
        again = ensure_default_settings(work, shop_id=shop.id, now=NOW)

    rows = {row.flow: row for row in session.scalars(select(FlowSettings))}
    assert created == len(rows)
    assert again == 0
    assert {"messaging", "abandoned_checkout", "replenishment"} <= set(rows)
    assert rows["abandoned_checkout"].params["step_delays_hours"] == [1.0, 24.0, 72.0]
    assert rows["abandoned_checkout"].params["audience"] == "subscribers"
    assert rows["replenishment"].params["reminder_days_before"] == 5
    rules = load_messaging_rules(session, shop_id=shop.id)
    assert (rules.frequency_cap_hours, rules.attribution_window_days) == (16, 5)
    assert rules.quiet_hours is not None
    assert (str(rules.quiet_hours.start), str(rules.quiet_hours.end)) == ("21:00:00", "08:00:00")


@pytest.mark.parametrize(
    ("flow", "params", "field"),
    [
        ("abandoned_checkout", {"step_delays_hours": [24, 1]}, "step_delays_hours"),
        ("abandoned_checkout", {"audience": "all"}, "audience"),
        ("abandoned_checkout", {"holdout_share": 0.9}, "holdout_share"),
        ("messaging", {"quiet_hours_start": "25:00"}, "quiet_hours_start"),
        ("messaging", {"frequency_cap_hours": -1}, "frequency_cap_hours"),
        ("replenishment", {"intervals": {"abc": 10}}, "intervals"),
    ],
)
def test_a_bad_setting_is_refused_with_a_message_naming_it(
    make_shop: Callable[..., Shop],
    database: Database,
    flow: str,
    params: dict[str, object],
    field: str,
) -> None:
    shop = make_shop()
    with database.session_scope() as work, pytest.raises(InvalidFlowSettings) as refused:
        save_flow_config(work, shop_id=shop.id, flow=flow, enabled=True, params=params, now=NOW)

    assert field in refused.value.errors
    assert field in refused.value.message
    assert refused.value.status_code == 422
    with database.session_scope() as work:
        assert load_flow_config(work, shop_id=shop.id, flow=flow).params[field] != params[field]
